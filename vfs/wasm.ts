/**
 * Loads wa-sqlite's Asyncify build in Node: the wasm is compiled once per
 * process and instantiated per module (each module is one independent SQLite
 * with its own heap). The Emscripten glue cannot fetch the wasm by itself in
 * Node, so it gets the instance through `instantiateWasm`.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as SQLite from '@journeyapps/wa-sqlite';
import AsyncModuleFactory from '@journeyapps/wa-sqlite/dist/wa-sqlite-async.mjs';
import { Serializer } from './serializer.ts';

/** The Emscripten module: heap views, cwrap/ccall and the raw `_sqlite3_*` exports. */
export type EmscriptenModule = any;

export interface SqliteModule {
  module: EmscriptenModule;
  sqlite3: SQLiteAPI;
  /** Every call that may suspend (open, prepare, step, reset, finalize, close) must go through this. */
  serializer: Serializer;
}

let compiled: Promise<WebAssembly.Module> | undefined;

/**
 * The compiled wasm, shared by every module in the process. The file is read and compiled off the main
 * thread, so a caller that starts this early (the driver's open(), before it opens the store) gets the
 * compile for free while it does other work.
 */
export function compiledWasm(): Promise<WebAssembly.Module> {
  compiled ??= (async () => {
    const require = createRequire(import.meta.url);
    const bytes = await readFile(require.resolve('@journeyapps/wa-sqlite/dist/wa-sqlite-async.wasm'));
    return WebAssembly.compile(bytes);
  })();
  return compiled;
}

let spare: Promise<SqliteModule> | undefined;
let anyModule = false;

/**
 * Starts building the process's first SQLite module ahead of its first use (the driver's open() calls
 * this), so that the glue's setup runs, and the instance is made, while the wasm compiles and the store
 * opens. Does nothing once a module was made: later ones are built when a connection asks.
 */
export function prepareFirstSqliteModule(): void {
  if (anyModule) return;
  anyModule = true;
  spare = buildModule();
  spare.catch(() => {}); // reported to the connection that takes it
}

/** A fresh SQLite module (about 0.4 MiB idle); register a VFS on it before opening databases. */
export function createSqliteModule(): Promise<SqliteModule> {
  anyModule = true;
  const ready = spare ?? buildModule();
  spare = undefined;
  return ready;
}

async function buildModule(): Promise<SqliteModule> {
  const wasm = compiledWasm();
  let fail!: (error: unknown) => void;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  const module = await Promise.race([
    AsyncModuleFactory({
      // Called at once; the instance is made when the wasm is compiled. Synchronously: from the second
      // module on, WebAssembly.instantiate() resolved 30-200 ms late here while the instance took 1-3 ms.
      instantiateWasm(
        imports: WebAssembly.Imports,
        done: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void,
      ) {
        wasm.then((compiled) => done(new WebAssembly.Instance(compiled, imports), compiled)).catch(fail);
        return {};
      },
      // The glue prints aborts itself; our errors are reported by the callers.
      printErr: () => {},
    }),
    // A failed compile never calls `done`: without this the glue's promise would never settle.
    failed,
  ]);
  return { module, sqlite3: SQLite.Factory(module), serializer: new Serializer() };
}

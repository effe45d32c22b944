/**
 * Loads wa-sqlite's Asyncify build in Node: the wasm is compiled once per
 * process and instantiated per module (each module is one independent SQLite
 * with its own heap). The Emscripten glue cannot fetch the wasm by itself in
 * Node, so it gets the compiled module through `instantiateWasm`.
 */
import { readFileSync } from 'node:fs';
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

/** The compiled wasm, shared by every module in the process. */
export function compiledWasm(): Promise<WebAssembly.Module> {
  compiled ??= (async () => {
    const require = createRequire(import.meta.url);
    const bytes = readFileSync(require.resolve('@journeyapps/wa-sqlite/dist/wa-sqlite-async.wasm'));
    return WebAssembly.compile(bytes);
  })();
  return compiled;
}

/** A fresh SQLite module (about 0.4 MiB idle); register a VFS on it before opening databases. */
export async function createSqliteModule(): Promise<SqliteModule> {
  const wasm = await compiledWasm();
  const module = await AsyncModuleFactory({
    instantiateWasm(
      imports: WebAssembly.Imports,
      done: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void,
    ) {
      WebAssembly.instantiate(wasm, imports).then((instance) => done(instance, wasm));
      return {};
    },
    // The glue prints aborts itself; our errors are reported by the callers.
    printErr: () => {},
  });
  return { module, sqlite3: SQLite.Factory(module), serializer: new Serializer() };
}

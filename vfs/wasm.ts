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
import { CODE_CACHE_ENV, loadCachedModule } from './wasm-code-cache.ts';

/** The Emscripten module: heap views, cwrap/ccall and the raw `_sqlite3_*` exports. */
export type EmscriptenModule = any;

export interface SqliteModule {
  module: EmscriptenModule;
  /** wa-sqlite's JavaScript API on this module, built on first use (1-2 ms the first time in a process). */
  readonly sqlite3: SQLiteAPI;
  /** Every call that may suspend (open, prepare, step, reset, finalize, close) must go through this. */
  serializer: Serializer;
  /** Registers `vfs` under its name (a VFS of that name registered before is replaced). */
  registerVfs(vfs: object): void;
}

let bytes: Promise<Uint8Array> | undefined;
let compiled: Promise<WebAssembly.Module> | undefined;

/** The wasm file every module is compiled from, read once per process. */
export function wasmBytes(): Promise<Uint8Array> {
  bytes ??= readFile(createRequire(import.meta.url).resolve('@journeyapps/wa-sqlite/dist/wa-sqlite-async.wasm'));
  return bytes;
}

/**
 * The compiled wasm, shared by every module in the process. The file is read and compiled off the main
 * thread, so a caller that starts this early (the driver's open(), before it opens the store) gets the
 * compile for free while it does other work. With MVDB_WASM_CODE_CACHE set, the code comes from that
 * cache when it can (wasm-code-cache.ts).
 */
export function compiledWasm(): Promise<WebAssembly.Module> {
  compiled ??= (async () => {
    const wasm = await wasmBytes();
    const cacheDir = process.env[CODE_CACHE_ENV];
    const cached = cacheDir ? loadCachedModule(cacheDir, wasm) : undefined;
    return cached ?? WebAssembly.compile(wasm);
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

/** Modules given back by closed connections, newest last. */
const idle: SqliteModule[] = [];
/** Enough for a pool that closes one connection per open past its cap; each idle module holds its heap. */
const MAX_IDLE_MODULES = 4;
/** Wasm memory never shrinks: a module whose heap grew past this is dropped rather than kept. */
const MAX_IDLE_HEAP_BYTES = 32 * 1024 * 1024;

/** How modules were obtained in this process (tests, benchmarks). */
export const sqliteModuleStats = { built: 0, reused: 0 };

/**
 * A SQLite module with no database open (a fresh one is about 0.4 MiB idle and a 16 MiB wasm memory);
 * register a VFS on it before opening databases.
 */
export function createSqliteModule(): Promise<SqliteModule> {
  anyModule = true;
  const reused = spare === undefined ? idle.pop() : undefined;
  if (reused !== undefined) {
    sqliteModuleStats.reused++;
    return Promise.resolve(reused);
  }
  const ready = spare ?? buildModule();
  spare = undefined;
  return ready;
}

/**
 * Takes back the module of a connection whose databases all closed cleanly (no statement left), for the
 * next connection: a new instance costs ~5 ms here, mostly the garbage collection that each new 16 MiB
 * wasm memory sets off. The VFS registered as `vfsName` is unregistered (the next connection registers
 * its own under that name). Kept only while few are idle and the heap is small.
 */
export function releaseSqliteModule(m: SqliteModule, vfsName: string): void {
  if (idle.length >= MAX_IDLE_MODULES || m.module.HEAPU8.length > MAX_IDLE_HEAP_BYTES) return;
  const vfs: number = m.module.ccall('sqlite3_vfs_find', 'number', ['string'], [vfsName]);
  if (vfs !== 0) m.module._sqlite3_vfs_unregister(vfs);
  // Settings SQLite keeps per process, not per connection (PRAGMA hard_heap_limit / soft_heap_limit):
  // back to a fresh module's (no limit), or one database's limit would bind the next. 64-bit arguments
  // are passed as two 32-bit halves; the hard limit first, since the soft one may not exceed it.
  m.module._sqlite3_hard_heap_limit64(0, 0);
  m.module._sqlite3_soft_heap_limit64(0, 0);
  idle.push(m);
}

async function buildModule(): Promise<SqliteModule> {
  sqliteModuleStats.built++;
  const wasm = compiledWasm();
  let fail!: (error: unknown) => void;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  const module = await Promise.race([
    AsyncModuleFactory({
      // Called at once; the instance is made when the wasm is compiled. Synchronously: from the second
      // module on, WebAssembly.instantiate() resolved 25-200 ms late here while the instance took 1-3 ms.
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
  let sqlite3: SQLiteAPI | undefined;
  return {
    module,
    get sqlite3() {
      return (sqlite3 ??= SQLite.Factory(module));
    },
    serializer: new Serializer(),
    registerVfs(vfs) {
      // What SQLite.Factory's vfs_register does, without building the whole API for it.
      const rc: number = module.vfs_register(vfs, false);
      if (rc !== SQLite.SQLITE_OK) throw new Error(`registering the ${String((vfs as { name?: unknown }).name)} VFS failed with SQLite code ${rc}`);
    },
  };
}

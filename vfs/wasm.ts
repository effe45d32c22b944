/**
 * Loads wa-sqlite in Node, in either of its two builds:
 * - 'sync': SQLite calls the VFS and takes its answer at once (half the wasm of the other, no Asyncify
 *   unwinding); for a VFS that answers every call before returning (embedded stores).
 * - 'asyncify': a VFS call may return a Promise, SQLite's stack is unwound and resumed (any store).
 * The wasm of a build is compiled once per process and instantiated per module (each module is one
 * independent SQLite with its own heap). The Emscripten glue cannot fetch the wasm by itself in Node, so
 * it gets the instance through `instantiateWasm`.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as SQLite from '@journeyapps/wa-sqlite';
import SyncModuleFactory from '@journeyapps/wa-sqlite/dist/wa-sqlite.mjs';
import AsyncModuleFactory from '@journeyapps/wa-sqlite/dist/wa-sqlite-async.mjs';
import { Serializer } from './serializer.ts';
import { CODE_CACHE_ENV, loadCachedModule } from './wasm-code-cache.ts';

/** Which wa-sqlite build a module runs: see the top of this file. */
export type SqliteBuild = 'sync' | 'asyncify';
export const SQLITE_BUILDS: readonly SqliteBuild[] = ['sync', 'asyncify'];

/** The Emscripten module: heap views, cwrap/ccall and the raw `_sqlite3_*` exports. */
export type EmscriptenModule = any;

export interface SqliteModule {
  readonly build: SqliteBuild;
  module: EmscriptenModule;
  /** wa-sqlite's JavaScript API on this module, built on first use (1-2 ms the first time in a process). */
  readonly sqlite3: SQLiteAPI;
  /** Every call that may suspend (open, prepare, step, reset, finalize, close) must go through this. */
  serializer: Serializer;
  /** Registers `vfs` under its name (a VFS of that name registered before is replaced). */
  registerVfs(vfs: object): void;
}

/** Per build: its wasm file and its Emscripten glue. */
const FILES: Record<SqliteBuild, { wasm: string; factory: (options: object) => Promise<EmscriptenModule> }> = {
  sync: { wasm: 'wa-sqlite.wasm', factory: SyncModuleFactory },
  asyncify: { wasm: 'wa-sqlite-async.wasm', factory: AsyncModuleFactory },
};

/** Per build: what the process loaded or made of it, each once. */
interface BuildState {
  bytes?: Promise<Uint8Array>;
  compiled?: Promise<WebAssembly.Module>;
  /** The module prepared ahead for the build's first connection (prepareFirstSqliteModule). */
  spare?: Promise<SqliteModule>;
  /** A module of this build was made or is being made. */
  anyModule: boolean;
  /** Modules of this build given back by closed connections, newest last. */
  idle: SqliteModule[];
}

const builds: Record<SqliteBuild, BuildState> = {
  sync: { anyModule: false, idle: [] },
  asyncify: { anyModule: false, idle: [] },
};

/** The wasm file of `build` that its modules are compiled from, read once per process. */
export function wasmBytes(build: SqliteBuild): Promise<Uint8Array> {
  const state = builds[build];
  state.bytes ??= readFile(createRequire(import.meta.url).resolve(`@journeyapps/wa-sqlite/dist/${FILES[build].wasm}`));
  return state.bytes;
}

/**
 * The compiled wasm of `build`, shared by its modules in the process. The file is read and compiled off
 * the main thread, so a caller that starts this early (the driver's open(), before it opens the store)
 * gets the compile for free while it does other work. With MVDB_WASM_CODE_CACHE set, the code comes from
 * that cache when it can (wasm-code-cache.ts).
 */
export function compiledWasm(build: SqliteBuild): Promise<WebAssembly.Module> {
  const state = builds[build];
  state.compiled ??= (async () => {
    const wasm = await wasmBytes(build);
    const cacheDir = process.env[CODE_CACHE_ENV];
    const cached = cacheDir ? loadCachedModule(cacheDir, wasm, build) : undefined;
    return cached ?? WebAssembly.compile(wasm);
  })();
  return state.compiled;
}

/**
 * Starts building the process's first SQLite module of `build` ahead of its first use (the driver's
 * open() calls this), so that the glue's setup runs, and the instance is made, while the wasm compiles and
 * the store opens. Does nothing once a module of that build was made: later ones are built when a
 * connection asks.
 */
export function prepareFirstSqliteModule(build: SqliteBuild): void {
  const state = builds[build];
  if (state.anyModule) return;
  state.anyModule = true;
  state.spare = buildModule(build);
  state.spare.catch(() => {}); // reported to the connection that takes it
}

/** Per build: enough for a pool that closes one connection per open past its cap; each idle module holds its heap. */
const MAX_IDLE_MODULES = 4;
/** Wasm memory never shrinks: a module whose heap grew past this is dropped rather than kept. */
const MAX_IDLE_HEAP_BYTES = 32 * 1024 * 1024;

/** How modules were obtained in this process, all builds (tests, benchmarks). */
export const sqliteModuleStats = { built: 0, reused: 0 };

/**
 * A SQLite module of `build` with no database open (a fresh one is about 0.4 MiB idle and a 16 MiB wasm
 * memory); register a VFS on it before opening databases. Only a module of the same build is reused: a
 * VFS made for one build would break SQLite on the other.
 */
export function createSqliteModule(build: SqliteBuild): Promise<SqliteModule> {
  const state = builds[build];
  state.anyModule = true;
  const reused = state.spare === undefined ? state.idle.pop() : undefined;
  if (reused !== undefined) {
    sqliteModuleStats.reused++;
    return Promise.resolve(reused);
  }
  const ready = state.spare ?? buildModule(build);
  state.spare = undefined;
  return ready;
}

/**
 * Takes back the module of a connection whose databases all closed cleanly (no statement left), for the
 * next connection of its build: a new instance costs ~5 ms here, mostly the garbage collection that each
 * new 16 MiB wasm memory sets off. The VFS registered as `vfsName` is unregistered (the next connection
 * registers its own under that name). Kept only while few are idle and the heap is small.
 */
export function releaseSqliteModule(m: SqliteModule, vfsName: string): void {
  const { idle } = builds[m.build];
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

async function buildModule(build: SqliteBuild): Promise<SqliteModule> {
  sqliteModuleStats.built++;
  const wasm = compiledWasm(build);
  let fail!: (error: unknown) => void;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  const module = await Promise.race([
    FILES[build].factory({
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
    build,
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

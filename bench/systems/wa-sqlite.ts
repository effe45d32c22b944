/**
 * wa-sqlite on SQLite's own in-memory database. The Asyncify build is the one mvdb runs, here without
 * our VFS or any store: the limit our VFS can approach. The synchronous build shows what a
 * synchronous path (possible on the embedded store, whose reads never wait) could gain.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as SQLite from '@journeyapps/wa-sqlite';
import AsyncFactory from '@journeyapps/wa-sqlite/dist/wa-sqlite-async.mjs';
import SyncFactory from '@journeyapps/wa-sqlite/dist/wa-sqlite.mjs';
import { MemoryVFS } from '@journeyapps/wa-sqlite/src/examples/MemoryVFS.js';
import { MemoryAsyncVFS } from '@journeyapps/wa-sqlite/src/examples/MemoryAsyncVFS.js';
import type { Conn, Param, Row, System } from '../lib/types.ts';

// The project's lib settings (ES2022, no DOM) carry no WebAssembly types; this is the part used here.
type WasmModule = object;
type WasmInstance = object;
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => WasmModule;
  instantiate(module: WasmModule, imports: object): Promise<WasmInstance>;
};

export type Build = 'async' | 'sync';
const require = createRequire(import.meta.url);
const compiled = new Map<Build, WasmModule>();
const WASM: Record<Build, string> = { async: 'wa-sqlite-async.wasm', sync: 'wa-sqlite.wasm' };

async function newApi(build: Build): Promise<SQLiteAPI> {
  return (await newModule(build)).sqlite3;
}

/** One compiled wasm module per build and process; each connection gets its own instance, as mvdb does. */
export async function newModule(build: Build): Promise<{ sqlite3: SQLiteAPI; module: unknown }> {
  let wasm = compiled.get(build);
  if (!wasm) {
    wasm = new WebAssembly.Module(readFileSync(require.resolve(`@journeyapps/wa-sqlite/dist/${WASM[build]}`)));
    compiled.set(build, wasm);
  }
  const factory = build === 'async' ? AsyncFactory : SyncFactory;
  const module = await factory({
    instantiateWasm(imports: object, done: (i: WasmInstance, m: WasmModule) => void) {
      void WebAssembly.instantiate(wasm!, imports).then((inst) => done(inst, wasm!));
      return {};
    },
  });
  return { sqlite3: SQLite.Factory(module), module };
}

export function wrap(sqlite3: SQLiteAPI, db: number): Conn {
  const cache = new Map<string, number>();
  const prepare = async (sql: string): Promise<number> => {
    let stmt = cache.get(sql);
    if (stmt === undefined) {
      for await (const s of sqlite3.statements(db, sql, { unscoped: true, flags: SQLite.SQLITE_PREPARE_PERSISTENT })) {
        stmt = s;
        break;
      }
      if (stmt === undefined) throw new Error(`no statement in SQL: ${sql}`);
      cache.set(sql, stmt);
    }
    return stmt;
  };
  /** Binds, steps to the end (collecting rows up to `max`), and resets so the statement is reusable. */
  const step = async (sql: string, params: readonly Param[], max: number): Promise<Row[]> => {
    const stmt = await prepare(sql);
    const out: Row[] = [];
    try {
      if (params.length) sqlite3.bind_collection(stmt, params as SQLiteCompatibleType[]);
      while ((await sqlite3.step(stmt)) === SQLite.SQLITE_ROW) {
        if (out.length < max) out.push(sqlite3.row(stmt));
      }
    } finally {
      await sqlite3.reset(stmt);
    }
    return out;
  };
  const conn: Conn = {
    async exec(sql) {
      await sqlite3.exec(db, sql);
    },
    async run(sql, params = []) {
      await step(sql, params, 0);
    },
    async get(sql, params = []) {
      return (await step(sql, params, 1))[0];
    },
    async all(sql, params = []) {
      return step(sql, params, Infinity);
    },
    async transaction(fn) {
      await sqlite3.exec(db, 'BEGIN');
      try {
        const out = await fn(conn);
        await sqlite3.exec(db, 'COMMIT');
        return out;
      } catch (err) {
        if (!sqlite3.get_autocommit(db)) await sqlite3.exec(db, 'ROLLBACK');
        throw err;
      }
    },
    async tryWrite(fn) {
      await conn.transaction(fn); // one connection per in-memory database: nothing to conflict with
      return true;
    },
    async close() {
      for (const stmt of cache.values()) await sqlite3.finalize(stmt);
      await sqlite3.close(db);
    },
  };
  return conn;
}

function memorySystem(build: Build): System {
  return {
    id: build === 'async' ? 'wa-sqlite-memory' : 'wa-sqlite-sync-memory',
    label: build === 'async' ? 'wa-sqlite Asyncify :memory:' : 'wa-sqlite sync build :memory:',
    persistent: false,
    versioned: false,
    writers: [],
    async open() {
      const sqlite3 = await newApi(build);
      return wrap(sqlite3, await sqlite3.open_v2(':memory:'));
    },
    async sqliteVersion() {
      return (await newApi(build)).libversion();
    },
  };
}

export const waSqliteMemory = memorySystem('async');

// The package's typings for the example VFSs are stale (no constructor arguments).
type VfsClass = new (name: string, module: unknown) => SQLiteVFS;

/**
 * Asyncify build on one of wa-sqlite's example in-memory VFSs written in JavaScript: synchronous
 * methods (MemoryVFS) or the same methods declared async (MemoryAsyncVFS, which never actually waits).
 * Not in the default run: they separate what a JavaScript VFS costs from what suspending costs.
 */
function jsVfsSystem(kind: 'sync' | 'async'): System {
  const Vfs = (kind === 'sync' ? MemoryVFS : MemoryAsyncVFS) as unknown as VfsClass;
  return {
    id: kind === 'sync' ? 'wa-sqlite-jsvfs-memory' : 'wa-sqlite-asyncvfs-memory',
    label: kind === 'sync' ? 'wa-sqlite Asyncify, MemoryVFS (sync JS)' : 'wa-sqlite Asyncify, MemoryAsyncVFS',
    persistent: false,
    versioned: false,
    writers: [],
    async open(loc) {
      const { sqlite3, module } = await newModule('async');
      sqlite3.vfs_register(new Vfs('bench-mem', module), false);
      return wrap(sqlite3, await sqlite3.open_v2(`${loc.name}.db`, SQLite.SQLITE_OPEN_CREATE | SQLite.SQLITE_OPEN_READWRITE, 'bench-mem'));
    },
    async sqliteVersion() {
      return (await newApi('async')).libversion();
    },
  };
}

export const waSqliteJsVfsMemory = jsVfsSystem('sync');
export const waSqliteAsyncVfsMemory = jsVfsSystem('async');
export const waSqliteSyncMemory = memorySystem('sync');

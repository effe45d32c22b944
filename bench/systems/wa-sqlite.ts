/**
 * wa-sqlite's Asyncify build on SQLite's own in-memory database: the same SQLite build mvdb runs,
 * without our VFS or any store. The limit our VFS can approach.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as SQLite from '@journeyapps/wa-sqlite';
import AsyncFactory from '@journeyapps/wa-sqlite/dist/wa-sqlite-async.mjs';
import type { Conn, Param, Row, System } from '../lib/types.ts';

// The project's lib settings (ES2022, no DOM) carry no WebAssembly types; this is the part used here.
type WasmModule = object;
type WasmInstance = object;
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => WasmModule;
  instantiate(module: WasmModule, imports: object): Promise<WasmInstance>;
};

const require = createRequire(import.meta.url);
let compiled: WasmModule | undefined;

/** One compiled wasm module for the process; each connection gets its own instance, as mvdb does. */
async function newApi(): Promise<SQLiteAPI> {
  compiled ??= new WebAssembly.Module(readFileSync(require.resolve('@journeyapps/wa-sqlite/dist/wa-sqlite-async.wasm')));
  const wasm = compiled;
  const module = await AsyncFactory({
    instantiateWasm(imports: object, done: (i: WasmInstance, m: WasmModule) => void) {
      void WebAssembly.instantiate(wasm, imports).then((inst) => done(inst, wasm));
      return {};
    },
  });
  return SQLite.Factory(module);
}

function wrap(sqlite3: SQLiteAPI, db: number): Conn {
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

export const waSqliteMemory: System = {
  id: 'wa-sqlite-memory',
  label: 'wa-sqlite Asyncify :memory:',
  persistent: false,
  versioned: false,
  writers: [],
  async open() {
    const sqlite3 = await newApi();
    return wrap(sqlite3, await sqlite3.open_v2(':memory:'));
  },
  async sqliteVersion() {
    const sqlite3 = await newApi();
    return sqlite3.libversion();
  },
};

/**
 * better-sqlite3 (native SQLite): what users would pick instead of mvdb. On a file in WAL mode with
 * synchronous=FULL (durable per commit, like mvdb) or NORMAL, and in memory.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { Conn, DbLocation, Param, Row, System } from '../lib/types.ts';

type Native = Database.Database;

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/** Wraps one better-sqlite3 handle in the shared async API; statements are prepared once per SQL text. */
function wrap(db: Native): Conn {
  const cache = new Map<string, Database.Statement>();
  const stmt = (sql: string): Database.Statement => {
    let s = cache.get(sql);
    if (!s) {
      s = db.prepare(sql);
      cache.set(sql, s);
    }
    return s;
  };
  const rows = (sql: string): Database.Statement => {
    const s = stmt(sql);
    return s.reader ? s.raw(true) : s;
  };
  const conn: Conn = {
    async exec(sql) {
      db.exec(sql);
    },
    async run(sql, params: readonly Param[] = []) {
      stmt(sql).run(...params);
    },
    async get(sql, params: readonly Param[] = []) {
      return rows(sql).get(...params) as Row | undefined;
    },
    async all(sql, params: readonly Param[] = []) {
      return rows(sql).all(...params) as Row[];
    },
    async transaction(fn) {
      // WAL admits one writer at a time; BEGIN IMMEDIATE waits on busy_timeout instead of failing mid-way.
      db.exec('BEGIN IMMEDIATE');
      try {
        const out = await fn(conn);
        db.exec('COMMIT');
        return out;
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw err;
      }
    },
    async tryWrite(fn) {
      try {
        await conn.transaction(fn);
        return true;
      } catch (err) {
        if (isBusy(err)) return false;
        throw err;
      }
    },
    async close() {
      db.close();
    },
  };
  return conn;
}

function fileSystem(sync: 'FULL' | 'NORMAL'): System {
  return {
    id: `sqlite-file-${sync.toLowerCase()}`,
    label: `better-sqlite3 file (WAL, sync=${sync})`,
    persistent: true,
    versioned: false,
    writers: ['processes'],
    async open(loc: DbLocation) {
      const db = new Database(join(loc.dir, `${loc.name}.db`));
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${sync}`);
      db.pragma('busy_timeout = 10000');
      return wrap(db);
    },
    async sqliteVersion() {
      return nativeVersion();
    },
  };
}

function nativeVersion(): string {
  const db = new Database(':memory:');
  const v = db.prepare('SELECT sqlite_version()').pluck().get() as string;
  db.close();
  return v;
}

export const sqliteFileFull = fileSystem('FULL');
export const sqliteFileNormal = fileSystem('NORMAL');

export const sqliteMemory: System = {
  id: 'sqlite-memory',
  label: 'better-sqlite3 :memory:',
  persistent: false,
  versioned: false,
  writers: [],
  async open() {
    return wrap(new Database(':memory:'));
  },
  async sqliteVersion() {
    return nativeVersion();
  },
};

/**
 * mvdb through its public API (src/index.ts), on the memory store, on LMDB, and on FoundationDB, each on
 * open()'s default wa-sqlite build (sync on memory and LMDB, Asyncify on FoundationDB); and on LMDB with
 * the Asyncify build, to show what the build choice is worth.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ConflictError, DEFAULT_MAX_OPEN_CONNECTIONS, open, setMaxOpenConnections, type Database, type Transaction } from '../../src/index.ts';
import type { SqliteBuild } from '../../vfs/index.ts';
import type { Conn, DbLocation, Param, Row, System } from '../lib/types.ts';

type Queryable = Database | Transaction;

/** For profiling only: BENCH_MVDB_CACHE_PAGES overrides the page cache size (default: mvdb's own). */
function openOptions(): { cachePages?: number } {
  const pages = Number(process.env.BENCH_MVDB_CACHE_PAGES);
  return Number.isInteger(pages) && pages > 0 ? { cachePages: pages } : {};
}
const ARRAY = { rowMode: 'array' } as const;

function wrap(db: Database, q: Queryable = db): Conn {
  const conn: Conn = {
    async exec(sql) {
      await q.exec(sql);
    },
    async run(sql, params: readonly Param[] = []) {
      await q.run(sql, params as Param[]);
    },
    async get(sql, params: readonly Param[] = []) {
      return (await q.get(sql, params as Param[], ARRAY)) as Row | undefined;
    },
    async all(sql, params: readonly Param[] = []) {
      return (await q.query(sql, params as Param[], ARRAY)) as Row[];
    },
    transaction(fn) {
      return db.transaction((tx) => fn(wrap(db, tx)));
    },
    async tryWrite(fn) {
      try {
        await db.transaction((tx) => fn(wrap(db, tx)), { retries: 0 });
        return true;
      } catch (err) {
        if (err instanceof ConflictError) return false;
        throw err;
      }
    },
    close: () => db.close(),
    version: () => db.version,
    async at(version) {
      return wrap(await db.at(version));
    },
  };
  return conn;
}

interface Variant {
  id: string;
  label: string;
  persistent: boolean;
  store(loc: DbLocation): string;
  name?(loc: DbLocation): string;
  /** The kv backend module the store loads on first use (src/kv/index.ts imports backends lazily). */
  backend?(): Promise<unknown>;
  /** open()'s sqliteBuild option (default: open()'s default for the store). */
  sqliteBuild?: SqliteBuild;
}

function mvdbSystem({ id, label, persistent, store, name = (l) => l.name, backend, sqliteBuild }: Variant): System {
  return {
    id,
    label,
    persistent,
    ...(backend ? { preload: async () => void (await backend()) } : {}),
    versioned: true,
    writers: persistent ? ['processes', 'connections'] : ['connections'],
    async open(loc) {
      return wrap(await open(name(loc), { store: store(loc), ...openOptions(), ...(sqliteBuild !== undefined ? { sqliteBuild } : {}) }));
    },
    async sqliteVersion() {
      const db = await open('version-probe', { store: 'memory:' });
      const v = (await db.get('SELECT sqlite_version()', [], ARRAY))?.[0];
      await db.close();
      return String(v);
    },
    maxOpenConnections: { default: DEFAULT_MAX_OPEN_CONNECTIONS, set: setMaxOpenConnections },
  };
}

// One in-process store for the whole bench process; database names are unique per run.
export const mvdbMemory = mvdbSystem({ id: 'mvdb-memory', label: 'mvdb memory store', persistent: false, store: () => 'memory:bench' });

// One LMDB environment per run (in the system's scratch directory) holding all of its databases.
export const mvdbLmdb = mvdbSystem({
  id: 'mvdb-lmdb',
  label: 'mvdb on LMDB',
  persistent: true,
  store: (loc) => `lmdb:${join(loc.dir, 'store')}`,
  backend: () => import('../../src/kv/lmdb.ts'),
});

export const mvdbLmdbAsyncify = mvdbSystem({
  id: 'mvdb-lmdb-asyncify',
  label: 'mvdb on LMDB, Asyncify build',
  persistent: true,
  store: (loc) => `lmdb:${join(loc.dir, 'store')}`,
  backend: () => import('../../src/kv/lmdb.ts'),
  sqliteBuild: 'asyncify',
});

// FoundationDB keeps databases between runs: names get a prefix unique to this run's scratch directory.
const runPrefix = (loc: DbLocation): string => createHash('sha256').update(loc.dir).digest('hex').slice(0, 12);
export const mvdbFdb = mvdbSystem({
  id: 'mvdb-fdb',
  label: 'mvdb on FoundationDB',
  persistent: true,
  store: () => 'fdb:',
  name: (loc) => `bench-${runPrefix(loc)}-${loc.name}`,
  backend: () => import('../../src/kv/fdb.ts'),
});

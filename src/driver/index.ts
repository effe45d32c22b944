/** The driver: open a database of a store and use it like an SQLite database, with versions. */
import {
  deleteDatabase as deleteFromStore,
  head,
  listDatabases as listInStore,
  openDatabase,
  prepareFirstSqliteModule,
  type DatabaseInfo,
  type Kv,
  type SqliteBuild,
} from '../../vfs/index.ts';
import { Database, type DatabaseSettings } from './database.ts';
import { ArgumentError, checkClientTag, checkOptionNames } from './errors.ts';
import { parseDuration } from './history.ts';
import { checkSqliteBuild, chooseSqliteBuild } from './sqlite-build.ts';
import { DEFAULT_STORE, acquireStore, releaseStore, withStore } from './store.ts';

export interface OpenOptions {
  /** Where the database lives: a store URL (default './mvdb-data', an LMDB directory) or an open Kv. */
  store?: string | Kv;
  /** Create the database if it does not exist (default true); false makes a missing one an error. */
  create?: boolean;
  /** Page size of a database created by this call: a power of two from 4096 to 65536 (default 4096). */
  pageSize?: number;
  /** Return every INTEGER as a bigint (default false: numbers, and bigints only past 2^53). */
  bigint?: boolean;
  /** Most pages a connection's page cache keeps per database file (default: no cap of its own; see setPageCacheBytes). */
  cachePages?: number;
  /** Retries after a write conflict, for transaction() and for single statements (default 10). */
  retries?: number;
  /** Stored with every commit in the database's log. */
  clientTag?: string;
  /** Retention window of a database created by this call: ms or a duration such as "30 days" (default 7 days). */
  retention?: number | string;
  /** Run GC every this many ms while the Database is open (see Database.startAutoGc). */
  gcIntervalMs?: number;
  /**
   * The wa-sqlite build SQLite runs on: 'sync' (faster; the store's transactions run synchronously, so a
   * commit blocks the thread until it is durable) or 'asyncify' (any store). Default: 'sync' on stores that
   * support it (memory, LMDB), 'asyncify' on FoundationDB; MVDB_SQLITE_BUILD changes the default.
   */
  sqliteBuild?: SqliteBuild;
}

const OPTION_NAMES = ['store', 'create', 'pageSize', 'bigint', 'cachePages', 'retries', 'clientTag', 'retention', 'gcIntervalMs', 'sqliteBuild'];

/** Opens (by default creating) database `name` in a store. Close it when done. */
export async function open(name: string, options: OpenOptions = {}): Promise<Database> {
  const settings = validate(options);
  const store = options.store ?? DEFAULT_STORE;
  // The first query needs SQLite: compile it (off the main thread) and set up its module while the store
  // opens. The build follows from the store's URL here, and from the opened store below.
  prepareFirstSqliteModule(chooseSqliteBuild(options.sqliteBuild, store));
  const shared = typeof store === 'string' ? await acquireStore(store) : undefined;
  try {
    const kv = shared?.kv ?? (store as Kv);
    const sqliteBuild = chooseSqliteBuild(options.sqliteBuild, kv);
    const ref = await openDatabase(kv, name, {
      create: options.create ?? true,
      ...(options.pageSize !== undefined ? { pageSize: options.pageSize } : {}),
      ...(options.retention !== undefined ? { retentionMs: parseDuration(options.retention, 'retention') } : {}),
    });
    const db = new Database(ref, shared?.key, await head(ref), { ...settings, sqliteBuild });
    if (options.gcIntervalMs !== undefined) db.startAutoGc(options.gcIntervalMs);
    return db;
  } catch (error) {
    if (shared !== undefined) await releaseStore(shared.key);
    throw error;
  }
}

export interface StoreOptions {
  /** A store URL (default './mvdb-data') or an open Kv. */
  store?: string | Kv;
}

export interface DatabaseSummary extends DatabaseInfo {
  /** The newest version (the creation version before the first commit). */
  head: string;
}

/** The databases of a store, by name. */
export function listDatabases(options: StoreOptions = {}): Promise<DatabaseSummary[]> {
  return withStore(options, async (kv) => {
    const infos = await listInStore(kv);
    return Promise.all(infos.map(async (info) => ({ ...info, head: await head(await openDatabase(kv, info.name, { create: false })) })));
  });
}

/** Deletes a database and its whole history. Close its open Databases first (they would see it empty). */
export function deleteDatabase(name: string, options: StoreOptions = {}): Promise<void> {
  return withStore(options, (kv) => deleteFromStore(kv, name));
}

function validate(options: OpenOptions): Omit<DatabaseSettings, 'sqliteBuild'> {
  checkOptionNames('open', options, OPTION_NAMES);
  const { store, create, bigint, cachePages, retries, clientTag } = options;
  checkSqliteBuild(options.sqliteBuild);
  if (store !== undefined && typeof store !== 'string' && (typeof store !== 'object' || typeof store.createTransaction !== 'function')) {
    throw new ArgumentError('store must be a store URL (a directory, lmdb:<dir>, memory:, memory:<name>, fdb:, fdb:<cluster file>) or an open Kv');
  }
  for (const [key, value] of [['create', create], ['bigint', bigint]] as const) {
    if (value !== undefined && typeof value !== 'boolean') throw new ArgumentError(`${key} must be true or false`);
  }
  if (cachePages !== undefined && (!Number.isInteger(cachePages) || cachePages < 1)) {
    throw new ArgumentError(`cachePages must be a positive whole number of pages, got ${String(cachePages)}`);
  }
  if (retries !== undefined && (!Number.isInteger(retries) || retries < 0)) {
    throw new ArgumentError(`retries must be a whole number >= 0, got ${String(retries)}`);
  }
  checkClientTag(clientTag);
  if (options.retention !== undefined) parseDuration(options.retention, 'retention');
  const { gcIntervalMs } = options;
  if (gcIntervalMs !== undefined && (!Number.isInteger(gcIntervalMs) || gcIntervalMs < 1)) {
    throw new ArgumentError(`gcIntervalMs must be a whole number of milliseconds >= 1, got ${String(gcIntervalMs)}`);
  }
  return { bigint: bigint ?? false, cachePages, retries: retries ?? 10, clientTag };
}

export { Database, Statement, Transaction, Queryable } from './database.ts';
export { parseDuration, DURATION_FORMS, type HistoryInfo, type AutoGcOptions } from './history.ts';
export type { DatabaseDiff, TableDiff, IndexDiff, SchemaDiff, RowChange, RowUpdate, DiffOptions, Change } from './diff.ts';
export type { QueryOptions, RunResult, ResultSet, TransactionOptions } from './database.ts';
export type { Params, Row, SqlValue, BindValue } from './values.ts';
export { SqliteError, ArgumentError, ClosedError } from './errors.ts';
export { parsePointInTime, POINT_IN_TIME_FORMS, type PointInTime } from './time.ts';
export { setMaxOpenConnections, DEFAULT_MAX_OPEN_CONNECTIONS } from './pool.ts';
export { setPageCacheBytes, pageCacheUsage, DEFAULT_PAGE_CACHE_BYTES } from './page-cache.ts';
export { DEFAULT_STORE, normalizeStoreUrl } from './store.ts';
// The store's errors (numeric `code`, FoundationDB's numbering), e.g. the `cause` of a SqliteError after a timeout.
export { KvError } from '../../vfs/index.ts';
export { importDatabase, exportDatabase } from './file-image.ts';
export type { ImportOptions, ImportResult, ExportOptions, ExportResult, TransferProgress } from './file-image.ts';

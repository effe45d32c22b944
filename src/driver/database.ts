/**
 * The public Database: SQL in the shape of the SQLite drivers people know
 * (better-sqlite3, libSQL), plus versions and time travel.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConflictError,
  Serializer,
  collectGarbage,
  createTag,
  deleteTag,
  forkDatabase,
  head,
  listForks,
  listTags,
  log,
  openDatabase,
  openDatabaseSync,
  parseVersion,
  resolveTag,
  setRetention,
  versionAt,
  type CommitInfo,
  type DatabaseRef,
  type ForkInfo,
  type GcOptions,
  type GcReport,
  type LogOptions,
  type RestoreResult,
  type SqliteBuild,
  type TagInfo,
  type Version,
} from '../../vfs/index.ts';
import { Connection, type RetryPolicy, type StatementResult } from './connection.ts';
import { ArgumentError, ClosedError } from './errors.ts';
import { diffVersions, type DatabaseDiff, type DiffOptions } from './diff.ts';
import {
  TAG_PREFIX,
  historyOf,
  parseDuration,
  restoreVersion,
  scheduleGc,
  type AutoGcOptions,
  type HistoryInfo,
} from './history.ts';
import { pool, type PoolMember } from './pool.ts';
import { acquireStore, releaseStore } from './store.ts';
import { parsePointInTime, type PointInTime } from './time.ts';
import { toObject, type Params, type Row, type SqlValue } from './values.ts';

export interface QueryOptions {
  /** 'object' (default): rows keyed by column name. 'array': values in column order, duplicate names kept. */
  rowMode?: 'object' | 'array';
  /** Every INTEGER as a bigint (default: a number when it is a safe integer, else a bigint). */
  bigint?: boolean;
}

export interface RunResult {
  /** Rows inserted, updated or deleted by the statement. */
  changes: number;
  /** The rowid of the last row inserted on this connection (a bigint past 2^53 or with { bigint: true }). */
  lastInsertRowid: number | bigint;
}

export interface ResultSet {
  columns: string[];
  rows: SqlValue[][];
  changes: number;
  lastInsertRowid: number | bigint;
}

export interface TransactionOptions {
  /** Retries after a write conflict before the ConflictError is thrown (default: the Database's). */
  retries?: number;
}

/** Settings a Database was opened with (snapshots from at() inherit them). */
export interface DatabaseSettings {
  bigint: boolean;
  cachePages: number | undefined;
  retries: number;
  clientTag: string | undefined;
  /** The wa-sqlite build of this Database's connections (sqlite-build.ts). */
  sqliteBuild: SqliteBuild;
}

/** query/get/run/exec/execute/prepare over some connection: a Database's own, or a transaction's. */
export abstract class Queryable {
  /** Runs `work` on the connection; inside a transaction without a promise of its own (`work`'s result as it is). */
  protected abstract use<T>(work: (conn: Connection) => T | Promise<T>): T | Promise<T>;
  protected abstract readonly bigintDefault: boolean;

  /** Runs every statement in `sql` (no parameters). */
  async exec(sql: string): Promise<void> {
    await this.use((conn) => conn.exec(sql));
  }

  /** All result rows of one statement. */
  query(sql: string, params?: Params, options?: QueryOptions & { rowMode?: 'object' }): Promise<Row[]>;
  query(sql: string, params: Params | undefined, options: QueryOptions & { rowMode: 'array' }): Promise<SqlValue[][]>;
  query(sql: string, params?: Params, options?: QueryOptions): Promise<Row[] | SqlValue[][]> {
    return this.#statement(sql, params, options, (result) => rowsOf(result, options));
  }

  /** The first result row of one statement, or undefined. */
  get(sql: string, params?: Params, options?: QueryOptions & { rowMode?: 'object' }): Promise<Row | undefined>;
  get(sql: string, params: Params | undefined, options: QueryOptions & { rowMode: 'array' }): Promise<SqlValue[] | undefined>;
  get(sql: string, params?: Params, options?: QueryOptions): Promise<Row | SqlValue[] | undefined> {
    return this.#statement(sql, params, options, ({ columns, rows: [first] }) =>
      first === undefined || options?.rowMode === 'array' ? first : toObject(columns, first),
    );
  }

  /** Runs one statement for its effect. */
  run(sql: string, params?: Params, options?: Pick<QueryOptions, 'bigint'>): Promise<RunResult> {
    return this.#statement(sql, params, options, (result) => ({
      changes: result.changes,
      lastInsertRowid: rowid(result.lastInsertRowid, options?.bigint ?? this.bigintDefault),
    }));
  }

  /** One statement: column names, rows as arrays, changes and last rowid (like libSQL's execute). */
  execute(sql: string, params?: Params, options?: Pick<QueryOptions, 'bigint'>): Promise<ResultSet> {
    return this.#statement(sql, params, options, (result) => ({
      ...result,
      lastInsertRowid: rowid(result.lastInsertRowid, options?.bigint ?? this.bigintDefault),
    }));
  }

  /** A reusable statement (compiled once per connection, on first use). */
  prepare(sql: string): Statement {
    if (typeof sql !== 'string') throw new ArgumentError(`SQL must be a string, got ${typeof sql}`);
    return new Statement(this, sql);
  }

  /** The column names of one statement (empty for a statement that returns no rows). */
  async columns(sql: string): Promise<string[]> {
    return this.use((conn) => conn.columns(sql));
  }

  /**
   * One statement, its result in the caller's shape. One promise per call: a transaction's statement that
   * ran without waiting is settled at once (an async method would add a promise of its own per await).
   */
  #statement<R>(sql: string, params: Params | undefined, options: QueryOptions | undefined, shape: (result: StatementResult) => R): Promise<R> {
    try {
      const result = this.#execute(sql, params, options);
      return result instanceof Promise ? result.then(shape) : Promise.resolve(shape(result));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #execute(sql: string, params: Params | undefined, options: QueryOptions | undefined): StatementResult | Promise<StatementResult> {
    if (options?.rowMode !== undefined && options.rowMode !== 'object' && options.rowMode !== 'array') {
      throw new ArgumentError(`rowMode must be 'object' or 'array', got ${JSON.stringify(options.rowMode)}`);
    }
    const bigint = options?.bigint ?? this.bigintDefault;
    return this.use((conn) => conn.execute(sql, params, { bigint }));
  }
}

/** One SQL statement, run as often as needed with different parameters. */
export class Statement {
  readonly sql: string;
  readonly #on: Queryable;

  constructor(on: Queryable, sql: string) {
    this.#on = on;
    this.sql = sql;
  }

  query(params?: Params, options?: QueryOptions & { rowMode?: 'object' }): Promise<Row[]>;
  query(params: Params | undefined, options: QueryOptions & { rowMode: 'array' }): Promise<SqlValue[][]>;
  query(params?: Params, options?: QueryOptions): Promise<Row[] | SqlValue[][]> {
    return this.#on.query(this.sql, params, options as QueryOptions & { rowMode: 'array' });
  }

  get(params?: Params, options?: QueryOptions & { rowMode?: 'object' }): Promise<Row | undefined>;
  get(params: Params | undefined, options: QueryOptions & { rowMode: 'array' }): Promise<SqlValue[] | undefined>;
  get(params?: Params, options?: QueryOptions): Promise<Row | SqlValue[] | undefined> {
    return this.#on.get(this.sql, params, options as QueryOptions & { rowMode: 'array' });
  }

  run(params?: Params, options?: Pick<QueryOptions, 'bigint'>): Promise<RunResult> {
    return this.#on.run(this.sql, params, options);
  }

  execute(params?: Params, options?: Pick<QueryOptions, 'bigint'>): Promise<ResultSet> {
    return this.#on.execute(this.sql, params, options);
  }

  columns(): Promise<string[]> {
    return this.#on.columns(this.sql);
  }
}

interface TransactionState {
  conn: Connection;
  done: boolean;
  savepoints: number;
}

/** The handle a transaction callback gets: statements on the transaction's connection. */
export class Transaction extends Queryable {
  readonly #state: TransactionState;
  protected readonly bigintDefault: boolean;

  constructor(state: TransactionState, bigint: boolean) {
    super();
    this.#state = state;
    this.bigintDefault = bigint;
  }

  protected use<T>(work: (conn: Connection) => T | Promise<T>): T | Promise<T> {
    if (this.#state.done) return Promise.reject(new ClosedError('this transaction has ended: run its statements inside the transaction callback'));
    return work(this.#state.conn);
  }
}

export class Database extends Queryable implements PoolMember {
  readonly name: string;
  /** The version a read-only snapshot (from at()) is pinned at; undefined for the database itself. */
  readonly snapshot: Version | undefined;
  readonly #ref: DatabaseRef;
  readonly #storeKey: string | undefined;
  readonly #settings: DatabaseSettings;
  readonly #lock = new Lock();
  readonly #transaction = new AsyncLocalStorage<TransactionState>();
  #connection: Connection | undefined;
  #version: Version;
  #closed = false;
  #stopAutoGc: (() => void) | undefined;

  /** Use open() or db.at(); the store reference (`storeKey`) is released by close(). */
  constructor(ref: DatabaseRef, storeKey: string | undefined, version: Version, settings: DatabaseSettings, snapshot?: Version) {
    super();
    this.name = ref.name;
    this.#ref = ref;
    this.#storeKey = storeKey;
    this.#settings = settings;
    this.#version = version;
    this.snapshot = snapshot;
  }

  protected get bigintDefault(): boolean {
    return this.#settings.bigint;
  }

  get pageSize(): number {
    return this.#ref.pageSize;
  }

  /** The wa-sqlite build this Database's SQLite runs: 'sync' or 'asyncify' (open()'s sqliteBuild option). */
  get sqliteBuild(): SqliteBuild {
    return this.#settings.sqliteBuild;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The newest version this handle has seen: the snapshot its last statement read
   * at or the version its last commit created (a snapshot's pinned version).
   * `await db.head()` asks the store for the newest.
   */
  get version(): Version {
    return this.#version;
  }

  /** The database's newest committed version, from the store. */
  async head(): Promise<Version> {
    this.#assertOpen();
    if (this.snapshot !== undefined) return this.snapshot;
    const version = await head(this.#ref);
    if (version > this.#version) this.#version = version;
    return version;
  }

  /**
   * Runs `fn` in a transaction and commits. A write conflict at commit rolls back
   * and runs `fn` again (after a randomized, growing pause), up to `retries` times;
   * then the last ConflictError (pages, winningVersion) is thrown. Any other error
   * rolls back and is thrown. Inside `fn`, this Database's own methods also run in
   * the transaction; a nested transaction() is a savepoint.
   */
  async transaction<T>(fn: (tx: Transaction) => Promise<T>, options?: TransactionOptions): Promise<T> {
    if (typeof fn !== 'function') throw new ArgumentError('transaction() takes an async function (tx) => ...');
    const retries = options?.retries ?? this.#settings.retries;
    if (!Number.isInteger(retries) || retries < 0) throw new ArgumentError(`retries must be a whole number >= 0, got ${retries}`);
    const outer = this.#transaction.getStore();
    if (outer !== undefined && !outer.done) return this.#savepoint(outer, fn);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#lock.run(() => this.#attempt(fn));
      } catch (error) {
        if (!(error instanceof ConflictError) || attempt >= retries) throw error;
        await sleep(backoff(attempt + 1));
      }
    }
  }

  /** A read-only Database pinned at a version, or at the version current at a time ("3 days ago", a Date, ...). */
  async at(point: PointInTime): Promise<Database> {
    const version = await this.versionAt(point);
    this.#assertExisted(version);
    const storeKey = this.#storeKey === undefined ? undefined : (await acquireStore(this.#storeKey)).key;
    const snapshot = new Database(this.#ref, storeKey, version, this.#settings, version);
    try {
      // Open now: a version in the future or below the GC watermark fails here, not at the first query.
      await snapshot.use(async () => undefined);
    } catch (error) {
      await snapshot.close();
      throw error;
    }
    return snapshot;
  }

  /** The version current at `point` (a time: the newest commit at or before it; a version: itself). */
  async versionAt(point: PointInTime): Promise<Version> {
    this.#assertOpen();
    if (typeof point === 'string' && point.startsWith(TAG_PREFIX)) return resolveTag(this.#ref, point.slice(TAG_PREFIX.length));
    const parsed = parsePointInTime(point);
    if ('version' in parsed) return parsed.version;
    return versionAt(this.#ref, parsed.time);
  }

  /** Commits, newest first. */
  log(options?: LogOptions): Promise<CommitInfo[]> {
    this.#assertOpen();
    return log(this.#ref, options);
  }

  // ---- history: retention and GC, tags, forks, restore, diff (helpers in history.ts and diff.ts) ----

  /** Sets how long history stays readable: ms, or a duration ("7 days", "12h"). GC may drop what is older. */
  async setRetention(retention: number | string): Promise<void> {
    this.#assertOpen();
    await setRetention(this.#ref, parseDuration(retention, 'retention'));
  }

  /** Retention, the oldest readable version, tags, forks, and what this database was forked from. */
  history(): Promise<HistoryInfo> {
    this.#assertOpen();
    return historyOf(this.#ref);
  }

  /**
   * Garbage-collects history older than the retention window (never a tagged version or a fork's base).
   * With { dryRun: true }: what would be freed, nothing deleted. Safe beside readers and writers.
   */
  gc(options?: GcOptions): Promise<GcReport> {
    this.#assertOpen();
    return collectGarbage(this.#ref, options);
  }

  /** Runs gc() every `intervalMs` until the returned function (or close()) stops it. */
  startAutoGc(intervalMs: number, options?: AutoGcOptions): () => void {
    this.#assertOpen();
    this.#stopAutoGc?.();
    const stop = scheduleGc((o) => this.gc(o), intervalMs, options);
    this.#stopAutoGc = () => {
      stop();
      this.#stopAutoGc = undefined;
    };
    return this.#stopAutoGc;
  }

  /** Names a version (default: this handle's snapshot, else the head); the tag keeps it readable. */
  async tag(name: string, point?: PointInTime): Promise<TagInfo> {
    this.#assertOpen();
    const version = point !== undefined ? await this.versionAt(point) : this.snapshot;
    return createTag(this.#ref, name, version);
  }

  tags(): Promise<TagInfo[]> {
    this.#assertOpen();
    return listTags(this.#ref);
  }

  /** Removes a tag: GC may then drop its version once it is older than the retention window. */
  untag(name: string): Promise<void> {
    this.#assertOpen();
    return deleteTag(this.#ref, name);
  }

  /**
   * A new database `name` whose history starts at `at` (default: this handle's snapshot, else the head),
   * created in O(1): it reads this database's pages as of `at` until it writes its own. Close it when done.
   */
  async fork(name: string, options: { at?: PointInTime; retention?: number | string } = {}): Promise<Database> {
    this.#assertOpen();
    if (options === null || typeof options !== 'object') throw new ArgumentError('fork() options must be an object: { at?, retention? }');
    const at = options.at !== undefined ? await this.versionAt(options.at) : this.snapshot;
    const ref = await forkDatabase(this.#ref, name, {
      ...(at !== undefined ? { at } : {}),
      ...(options.retention !== undefined ? { retentionMs: parseDuration(options.retention, 'retention') } : {}),
    });
    const storeKey = this.#storeKey === undefined ? undefined : (await acquireStore(this.#storeKey)).key;
    return new Database(ref, storeKey, await head(ref), this.#settings);
  }

  /** The forks of this database and the versions they start from. */
  forks(): Promise<ForkInfo[]> {
    this.#assertOpen();
    return listForks(this.#ref);
  }

  /**
   * A new commit whose content equals `point` (a version, time or "tag:<name>"). Nothing is destroyed:
   * `previous` (the head before) stays readable, and restoreTo(previous) undoes it.
   */
  async restoreTo(point: PointInTime): Promise<RestoreResult> {
    this.#assertOpen();
    if (this.snapshot !== undefined) {
      throw new ArgumentError(`restoreTo() writes a commit: call it on the database, not on a read-only snapshot from at()`);
    }
    const version = await this.versionAt(point);
    this.#assertExisted(version);
    const result = await restoreVersion(this.#ref, version, this.#settings.clientTag);
    if (result.version > this.#version) this.#version = result.version;
    return result;
  }

  /**
   * What changed from `from` to `to` (default: the head): schema objects, indexes, and inserted, updated
   * and deleted rows of every table (by INTEGER PRIMARY KEY or rowid; WITHOUT ROWID tables by primary key).
   */
  async diff(from: PointInTime, to?: PointInTime, options?: DiffOptions): Promise<DatabaseDiff> {
    this.#assertOpen();
    const [a, b] = await Promise.all([this.at(from), to === undefined ? this.at(await this.head()) : this.at(to)]);
    try {
      return await diffVersions(
        { ref: this.#ref, from: { version: a.snapshot!, db: a }, to: { version: b.snapshot!, db: b }, bigint: this.#settings.bigint },
        options,
      );
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopAutoGc?.();
    pool.remove(this);
    await this.#lock.run(async () => {
      const connection = this.#connection;
      this.#connection = undefined;
      await connection?.close();
    });
    if (this.#storeKey !== undefined) await releaseStore(this.#storeKey);
  }

  closeIfIdle(): boolean {
    const connection = this.#connection;
    if (connection === undefined) return true;
    if (this.#lock.busy || !connection.autocommit) return false;
    this.#connection = undefined;
    void this.#lock.run(() => connection.close());
    return true;
  }

  protected use<T>(work: (conn: Connection) => T | Promise<T>): T | Promise<T> {
    const transaction = this.#transaction.getStore();
    if (transaction !== undefined && !transaction.done) return work(transaction.conn);
    const connection = this.#connection;
    if (connection !== undefined && !this.#closed && !this.#lock.busy) return this.#useNow(connection, work);
    return this.#lock.run(async () => {
      const connection = await this.#open();
      try {
        return await work(connection);
      } finally {
        this.#noteVersion(connection);
      }
    });
  }

  /**
   * use() with the connection open and nothing queued: the statement starts at once, without a promise of
   * its own (on the sync build a statement usually completes here); one that waits holds the lock.
   */
  #useNow<T>(connection: Connection, work: (conn: Connection) => T | Promise<T>): T | Promise<T> {
    pool.use(this);
    let result: T | Promise<T>;
    try {
      result = work(connection);
    } catch (error) {
      this.#noteVersion(connection);
      throw error;
    }
    if (!(result instanceof Promise)) {
      this.#noteVersion(connection);
      return result;
    }
    const settled = result.finally(() => this.#noteVersion(connection));
    this.#lock.hold(settled);
    return settled;
  }

  async #attempt<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    const conn = await this.#open();
    const state: TransactionState = { conn, done: false, savepoints: 0 };
    await conn.exec('BEGIN');
    // Reads before the first write must be in the read set too, so the commit checks conflicts page by page.
    conn.vfs.setWriteIntent(true);
    try {
      const result = await this.#transaction.run(state, () => fn(new Transaction(state, this.#settings.bigint)));
      await conn.exec('COMMIT');
      return result;
    } catch (error) {
      // A lost conflict was already rolled back by the connection.
      if (!(await conn.inTransaction())) throw error;
      await conn.exec('ROLLBACK');
      throw error;
    } finally {
      state.done = true;
      conn.vfs.setWriteIntent(false);
      // Node 20's AsyncLocalStorage runs a hook on every promise the process creates while any instance is
      // enabled (~15% of a point select's CPU): enable ours only while a transaction runs. Afterwards
      // getStore() is undefined, which use() treats as an ended transaction (state.done) anyway.
      this.#transaction.disable();
      this.#noteVersion(conn);
    }
  }

  async #savepoint<T>(state: TransactionState, fn: (tx: Transaction) => Promise<T>): Promise<T> {
    const name = `mvdb_savepoint_${++state.savepoints}`;
    await state.conn.exec(`SAVEPOINT ${name}`);
    try {
      const result = await fn(new Transaction(state, this.#settings.bigint));
      await state.conn.exec(`RELEASE ${name}`);
      return result;
    } catch (error) {
      await state.conn.exec(`ROLLBACK TO ${name}; RELEASE ${name}`);
      throw error;
    }
  }

  async #open(): Promise<Connection> {
    this.#assertOpen();
    if (this.#connection === undefined) {
      this.#connection = await Connection.open({
        ref: this.#ref,
        build: this.#settings.sqliteBuild,
        resolve: (name, create) => this.#resolveAttached(name, create),
        ...(this.snapshot !== undefined ? { pinned: this.snapshot } : {}),
        ...(this.#settings.cachePages !== undefined ? { cachePages: this.#settings.cachePages } : {}),
        ...(this.#settings.clientTag !== undefined ? { clientTag: this.#settings.clientTag } : {}),
        retry: this.#retryPolicy(),
      });
    }
    pool.use(this);
    return this.#connection;
  }

  /**
   * ATTACH 'name' opens database `name` of the same store (created if missing, as SQLite creates files):
   * at once on the sync build (its VFS cannot wait), with the store's synchronous transactions.
   */
  #resolveAttached(name: string, create: boolean): DatabaseRef | Promise<DatabaseRef> {
    if (name === this.#ref.name) return this.#ref;
    const open = this.#settings.sqliteBuild === 'sync' ? openDatabaseSync : openDatabase;
    return open(this.#ref.kv, name, { create });
  }

  #retryPolicy(): RetryPolicy {
    return { limit: this.#settings.retries, delay: backoff };
  }

  #noteVersion(conn: Connection): void {
    const seen = conn.vfs.lastVersion(this.name);
    if (seen !== undefined && seen > this.#version) this.#version = seen;
  }

  #assertExisted(version: Version): void {
    const created = this.#createdVersion();
    if (version < created) {
      throw new ArgumentError(`database ${JSON.stringify(this.name)} did not exist at version ${version}: it was created at ${created}`);
    }
  }

  #createdVersion(): Version {
    return parseVersion(Buffer.from(this.#ref.id).toString('hex'));
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError(`database ${JSON.stringify(this.name)} is closed`);
  }
}

/** A mutex that knows whether anything holds or waits for it. */
class Lock {
  readonly #serializer = new Serializer();
  #pending = 0;

  get busy(): boolean {
    return this.#pending > 0;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    this.#pending++;
    try {
      return await this.#serializer.run(work);
    } finally {
      this.#pending--;
    }
  }

  /** Holds the lock until `work`, started while the lock was free, settles. */
  hold(work: Promise<unknown>): void {
    this.#pending++;
    const done = (): void => void this.#pending--;
    void this.#serializer.run(() => work.then(done, done));
  }
}

function rowsOf(result: StatementResult, options: QueryOptions | undefined): Row[] | SqlValue[][] {
  if (options?.rowMode === 'array') return result.rows;
  return result.rows.map((values) => toObject(result.columns, values));
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

function rowid(value: number | bigint, bigint: boolean): number | bigint {
  if (typeof value === 'number') return bigint ? BigInt(value) : value;
  if (bigint || value > MAX_SAFE || value < MIN_SAFE) return value;
  return Number(value);
}

/** Milliseconds before retry `attempt` (1-based): 5 ms doubling to 250 ms, randomized by +-50%. */
export function backoff(attempt: number): number {
  return Math.min(250, 5 * 2 ** (attempt - 1)) * (0.5 + Math.random());
}

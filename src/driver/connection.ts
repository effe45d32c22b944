/**
 * One SQLite connection: its own wa-sqlite module (one async call at a time),
 * its page-store VFS, its prepared-statement cache. Every method holds the
 * module's serializer for its whole run. On the sync build the VFS answers
 * every call before returning (the store's synchronous transactions), so no
 * SQLite call returns a Promise; on the Asyncify build one may.
 *
 * The held read transaction: outside a user's transaction, consecutive plain queries (SELECT, VALUES,
 * WITH ... SELECT) share one SQLite read transaction that the connection opens itself, for as long as
 * the VFS reports every snapshot it holds current (no commit anywhere in the store since, or a pinned
 * connection). A fresh autocommit statement would read exactly the same version, so results are the
 * same; SQLite skips its per-statement lock, hot-journal, change-counter and size calls into the VFS.
 * Every other call ends it first, and so does the event loop moving on: users see autocommit.
 * Each call runs its statement to the end and resets it before it settles, so no statement of this
 * connection is ever mid-step when a query starts or the held transaction ends.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import * as SQLite from '@journeyapps/wa-sqlite';
import {
  ConflictError,
  MvdbError,
  PageStoreVfs,
  ReadOnlyError,
  VFS_NAME,
  createSqliteModule,
  releaseSqliteModule,
  type DatabaseRef,
  type Serializer,
  type SqliteBuild,
  type SqliteModule,
  type Version,
} from '../../vfs/index.ts';
import { ArgumentError, ClosedError, SqliteError } from './errors.ts';
import { startsAsQuery } from './sql-text.ts';
import { SQLITE_DONE, SQLITE_OK, SQLITE_ROW, SqliteApi, encodeSql } from './sqlite.ts';
import { bindParams, columnNames, readRow, type Params, type SqlValue } from './values.ts';

export interface ConnectionOptions {
  ref: DatabaseRef;
  /** The wa-sqlite build to run: 'sync' only on a store with synchronous transactions. */
  build: SqliteBuild;
  /** The database behind an ATTACHed name: at once (no Promise) on the sync build. */
  resolve(name: string, create: boolean): DatabaseRef | Promise<DatabaseRef>;
  /** A read-only connection at this version. */
  pinned?: Version;
  cachePages?: number;
  clientTag?: string;
  /** Retries of an autocommit statement that lost a write conflict. */
  retry: RetryPolicy;
}

export interface RetryPolicy {
  limit: number;
  /** Milliseconds to wait before retry number `attempt` (1-based). */
  delay(attempt: number): number;
}

export interface StatementResult {
  columns: string[];
  rows: SqlValue[][];
  /** Rows inserted, updated or deleted by this statement (0 for any other statement). */
  changes: number;
  /** A number when it is a safe integer, else a bigint. */
  lastInsertRowid: number | bigint;
}

const STATEMENT_CACHE = 64;

/** What a statement's run remembers from before its first step. */
interface RunStart {
  autocommit: boolean;
  totalBefore: number;
  /** Retries so far (of an autocommit statement that lost a conflict). */
  attempt: number;
}

/** A prepared statement kept for its SQL, with its column names once read. */
interface CachedStatement {
  readonly stmt: number;
  /** A plain read-only query: it may run in the held read transaction. */
  readonly query: boolean;
  /** Column names, valid while SQLite has not re-prepared the statement (after a schema change) since. */
  columns: string[] | undefined;
  reprepares: number;
}

export class Connection {
  readonly ref: DatabaseRef;
  readonly vfs: PageStoreVfs;
  readonly #api: SqliteApi;
  readonly #sqlite: SqliteModule;
  readonly #serializer: Serializer;
  readonly #db: number;
  readonly #pinned: Version | undefined;
  readonly #retry: RetryPolicy;
  /** SQL -> prepared statement, least recently used first. */
  readonly #statements = new Map<string, CachedStatement>();
  /** The SQL last in #statements' order. */
  #lastSql: string | undefined;
  /** Calls queued or running on the module (#serial, #now): while 0, #now may start at once. */
  #busy = 0;
  #closed = false;
  /** The held read transaction is open (SQLite is in a transaction no user began). */
  #held = false;
  /** BEGIN and COMMIT of the held read transaction, prepared on its first use. */
  #holdStatements: { begin: number; commit: number } | undefined;
  /** An end of the held read transaction is scheduled for the next event-loop turn. */
  #endScheduled = false;

  private constructor(ref: DatabaseRef, vfs: PageStoreVfs, api: SqliteApi, sqlite: SqliteModule, db: number, options: ConnectionOptions) {
    this.ref = ref;
    this.vfs = vfs;
    this.#api = api;
    this.#sqlite = sqlite;
    this.#serializer = sqlite.serializer;
    this.#db = db;
    this.#pinned = options.pinned;
    this.#retry = options.retry;
  }

  static async open(options: ConnectionOptions): Promise<Connection> {
    const sqlite = await createSqliteModule(options.build);
    const { module, serializer } = sqlite;
    const vfs = new PageStoreVfs(module, {
      resolve: options.resolve,
      synchronous: options.build === 'sync',
      ...(options.pinned !== undefined ? { pinned: options.pinned } : {}),
      ...(options.cachePages !== undefined ? { cachePages: options.cachePages } : {}),
      ...(options.clientTag !== undefined ? { clientTag: options.clientTag } : {}),
    });
    sqlite.registerVfs(vfs);
    const api = new SqliteApi(sqlite);
    const flags =
      options.pinned !== undefined ? SQLite.SQLITE_OPEN_READONLY : SQLite.SQLITE_OPEN_READWRITE | SQLite.SQLITE_OPEN_CREATE;
    const opened = await serializer.run(() => api.open(options.ref.name, flags, VFS_NAME));
    if ('code' in opened) {
      const cause = vfs.takeError();
      if (cause instanceof MvdbError) throw cause;
      throw sqliteError(opened.message, opened.code, cause);
    }
    return new Connection(options.ref, vfs, api, sqlite, opened.db, options);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * No transaction open (the held read transaction is none: every other call ends it first). Reads the
   * module directly: call only while nothing else runs on it.
   */
  get autocommit(): boolean {
    return this.#held || this.#api.autocommit(this.#db);
  }

  /** Whether the held read transaction is open (for tests and diagnostics; it is never a user's transaction). */
  get holdsRead(): boolean {
    return this.#held;
  }

  /** Whether a transaction is open, in turn with other calls on this connection. */
  inTransaction(): Promise<boolean> {
    return this.#serial(async () => !this.autocommit);
  }

  /**
   * Runs exactly one statement with `params`; all result rows as arrays in column order. The result
   * itself (no promise) when nothing else was running on the connection, the statement was cached and
   * SQLite never suspended: a write transaction's statements mostly are.
   */
  execute(sql: string, params: Params | undefined, options: { bigint: boolean }): StatementResult | Promise<StatementResult> {
    return this.#now(() => {
      const cached = this.#cached(sql);
      if (cached === undefined) return this.#prepareCurrent(sql).then((prepared) => this.#statement(prepared, params, options.bigint));
      return this.#statement(cached, params, options.bigint);
    });
  }

  /** The column names of a statement (empty for one that returns no rows). */
  columns(sql: string): Promise<string[]> {
    return this.#serial(async () => columnNames(this.#api, (this.#cached(sql) ?? (await this.#prepareCurrent(sql))).stmt));
  }

  /** Runs every statement of `sql` in order (no parameters); stops at the first error. */
  exec(sql: string): Promise<void> {
    return this.#serial(async () => {
      await this.#endHeld();
      const bytes = encodeSql(sql);
      for (let offset = 0; offset < bytes.length; ) {
        const { rc, stmt, consumed } = await this.#api.prepare(this.#db, bytes, offset, false);
        if (rc !== SQLITE_OK) throw this.#error(rc);
        if (stmt === 0) break;
        offset += consumed;
        try {
          if (this.#api.parameterCount(stmt) > 0) {
            throw new ArgumentError('exec() takes no parameters: use run(), query() or get() for a statement with parameters');
          }
          await this.#run(stmt, false);
        } finally {
          await this.#api.finalize(stmt);
        }
      }
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#serializer.run(async () => {
      await this.#endHeld();
      for (const { stmt } of this.#statements.values()) await this.#api.finalize(stmt);
      this.#statements.clear();
      if (this.#holdStatements !== undefined) {
        await this.#api.finalize(this.#holdStatements.begin);
        await this.#api.finalize(this.#holdStatements.commit);
        this.#holdStatements = undefined;
      }
      const noStatementLeft = this.#api.module._sqlite3_next_stmt(this.#db, 0) === 0;
      // A cleanly closed module is as good as new: the next connection takes it instead of a fresh one.
      if ((await this.#api.close(this.#db)) === SQLITE_OK && noStatementLeft) releaseSqliteModule(this.#sqlite, VFS_NAME);
    });
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    this.#busy++;
    return this.#serializer.run(async () => {
      try {
        if (this.#closed) throw new ClosedError(`the connection to ${JSON.stringify(this.ref.name)} is closed`);
        this.vfs.takeError(); // an error SQLite absorbed earlier is not this call's
        return await work();
      } finally {
        this.#busy--;
      }
    });
  }

  /**
   * Like #serial, but starts `work` at once when nothing is queued or running on the module (no promise
   * in between); once `work` returns a promise, later calls queue behind it.
   */
  #now<T>(work: () => T | Promise<T>): T | Promise<T> {
    if (this.#busy > 0 || this.#closed) return this.#serial(async () => work());
    this.vfs.takeError(); // an error SQLite absorbed earlier is not this call's
    let result: T | Promise<T>;
    try {
      result = work();
    } catch (error) {
      return Promise.reject(error);
    }
    if (result instanceof Promise) {
      this.#busy++;
      const done = (): void => void this.#busy--;
      void this.#serializer.run(() => result.then(done, done));
    }
    return result;
  }

  // ---- the held read transaction ----

  /** Runs a cached statement: a plain query in the held read transaction when it can be, anything else after ending it. */
  #statement(cached: CachedStatement, params: Params | undefined, bigint: boolean): StatementResult | Promise<StatementResult> {
    if (!cached.query) {
      const ended = this.#endHeld();
      if (ended !== undefined) return ended.then(() => this.#runBound(cached, params, bigint));
      return this.#runBound(cached, params, bigint);
    }
    const held = this.#hold();
    if (typeof held !== 'boolean') return held.then((inHeld) => this.#query(cached, params, bigint, inHeld));
    return this.#query(cached, params, bigint, held);
  }

  #query(cached: CachedStatement, params: Params | undefined, bigint: boolean, inHeld: boolean): StatementResult | Promise<StatementResult> {
    const result = this.#runBound(cached, params, bigint);
    // A failed query ends the held transaction (whatever SQLite made of it): the next statement starts afresh.
    if (inHeld && result instanceof Promise) return result.catch((error: unknown) => this.#endHeldAndThrow(error));
    return result;
  }

  async #endHeldAndThrow(error: unknown): Promise<never> {
    await this.#endHeld();
    throw error;
  }

  /**
   * A held read transaction whose snapshots are current, for the next plain query: the one open, else
   * a new one; false when none can be held (a user's transaction is open, or the store cannot tell
   * synchronously whether it moved).
   */
  #hold(): boolean | Promise<boolean> {
    if (this.#held) {
      if (this.vfs.snapshotsCurrent()) return true;
      const ended = this.#endHeld();
      if (ended !== undefined) return ended.then(() => this.#beginHeld());
    }
    return this.#beginHeld();
  }

  #beginHeld(): boolean | Promise<boolean> {
    if (!this.#api.autocommit(this.#db) || !this.vfs.canTellSnapshotsCurrent()) return false;
    if (this.#holdStatements === undefined) return this.#prepareHold().then(() => this.#beginHeld());
    const rc = this.#stepAndReset(this.#holdStatements.begin);
    if (typeof rc !== 'number') return rc.then((code) => this.#begun(code));
    return this.#begun(rc);
  }

  #begun(rc: number): boolean {
    // BEGIN (deferred) takes no lock and reads nothing: it does not fail in autocommit. If it did, the query runs as before.
    if (rc !== SQLITE_DONE) return false;
    this.#held = true;
    this.#scheduleEnd();
    return true;
  }

  /** Ends the held read transaction, if open: undefined when done at once, else a Promise. */
  #endHeld(): Promise<void> | undefined {
    if (!this.#held) return undefined;
    this.#held = false;
    // An error may have ended SQLite's transaction already.
    if (this.#api.autocommit(this.#db)) return undefined;
    const rc = this.#stepAndReset(this.#holdStatements!.commit);
    if (typeof rc !== 'number') return rc.then((code) => this.#heldEnded(code));
    return this.#heldEnded(rc);
  }

  /** COMMIT of a read transaction writes nothing and cannot conflict; should it fail all the same, roll back. */
  #heldEnded(rc: number): Promise<void> | undefined {
    if (rc === SQLITE_DONE && this.#api.autocommit(this.#db)) return undefined;
    this.vfs.takeError();
    return this.#rollback();
  }

  /** The held read transaction ends when the event loop moves on: an idle connection holds no snapshot. */
  #scheduleEnd(): void {
    if (this.#endScheduled) return;
    this.#endScheduled = true;
    setImmediate(() => {
      this.#endScheduled = false;
      // In turn with other calls (the module runs one at a time); a closed connection ended it already.
      if (this.#held) this.#serial(async () => this.#endHeld()).catch(() => {});
    });
  }

  async #prepareHold(): Promise<void> {
    const begin = await this.#prepareControl('BEGIN');
    const commit = await this.#prepareControl('COMMIT');
    this.#holdStatements = { begin, commit };
  }

  async #prepareControl(sql: string): Promise<number> {
    const { rc, stmt } = await this.#api.prepare(this.#db, encodeSql(sql), 0, true);
    if (rc !== SQLITE_OK) throw this.#error(rc);
    return stmt;
  }

  /** Steps a statement that returns no rows once and resets it: its code, without a promise unless SQLite suspended. */
  #stepAndReset(stmt: number): number | Promise<number> {
    const rc = this.#api.step(stmt);
    if (typeof rc !== 'number') return rc.then(async (code) => (await this.#api.reset(stmt), code));
    const reset = this.#api.reset(stmt);
    return typeof reset === 'number' ? rc : reset.then(() => rc);
  }

  /** Prepares `sql`, first ending a held read transaction that is no longer current (it would read an old schema). */
  async #prepareCurrent(sql: string): Promise<CachedStatement> {
    if (this.#held && !this.vfs.snapshotsCurrent()) await this.#endHeld();
    return this.#prepareOne(sql);
  }

  // ---- running statements ----

  /** Binds, runs and resets a cached statement (reset and bindings cleared however it ends). */
  #runBound(cached: CachedStatement, params: Params | undefined, bigint: boolean): StatementResult | Promise<StatementResult> {
    const { stmt } = cached;
    let result: StatementResult | Promise<StatementResult>;
    try {
      bindParams(this.#api, stmt, params);
      result = this.#run(stmt, bigint, cached);
    } catch (error) {
      result = Promise.reject(error);
    }
    if (result instanceof Promise) return this.#resetAfter(stmt, result);
    const reset = this.#api.reset(stmt);
    if (typeof reset !== 'number') return this.#resetAfter(stmt, Promise.resolve(result), reset);
    this.#api.clearBindings(stmt);
    return result;
  }

  async #resetAfter<T>(stmt: number, result: Promise<T>, reset?: Promise<number>): Promise<T> {
    try {
      return await result;
    } finally {
      await (reset ?? this.#api.reset(stmt));
      this.#api.clearBindings(stmt);
    }
  }

  /**
   * Steps a bound statement to the end, without a promise while SQLite does not suspend. An autocommit
   * statement that loses a write conflict rolled back as a whole: it is run again, up to the retry limit.
   */
  #run(stmt: number, bigint: boolean, cached?: CachedStatement, attempt = 0): StatementResult | Promise<StatementResult> {
    const api = this.#api;
    const start: RunStart = { autocommit: api.autocommit(this.#db), totalBefore: api.totalChanges(this.#db), attempt };
    const rc = api.step(stmt);
    if (typeof rc !== 'number') return rc.then((first) => this.#rows(stmt, bigint, cached, start, first));
    return this.#rows(stmt, bigint, cached, start, rc);
  }

  /** After the first step: reads the rows, stepping on synchronously until SQLite suspends. */
  #rows(stmt: number, bigint: boolean, cached: CachedStatement | undefined, start: RunStart, first: number): StatementResult | Promise<StatementResult> {
    const api = this.#api;
    // After the first step: a statement SQLite re-prepared for a schema change has its new columns by now.
    const columns = cached !== undefined ? this.#columnsOf(cached) : columnNames(api, stmt);
    const rows: SqlValue[][] = [];
    let rc = first;
    while (rc === SQLITE_ROW) {
      rows.push(readRow(api, stmt, columns.length, bigint));
      const next = api.step(stmt);
      if (typeof next !== 'number') return this.#rowsAsync(stmt, bigint, cached, start, next, columns, rows);
      rc = next;
    }
    return this.#ended(stmt, bigint, cached, start, rc, columns, rows);
  }

  async #rowsAsync(
    stmt: number,
    bigint: boolean,
    cached: CachedStatement | undefined,
    start: RunStart,
    pending: Promise<number>,
    columns: string[],
    rows: SqlValue[][],
  ): Promise<StatementResult> {
    const api = this.#api;
    let rc = await pending;
    for (; rc === SQLITE_ROW; rc = await api.step(stmt)) rows.push(readRow(api, stmt, columns.length, bigint));
    return this.#ended(stmt, bigint, cached, start, rc, columns, rows);
  }

  #ended(
    stmt: number,
    bigint: boolean,
    cached: CachedStatement | undefined,
    start: RunStart,
    rc: number,
    columns: string[],
    rows: SqlValue[][],
  ): StatementResult | Promise<StatementResult> {
    const api = this.#api;
    if (rc === SQLITE_DONE) {
      const changed = api.totalChanges(this.#db) !== start.totalBefore;
      return { columns, rows, changes: changed ? api.changes(this.#db) : 0, lastInsertRowid: api.lastInsertRowid(this.#db) };
    }
    return this.#failed(stmt, bigint, cached, start, rc);
  }

  async #failed(stmt: number, bigint: boolean, cached: CachedStatement | undefined, start: RunStart, rc: number): Promise<StatementResult> {
    const api = this.#api;
    const error = this.#error(rc);
    await api.reset(stmt);
    if (error instanceof ConflictError) {
      if (start.autocommit && start.attempt < this.#retry.limit) {
        await sleep(this.#retry.delay(start.attempt + 1));
        return this.#run(stmt, bigint, cached, start.attempt + 1);
      }
      // A transaction that lost a conflict can never commit: end it rather than leave it open.
      if (!api.autocommit(this.#db)) await this.#rollback();
    }
    throw error;
  }

  /** The column names of a cached statement (a copy: callers may keep or change it), read once per preparation. */
  #columnsOf(cached: CachedStatement): string[] {
    const reprepares = this.#api.reprepareCount(cached.stmt);
    if (cached.columns === undefined || cached.reprepares !== reprepares) {
      cached.columns = columnNames(this.#api, cached.stmt);
      cached.reprepares = reprepares;
    }
    return cached.columns.slice();
  }

  async #rollback(): Promise<void> {
    const { stmt } = await this.#api.prepare(this.#db, encodeSql('ROLLBACK'), 0, false);
    try {
      await this.#api.step(stmt);
    } finally {
      await this.#api.finalize(stmt);
    }
  }

  /** The cached statement for `sql`, now the most recently used, if there is one. */
  #cached(sql: string): CachedStatement | undefined {
    const cached = this.#statements.get(sql);
    // Moved to the end of the LRU order unless it is there already (a statement run over and over).
    if (cached !== undefined && sql !== this.#lastSql) {
      this.#lastSql = sql;
      this.#statements.delete(sql);
      this.#statements.set(sql, cached);
    }
    return cached;
  }

  /** Prepares and caches `sql`, which must hold exactly one statement. */
  async #prepareOne(sql: string): Promise<CachedStatement> {
    if (typeof sql !== 'string') throw new ArgumentError(`SQL must be a string, got ${typeof sql}`);
    const bytes = encodeSql(sql);
    const first = await this.#api.prepare(this.#db, bytes, 0, true);
    if (first.rc !== SQLITE_OK) throw this.#error(first.rc);
    if (first.stmt === 0) throw new ArgumentError(`no SQL statement in ${JSON.stringify(sql)}`);
    if (first.consumed < bytes.length) {
      const rest = await this.#api.prepare(this.#db, bytes, first.consumed, false);
      if (rest.stmt !== 0 || rest.rc !== SQLITE_OK) {
        if (rest.stmt !== 0) await this.#api.finalize(rest.stmt);
        await this.#api.finalize(first.stmt);
        if (rest.rc !== SQLITE_OK) throw this.#error(rest.rc);
        throw new ArgumentError('the SQL holds more than one statement: use exec() to run several (without parameters)');
      }
    }
    const query = startsAsQuery(sql) && this.#api.readonly(first.stmt);
    const cached: CachedStatement = { stmt: first.stmt, query, columns: undefined, reprepares: 0 };
    this.#statements.set(sql, cached);
    this.#lastSql = sql;
    if (this.#statements.size > STATEMENT_CACHE) {
      const [oldestSql, oldest] = this.#statements.entries().next().value!;
      this.#statements.delete(oldestSql);
      await this.#api.finalize(oldest.stmt);
    }
    return cached;
  }

  /** The error behind a failed call: the VFS's own (a conflict, a refusal) if it has one, else SQLite's. */
  #error(rc: number): Error {
    const cause = this.vfs.takeError();
    if (cause instanceof MvdbError) return cause;
    const errno = this.#api.extendedErrcode(this.#db) || rc;
    if (this.#pinned !== undefined && (errno & 0xff) === SQLite.SQLITE_READONLY) {
      return new ReadOnlyError(this.ref.name, this.#pinned);
    }
    return sqliteError(this.#api.errmsg(this.#db), errno, cause);
  }
}

/** SQLite's error, with the message of the error behind it (the VFS's, if any) appended. */
function sqliteError(message: string, errno: number, cause: unknown): SqliteError {
  return new SqliteError(cause instanceof Error ? `${message}: ${cause.message}` : message, errno, { cause });
}

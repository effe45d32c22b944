/**
 * The SQLite C API calls the driver makes, over one wa-sqlite module of either
 * build. Thin and exact: text is read with its byte length (embedded NULs
 * survive), 64-bit integers travel as two 32-bit halves (the builds legalize
 * i64), and nothing here serializes: the caller holds the module's serializer
 * around every use. On the sync build every call returns its code; on the
 * Asyncify build a call that may suspend returns a Promise when it did.
 */
import * as SQLite from '@journeyapps/wa-sqlite';
import type { SqliteModule } from '../../vfs/index.ts';

export const SQLITE_OK = SQLite.SQLITE_OK;
export const SQLITE_ROW = SQLite.SQLITE_ROW;
export const SQLITE_DONE = SQLite.SQLITE_DONE;
export const SQLITE_INTEGER = SQLite.SQLITE_INTEGER;
export const SQLITE_FLOAT = SQLite.SQLITE_FLOAT;
export const SQLITE_TEXT = SQLite.SQLITE_TEXT;
export const SQLITE_BLOB = SQLite.SQLITE_BLOB;

const SQLITE_PREPARE_PERSISTENT = 0x01;
const SQLITE_STMTSTATUS_REPREPARE = 5;
const SQLITE_NOMEM = SQLite.SQLITE_NOMEM;
/** Text up to this many UTF-16 units is copied in JavaScript while it is ASCII (longer: encodeInto is faster). */
const SHORT_TEXT = 32;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const utf8Encoder = new TextEncoder();

/** A call that may suspend SQLite (a VFS call): its code at once when it did not, else a Promise of it. */
type MaybeAsyncCall = (...args: (number | string | null)[]) => number | Promise<number>;

/** A prepared statement: its handle and how many bytes of the SQL it consumed. */
export interface Prepared {
  stmt: number;
  /** Bytes of the UTF-8 SQL consumed, including the statement's trailing text up to the next one. */
  consumed: number;
}

export class SqliteApi {
  readonly module: SqliteModule['module'];
  readonly #free: number;
  readonly #open: MaybeAsyncCall;
  readonly #close: MaybeAsyncCall;
  readonly #prepare: MaybeAsyncCall;
  readonly #step: MaybeAsyncCall;
  readonly #reset: MaybeAsyncCall;
  readonly #finalize: MaybeAsyncCall;
  /** A Buffer over the wasm memory (#heap), made again when the memory grows. */
  #heapBuffer: Buffer | undefined;

  constructor({ module, build }: Pick<SqliteModule, 'module' | 'build'>) {
    this.module = module;
    this.#free = module._getSqliteFree();
    // Sync build: cwrap without options gives the wasm export itself for all-numeric calls (no ccall in
    // between). Asyncify build: Emscripten's ccall returns a Promise whenever the wasm stack unwound (a VFS
    // call suspended), whatever `async` says; `async: false` only drops the Promise.resolve() around a result
    // that is ready. Most steps in a write transaction never suspend (xWrite buffers, cached reads answer at
    // once), so they cost no promise (a promise each costs a microtask and, while a transaction's
    // AsyncLocalStorage is on, hooks).
    const options = build === 'sync' ? undefined : { async: false };
    const wrap = (name: string, args: string[]): MaybeAsyncCall => module.cwrap(name, 'number', args, options);
    this.#open = wrap('sqlite3_open_v2', ['string', 'number', 'number', 'string']);
    this.#close = wrap('sqlite3_close_v2', ['number']);
    this.#prepare = wrap('sqlite3_prepare_v3', ['number', 'number', 'number', 'number', 'number', 'number']);
    this.#step = wrap('sqlite3_step', ['number']);
    this.#reset = wrap('sqlite3_reset', ['number']);
    this.#finalize = wrap('sqlite3_finalize', ['number']);
  }

  /** Opens a database; on failure closes the half-open handle and returns the code with SQLite's message. */
  async open(name: string, flags: number, vfs: string): Promise<{ db: number } | { code: number; message: string }> {
    const m = this.module;
    const out = m._malloc(4);
    try {
      const rc = await this.#open(name, out, flags, vfs);
      const db = m.getValue(out, '*') as number;
      if (rc === SQLITE_OK) {
        m._sqlite3_extended_result_codes(db, 1);
        return { db };
      }
      const message = db ? this.errmsg(db) : SQLite.SQLITE_CANTOPEN === rc ? 'unable to open database file' : `error ${rc}`;
      if (db) await this.#close(db);
      return { code: rc, message };
    } finally {
      m._free(out);
    }
  }

  close(db: number): number | Promise<number> {
    return this.#close(db);
  }

  /**
   * Prepares the first statement of `sql` from byte `offset`. `stmt` is 0 when only
   * whitespace or comments remain.
   */
  async prepare(db: number, sql: Uint8Array, offset: number, persistent: boolean): Promise<{ rc: number } & Prepared> {
    const m = this.module;
    const length = sql.length - offset;
    // SQL, then room for the statement handle and the tail pointer (4-byte aligned: getValue reads HEAPU32).
    const base = m._malloc(length + 1 + 12);
    try {
      m.HEAPU8.set(sql.subarray(offset), base);
      m.HEAPU8[base + length] = 0;
      const pStmt = (base + length + 1 + 3) & ~3;
      const pTail = pStmt + 4;
      const rc = await this.#prepare(db, base, length + 1, persistent ? SQLITE_PREPARE_PERSISTENT : 0, pStmt, pTail);
      const stmt = m.getValue(pStmt, '*') as number;
      const tail = m.getValue(pTail, '*') as number;
      return { rc, stmt: rc === SQLITE_OK ? stmt : 0, consumed: rc === SQLITE_OK ? tail - base : 0 };
    } finally {
      m._free(base);
    }
  }

  /** SQLite's code: a number when the step did not suspend, else a Promise of it. */
  step(stmt: number): number | Promise<number> {
    return this.#step(stmt);
  }

  /** Like step(): a number unless resetting suspended (it may end a read transaction). */
  reset(stmt: number): number | Promise<number> {
    return this.#reset(stmt);
  }

  finalize(stmt: number): number | Promise<number> {
    return this.#finalize(stmt);
  }

  // ---- binding (synchronous) ----

  parameterCount(stmt: number): number {
    return this.module._sqlite3_bind_parameter_count(stmt);
  }

  /** ':a', '@a', '$a', '?3', or null for a bare '?'. */
  parameterName(stmt: number, index: number): string | null {
    const ptr = this.module._sqlite3_bind_parameter_name(stmt, index);
    return ptr ? this.#cString(ptr) : null;
  }

  clearBindings(stmt: number): void {
    this.module._sqlite3_clear_bindings(stmt);
  }

  bindNull(stmt: number, index: number): number {
    return this.module._sqlite3_bind_null(stmt, index);
  }

  bindDouble(stmt: number, index: number, value: number): number {
    return this.module._sqlite3_bind_double(stmt, index, value);
  }

  bindInt64(stmt: number, index: number, value: bigint): number {
    const lo = Number(BigInt.asIntN(32, value));
    const hi = Number(BigInt.asIntN(32, value >> 32n));
    return this.module._sqlite3_bind_int64(stmt, index, lo, hi);
  }

  /** A safe integer, split into 32-bit halves without going through bigint. */
  bindSafeInteger(stmt: number, index: number, value: number): number {
    const hi = Math.floor(value / 4294967296);
    const lo = value - hi * 4294967296;
    return this.module._sqlite3_bind_int64(stmt, index, lo | 0, hi);
  }

  bindText(stmt: number, index: number, value: string): number {
    // Straight into SQLite's heap (UTF-8 takes at most 3 bytes per UTF-16 code unit): no intermediate
    // array, and short ASCII text (most bound text) copied in JavaScript without a call into the encoder.
    const capacity = value.length * 3;
    const ptr = this.module._sqlite3_malloc(Math.max(1, capacity));
    if (ptr === 0) return SQLITE_NOMEM;
    const heap = this.module.HEAPU8;
    let ascii = 0;
    if (value.length <= SHORT_TEXT) {
      while (ascii < value.length) {
        const unit = value.charCodeAt(ascii);
        if (unit > 0x7f) break;
        heap[ptr + ascii++] = unit;
      }
    }
    const written =
      ascii === value.length ? ascii : ascii + utf8Encoder.encodeInto(value.slice(ascii), heap.subarray(ptr + ascii, ptr + capacity)).written;
    return this.module._sqlite3_bind_text(stmt, index, ptr, written, this.#free);
  }

  bindBlob(stmt: number, index: number, value: Uint8Array): number {
    const ptr = this.#copyIn(value);
    return this.module._sqlite3_bind_blob(stmt, index, ptr, value.length, this.#free);
  }

  /** A sqlite3_malloc'd copy that SQLite frees (at least one byte, so an empty value is not NULL). */
  #copyIn(bytes: Uint8Array): number {
    const ptr = this.module._sqlite3_malloc(Math.max(1, bytes.length));
    this.module.HEAPU8.set(bytes, ptr);
    return ptr;
  }

  // ---- results (synchronous) ----

  columnCount(stmt: number): number {
    return this.module._sqlite3_column_count(stmt);
  }

  columnName(stmt: number, index: number): string {
    return this.#cString(this.module._sqlite3_column_name(stmt, index));
  }

  columnType(stmt: number, index: number): number {
    return this.module._sqlite3_column_type(stmt, index);
  }

  columnDouble(stmt: number, index: number): number {
    return this.module._sqlite3_column_double(stmt, index);
  }

  /** An INTEGER column: a number when it is a safe integer (unless `bigint`), else a bigint. */
  columnInteger(stmt: number, index: number, bigint: boolean): number | bigint {
    const lo = this.module._sqlite3_column_int64(stmt, index);
    const hi = this.module.getTempRet0();
    // |hi| < 2^21 keeps the value within +-(2^53 - 2^32): exact as a number.
    if (!bigint && hi > -0x200000 && hi < 0x200000) return hi * 4294967296 + (lo >>> 0);
    const value = (BigInt(hi) << 32n) | BigInt(lo >>> 0);
    if (!bigint && value <= MAX_SAFE && value >= -MAX_SAFE) return Number(value);
    return value;
  }

  columnText(stmt: number, index: number): string {
    const ptr = this.module._sqlite3_column_text(stmt, index);
    const length = this.module._sqlite3_column_bytes(stmt, index);
    return ptr ? this.#text(ptr, length) : '';
  }

  columnBlob(stmt: number, index: number): Uint8Array {
    const ptr = this.module._sqlite3_column_blob(stmt, index);
    const length = this.module._sqlite3_column_bytes(stmt, index);
    return ptr ? this.module.HEAPU8.slice(ptr, ptr + length) : new Uint8Array(0);
  }

  // ---- connection state (synchronous) ----

  /** Rows the last statement changed, as a number (exact below 2^53; no bigint per statement). */
  changes(db: number): number {
    return this.#int64AsNumber(this.module._sqlite3_changes64(db));
  }

  /** Rows changed since the connection opened, as a number (exact below 2^53): compared around each statement. */
  totalChanges(db: number): number {
    return this.#int64AsNumber(this.module._sqlite3_total_changes64(db));
  }

  /** How often SQLite re-prepared `stmt` (after a schema change): its columns may have changed each time. */
  reprepareCount(stmt: number): number {
    return this.module._sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_REPREPARE, 0);
  }

  /**
   * Whether `stmt` leaves the database files unchanged. Transaction control, ATTACH/DETACH and some
   * PRAGMAs count as read-only too: pair it with the statement's first keyword (sql-text.ts).
   */
  readonly(stmt: number): boolean {
    return this.module._sqlite3_stmt_readonly(stmt) !== 0;
  }

  /** The last rowid inserted: a number when it is a safe integer (no bigint made for the usual case), else a bigint. */
  lastInsertRowid(db: number): number | bigint {
    const lo = this.module._sqlite3_last_insert_rowid(db);
    const hi = this.module.getTempRet0();
    // |hi| < 2^21 keeps the value within +-(2^53 - 2^32): exact as a number.
    if (hi > -0x200000 && hi < 0x200000) return hi * 4294967296 + (lo >>> 0);
    return (BigInt(hi) << 32n) | BigInt(lo >>> 0);
  }

  autocommit(db: number): boolean {
    return this.module._sqlite3_get_autocommit(db) !== 0;
  }

  errmsg(db: number): string {
    return this.#cString(this.module._sqlite3_errmsg(db));
  }

  /**
   * UTF-8 text in the wasm memory, as better-sqlite3 reads it: a leading U+FEFF is kept (TextDecoder, and
   * Emscripten's UTF8ToString with it, would drop it), invalid bytes become U+FFFD.
   */
  #text(ptr: number, length: number): string {
    const heap: ArrayBuffer = this.module.HEAPU8.buffer;
    if (this.#heapBuffer?.buffer !== heap) this.#heapBuffer = Buffer.from(heap);
    return this.#heapBuffer.toString('utf8', ptr, ptr + length);
  }

  /** A NUL-terminated string (names, messages). */
  #cString(ptr: number): string {
    return this.#text(ptr, this.module.HEAPU8.indexOf(0, ptr) - ptr);
  }

  extendedErrcode(db: number): number {
    return this.module._sqlite3_extended_errcode(db);
  }

  /** An i64 result as a number: the low half was returned, the high half is in tempRet0. */
  #int64AsNumber(lo: number): number {
    return this.module.getTempRet0() * 4294967296 + (lo >>> 0);
  }
}

export function encodeSql(sql: string): Uint8Array {
  return utf8Encoder.encode(sql);
}

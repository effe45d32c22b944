/**
 * The FoundationDB backend: a thin adapter from the Kv port onto the optional `foundationdb`
 * package (API version 720). FoundationDB itself provides the semantics (read versions,
 * read-your-writes, conflict ranges, versionstamps, limits, backoff); this module maps bytes,
 * errors and the transaction lifecycle, and keeps every key under a root prefix.
 *
 * The package is loaded only by the dynamic import in `openFdbKv`: its native addon needs
 * libfdb_c, and a static import would break every user who does not have it.
 */

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type * as Fdb from 'foundationdb';
import { utf8 } from './bytes.ts';
import { ErrorCode, KvError, errorCode, isRetryable } from './errors.ts';
import { runWithRetries } from './retry.ts';
import { DEFAULT_RETRY_LIMIT } from './transaction.ts';
import {
  LIMITS,
  VERSIONSTAMP_BYTES,
  type Bytes,
  type CommitResult,
  type KeyValue,
  type Kv,
  type KvReader,
  type KvTransaction,
  type RangeOptions,
  type RunOptions,
  type TransactionOptions,
} from './types.ts';

/** The newest API version node-foundationdb 2.x supports; needs libfdb_c 7.2 or newer. */
export const FDB_API_VERSION = 720;

/** Where keys live unless told otherwise: a prefix below 0xff keeps every port key out of FoundationDB's system keys. */
export const DEFAULT_ROOT_PREFIX: Uint8Array = utf8('mvdb/');

export interface FdbKvOptions {
  /** Every key is stored as rootPrefix ‖ key (1..1000 bytes, not starting with 0xff). */
  rootPrefix?: Uint8Array;
  /** How long `openFdbKv` waits for the cluster to answer before failing with 1031 (default 5000 ms). */
  connectTimeoutMs?: number;
}

/** The versionstamp operand carries a 4-byte offset, and FoundationDB checks the limit including it. */
const STAMP_OFFSET_BYTES = 4;
const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
/** FoundationDB error codes this module treats specially. */
const API_VERSION_NOT_SUPPORTED = 2203; // libfdb_c older than the API version
const NO_CLUSTER_FILE_FOUND = 1515;
/** The transaction was read-only, so it has no commit version or versionstamp. */
const NO_COMMIT_VERSION = 2021;

const INSTALL_HINT =
  'The fdb: store needs the FoundationDB client library (libfdb_c) and the npm package "foundationdb". ' +
  'Install the FoundationDB client package 7.3.x for your system ' +
  '(https://github.com/apple/foundationdb/releases, e.g. foundationdb-clients_7.3.63-1_amd64.deb; ' +
  'its major.minor must match the server\'s), then run `npm install foundationdb`. ' +
  'Point mvdb at a cluster with FDB_CLUSTER_FILE=/path/to/fdb.cluster or the URL fdb:/path/to/fdb.cluster.';

/**
 * Opens the FoundationDB database named by `clusterFile` (else FDB_CLUSTER_FILE, else
 * libfdb_c's default lookup) and checks that it answers.
 */
export async function openFdbKv(clusterFile?: string, options: FdbKvOptions = {}): Promise<Kv> {
  const rootPrefix = checkRootPrefix(options.rootPrefix ?? DEFAULT_ROOT_PREFIX);
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  if (!Number.isInteger(connectTimeoutMs) || connectTimeoutMs <= 0) {
    throw new KvError(ErrorCode.invalidOptionValue, `connectTimeoutMs must be a positive integer (got ${connectTimeoutMs})`);
  }

  const fdb = await loadClient();
  const file = clusterFile || process.env['FDB_CLUSTER_FILE'] || undefined;
  const path = file === undefined ? undefined : resolve(file);
  if (path !== undefined) checkClusterFile(path);

  let db: Fdb.Database;
  try {
    fdb.setAPIVersion(FDB_API_VERSION);
    db = fdb.open(path);
  } catch (err) {
    throw openError(fdb, err);
  }
  const kv = new FdbKv(fdb, db, rootPrefix, `fdb:${path ?? ''}`);
  try {
    await kv.ping(connectTimeoutMs);
  } catch (err) {
    await kv.close();
    if (errorCode(err) === ErrorCode.transactionTimedOut) {
      throw new KvError(
        ErrorCode.transactionTimedOut,
        `no answer from the FoundationDB cluster (${path ?? 'default cluster file'}) within ${connectTimeoutMs} ms: ` +
          'is the server running and its database configured? (docker compose up -d; README, "Running on FoundationDB")',
      );
    }
    throw err;
  }
  return kv;
}

type FdbModule = typeof Fdb;

async function loadClient(): Promise<FdbModule> {
  let loaded: FdbModule & { default?: FdbModule };
  try {
    loaded = await import('foundationdb');
  } catch (err) {
    throw new KvError(ErrorCode.clientNotInstalled, `${INSTALL_HINT} (loading it failed: ${firstLine(err)})`);
  }
  // A CommonJS package: its exports object is the namespace's default.
  return loaded.default ?? loaded;
}

function openError(fdb: FdbModule, err: unknown): KvError {
  if (err instanceof fdb.FDBError) {
    const hint =
      err.code === API_VERSION_NOT_SUPPORTED
        ? ` (API version ${FDB_API_VERSION} needs libfdb_c 7.2 or newer). ${INSTALL_HINT}`
        : err.code === NO_CLUSTER_FILE_FOUND
          ? ' (give one as fdb:<cluster file> or in FDB_CLUSTER_FILE)'
          : '';
    return new KvError(err.code, `opening FoundationDB failed: ${err.message}${hint}`);
  }
  return new KvError(ErrorCode.invalidStore, `opening FoundationDB failed: ${firstLine(err)}`);
}

function firstLine(err: unknown): string {
  return String(err instanceof Error ? err.message : err).split('\n')[0]!;
}

function checkClusterFile(path: string): void {
  if (!existsSync(path)) {
    throw new KvError(
      ErrorCode.invalidStore,
      `FoundationDB cluster file ${path} does not exist (give one as fdb:<cluster file> or in FDB_CLUSTER_FILE)`,
    );
  }
  // The addon copies the path into a 1024-byte buffer and would silently cut it short.
  if (Buffer.byteLength(path) >= 1024) {
    throw new KvError(ErrorCode.invalidStore, `FoundationDB cluster file path is too long (1023 bytes at most): ${path}`);
  }
}

function checkRootPrefix(prefix: Uint8Array): Buffer {
  if (!(prefix instanceof Uint8Array) || prefix.length < 1 || prefix.length > 1000 || prefix[0] === 0xff) {
    throw new KvError(
      ErrorCode.invalidOptionValue,
      'rootPrefix must be 1..1000 bytes not starting with 0xff (keys from 0xff on are FoundationDB system keys)',
    );
  }
  return Buffer.from(prefix);
}

class FdbKv implements Kv {
  readonly #fdb: FdbModule;
  readonly #db: Fdb.Database;
  readonly #root: Buffer;
  #closed = false;

  constructor(
    fdb: FdbModule,
    db: Fdb.Database,
    root: Buffer,
    readonly url: string,
  ) {
    this.#fdb = fdb;
    this.#db = db;
    this.#root = root;
  }

  createTransaction(options: TransactionOptions = {}): KvTransaction {
    if (this.#closed) throw new KvError(ErrorCode.storeClosed, `${this.url} is closed`);
    const tn = this.#db.rawCreateTransaction(nativeOptions(options));
    return new FdbTransaction(tn, this.#root, this.#fdb.FDBError);
  }

  run<T>(body: (tx: KvTransaction) => Promise<T>, options?: RunOptions): Promise<T> {
    return runWithRetries(this.createTransaction(options), body);
  }

  /** One read version, to learn whether the cluster answers at all. */
  async ping(timeoutMs: number): Promise<void> {
    const tn = this.#db.rawCreateTransaction({ timeout: timeoutMs });
    try {
      await tn.getReadVersion();
    } catch (err) {
      throw toKvError(err, this.#fdb.FDBError);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}

function nativeOptions(options: TransactionOptions): Fdb.TransactionOptions {
  const { timeoutMs = 0, retryLimit = DEFAULT_RETRY_LIMIT, sizeLimit = LIMITS.transactionBytes } = options;
  checkOption('timeoutMs', timeoutMs, 0, 2 ** 31 - 1, 'a whole number of milliseconds, 0 for none');
  checkOption('retryLimit', retryLimit, 0, 2 ** 31 - 1, 'a whole number of retries');
  checkOption('sizeLimit', sizeLimit, 32, LIMITS.transactionBytes, 'bytes between 32 and 10,000,000');
  // FoundationDB's own ranges; a timeout of 0 disables it there too.
  return { timeout: timeoutMs, retry_limit: retryLimit, size_limit: sizeLimit };
}

function checkOption(name: string, value: number, min: number, max: number, accepted: string): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new KvError(ErrorCode.invalidOptionValue, `${name} must be ${accepted}; got ${value}`);
  }
}

type FdbErrorClass = FdbModule['FDBError'];

/** FDBError -> KvError with the same code; anything else passes through. */
function toKvError(err: unknown, FDBError: FdbErrorClass): unknown {
  if (err instanceof FDBError) return new KvError(err.code, err.message);
  return err;
}

/** A Buffer view of caller bytes, without copying (the addon copies synchronously). */
function asBuffer(bytes: Bytes): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A plain Uint8Array view of addon output, like the other backends return. */
function asBytes(buf: Buffer, from = 0): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset + from, buf.byteLength - from);
}

/**
 * committing: commit() in flight. failed: commit() rejected; as on FoundationDB, only onError
 * (which resets) or cancel may follow.
 */
type State = 'open' | 'committing' | 'committed' | 'failed' | 'cancelled';

class FdbTransaction implements KvTransaction {
  readonly #tn: Fdb.Transaction;
  readonly #root: Buffer;
  readonly #FDBError: FdbErrorClass;
  /** The longest key the caller may use: FoundationDB's limit counts the root prefix too. */
  readonly #maxKey: number;
  #state: State = 'open';
  #size = 0;

  constructor(tn: Fdb.Transaction, root: Buffer, FDBError: FdbErrorClass) {
    this.#tn = tn;
    this.#root = root;
    this.#FDBError = FDBError;
    this.#maxKey = LIMITS.keyBytes - root.length;
  }

  // ---- reads

  async getReadVersion(): Promise<bigint> {
    this.#usable();
    const version = await this.#call(() => this.#tn.getReadVersion());
    return version.readBigInt64BE(0);
  }

  get(key: Bytes): Promise<Bytes | undefined> {
    return this.#get(this.#tn, key, false);
  }

  getRange(begin: Bytes, end: Bytes, options?: RangeOptions): Promise<KeyValue[]> {
    return this.#getRange(this.#tn, begin, end, options, false);
  }

  snapshot(): KvReader {
    const snap = this.#tn.snapshot();
    return {
      get: (key) => this.#get(snap, key, true),
      getRange: (begin, end, options) => this.#getRange(snap, begin, end, options, true),
    };
  }

  async #get(tn: Fdb.Transaction, key: Bytes, snapshot: boolean): Promise<Bytes | undefined> {
    this.#usable();
    checkBytes(key, 'get', 'key');
    // FoundationDB answers "absent" for a key longer than its limit, as no such key can exist.
    const value = await this.#call(() => tn.get(this.#key(key)));
    if (!snapshot) this.#size += 2 * (this.#root.length + key.length) + 1;
    return value === undefined ? undefined : asBytes(value);
  }

  async #getRange(
    tn: Fdb.Transaction,
    begin: Bytes,
    end: Bytes,
    options: RangeOptions = {},
    snapshot: boolean,
  ): Promise<KeyValue[]> {
    this.#usable();
    const limit = options.limit ?? 0;
    const reverse = options.reverse === true;
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new KvError(ErrorCode.rangeLimitsInvalid, `getRange: limit must be a whole number >= 0 (0 = none), got ${limit}`);
    }
    // FoundationDB returns nothing for an inverted range; the port calls it an error.
    if (!checkRange(begin, end, 'getRange')) return [];
    // Always an explicit end: without one the package treats `begin` as a prefix.
    const rows = await this.#call(() => tn.getRangeAll(this.#key(begin), this.#key(end), { limit, reverse }));
    const skip = this.#root.length;
    const out = rows.map(([k, v]): KeyValue => [asBytes(k, skip), asBytes(v)]);
    if (!snapshot) this.#size += this.#readConflictBytes(begin, end, out, limit, reverse);
    return out;
  }

  /** The read-conflict range FoundationDB records for a range read: a limit-trimmed read covers up to its last key. */
  #readConflictBytes(begin: Bytes, end: Bytes, rows: KeyValue[], limit: number, reverse: boolean): number {
    let span = begin.length + end.length;
    if (limit > 0 && rows.length === limit) {
      const last = rows[rows.length - 1]![0].length;
      span = reverse ? last + end.length : begin.length + last + 1;
    }
    return 2 * this.#root.length + span;
  }

  // ---- writes

  set(key: Bytes, value: Bytes): void {
    this.#usable();
    checkBytes(key, 'set', 'key');
    checkBytes(value, 'set', 'value');
    this.#checkKeyLength('set', key.length, 0);
    checkValueLength('set', value.length, 0);
    this.#tn.set(this.#key(key), asBuffer(value));
    const k = this.#root.length + key.length;
    this.#size += k + value.length + (2 * k + 1);
  }

  clear(key: Bytes): void {
    this.#usable();
    checkBytes(key, 'clear', 'key');
    // No key longer than the limit can exist: FoundationDB drops such a clear, and so do we.
    if (key.length > this.#maxKey) return;
    this.#tn.clear(this.#key(key));
    const k = this.#root.length + key.length;
    this.#size += 2 * (2 * k + 1);
  }

  clearRange(begin: Bytes, end: Bytes): void {
    this.#usable();
    if (!checkRange(begin, end, 'clearRange')) return;
    this.#tn.clearRange(this.#key(begin), this.#key(end));
    this.#size += 2 * (2 * this.#root.length + begin.length + end.length);
  }

  addReadConflictRange(begin: Bytes, end: Bytes): void {
    this.#usable();
    if (!checkRange(begin, end, 'addReadConflictRange')) return;
    this.#call(() => this.#tn.addReadConflictRange(this.#key(begin), this.#key(end)));
    this.#size += 2 * this.#root.length + begin.length + end.length;
  }

  addWriteConflictRange(begin: Bytes, end: Bytes): void {
    this.#usable();
    if (!checkRange(begin, end, 'addWriteConflictRange')) return;
    this.#call(() => this.#tn.addWriteConflictRange(this.#key(begin), this.#key(end)));
    this.#size += 2 * this.#root.length + begin.length + end.length;
  }

  setVersionstampedKey(prefix: Bytes, suffix: Bytes, value: Bytes): void {
    this.#usable();
    checkBytes(prefix, 'setVersionstampedKey', 'prefix');
    checkBytes(suffix, 'setVersionstampedKey', 'suffix');
    checkBytes(value, 'setVersionstampedKey', 'value');
    const keyLength = prefix.length + VERSIONSTAMP_BYTES + suffix.length;
    this.#checkKeyLength('setVersionstampedKey', keyLength, STAMP_OFFSET_BYTES);
    checkValueLength('setVersionstampedKey', value.length, 0);
    // Buffers, not views: the package copies them with Buffer#copy.
    this.#tn.setVersionstampedKeyBuf(this.#key(prefix), Buffer.from(suffix), asBuffer(value));
    // FoundationDB's client adds no conflict range here (the commit proxy adds the final key's).
    this.#size += this.#root.length + keyLength + STAMP_OFFSET_BYTES + value.length;
  }

  setVersionstampedValue(key: Bytes, prefix: Bytes, suffix: Bytes = new Uint8Array(0)): void {
    this.#usable();
    checkBytes(key, 'setVersionstampedValue', 'key');
    checkBytes(prefix, 'setVersionstampedValue', 'prefix');
    checkBytes(suffix, 'setVersionstampedValue', 'suffix');
    this.#checkKeyLength('setVersionstampedValue', key.length, 0);
    const valueLength = prefix.length + VERSIONSTAMP_BYTES + suffix.length;
    checkValueLength('setVersionstampedValue', valueLength, STAMP_OFFSET_BYTES);
    // The package's order: (key, bytes after the stamp, bytes before it).
    this.#tn.setVersionstampPrefixedValue(this.#key(key), Buffer.from(suffix), Buffer.from(prefix));
    const k = this.#root.length + key.length;
    this.#size += k + valueLength + STAMP_OFFSET_BYTES + (2 * k + 1);
  }

  /** An estimate: FoundationDB coalesces conflict ranges and counts the exact size at commit (2101). */
  getApproximateSize(): number {
    return this.#size;
  }

  // ---- lifecycle

  async commit(): Promise<CommitResult> {
    this.#usable();
    this.#state = 'committing';
    // Requested before the commit and awaited after it (awaiting first would deadlock). Whether
    // the transaction was read-only is FoundationDB's call: then the stamp fails with 2021.
    const stamp = this.#tn.getVersionstamp().promise;
    try {
      await this.#tn.rawCommit();
    } catch (err) {
      if (this.#state === 'committing') this.#state = 'failed';
      throw toKvError(err, this.#FDBError);
    }
    if (this.#state === 'committing') this.#state = 'committed';
    let versionstamp: Buffer;
    try {
      versionstamp = await stamp;
    } catch (err) {
      if (errorCode(err) === NO_COMMIT_VERSION) return {};
      throw toKvError(err, this.#FDBError);
    }
    return { versionstamp: asBytes(versionstamp), version: versionstamp.readBigUInt64BE(0) };
  }

  async onError(err: unknown): Promise<void> {
    const original = toKvError(err, this.#FDBError);
    if (this.#state === 'cancelled' || !isRetryable(err)) throw original;
    const code = errorCode(err)!;
    // libfdb_c backs off, counts the retry against retry_limit, keeps the timeout running and
    // resets the transaction; out of retries it rejects with the same code: rethrow the caller's error.
    try {
      await this.#tn.rawOnError(code);
    } catch (failure) {
      throw errorCode(failure) === code ? original : toKvError(failure, this.#FDBError);
    }
    this.#state = 'open';
    this.#size = 0;
  }

  cancel(): void {
    if (this.#state === 'committed' || this.#state === 'cancelled') return;
    this.#state = 'cancelled';
    this.#tn.rawCancel();
  }

  // ---- helpers

  #usable(): void {
    switch (this.#state) {
      case 'cancelled':
        throw new KvError(ErrorCode.transactionCancelled, 'this transaction was cancelled; create a new one');
      case 'committing':
        throw new KvError(ErrorCode.usedDuringCommit, 'this transaction is committing; wait for commit() to finish');
      case 'committed':
        throw new KvError(ErrorCode.usedDuringCommit, 'this transaction has committed; create a new one');
      case 'failed':
        throw new KvError(ErrorCode.usedDuringCommit, 'this transaction failed to commit; call onError(err) to retry it');
    }
  }

  #key(key: Bytes): Buffer {
    return Buffer.concat([this.#root, key]);
  }

  /** `extra`: bytes FoundationDB counts beyond the key itself (a versionstamped key's 4-byte offset). */
  #checkKeyLength(op: string, length: number, extra: number): void {
    if (length + extra <= this.#maxKey) return;
    throw new KvError(
      ErrorCode.keyTooLarge,
      `${op}: key is ${length} bytes; this store accepts keys up to ${this.#maxKey - extra} bytes ` +
        `(FoundationDB's ${LIMITS.keyBytes} less the ${this.#root.length}-byte root prefix` +
        (extra > 0 ? ` and the ${extra}-byte versionstamp offset)` : ')'),
    );
  }

  /** Runs an addon call, turning FDBError (thrown or rejected) into KvError. */
  #call<T>(fn: () => T): T {
    const FDBError = this.#FDBError;
    let result: T;
    try {
      result = fn();
    } catch (err) {
      throw toKvError(err, FDBError);
    }
    if (result instanceof Promise) {
      return result.catch((err: unknown) => {
        throw toKvError(err, FDBError);
      }) as T;
    }
    return result;
  }
}

function checkBytes(value: unknown, op: string, what: string): asserts value is Bytes {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${op}: ${what} must be a Uint8Array or Buffer`);
}

/** `extra`: bytes FoundationDB counts beyond the value itself (a versionstamped value's 4-byte offset). */
function checkValueLength(op: string, length: number, extra: number): void {
  if (length + extra <= LIMITS.valueBytes) return;
  throw new KvError(
    ErrorCode.valueTooLarge,
    `${op}: value is ${length} bytes; the limit is ${LIMITS.valueBytes - extra}` +
      (extra > 0 ? ` (FoundationDB's ${LIMITS.valueBytes} less the ${extra}-byte versionstamp offset)` : ''),
  );
}

/** Validates a [begin, end) range; false when it is empty (FoundationDB ignores those). */
function checkRange(begin: Bytes, end: Bytes, op: string): boolean {
  checkBytes(begin, op, 'begin');
  checkBytes(end, op, 'end');
  const order = Buffer.compare(begin, end);
  if (order > 0) {
    throw new KvError(ErrorCode.invertedRange, `${op}: begin is after end; ranges are [begin, end) with begin <= end`);
  }
  return order < 0;
}

/**
 * The FoundationDB-shaped transactional key-value port. Every backend (memory,
 * lmdb, fdb) implements exactly these semantics; nothing above `src/kv` knows
 * which backend it runs on. Keys and values are bytes; ranges are [begin, end).
 */

export type Bytes = Uint8Array;
export type KeyValue = [key: Bytes, value: Bytes];

export interface RangeOptions {
  /** At most this many pairs (0 or absent: no limit). */
  limit?: number;
  /** Newest key first. With a limit, the limit counts from the end of the range. */
  reverse?: boolean;
}

export interface TransactionOptions {
  /** Fail with 1031 (transaction_timed_out) once the transaction is this old. */
  timeoutMs?: number;
  /** `run` gives up after this many retries and rethrows the last error. Default 100. */
  retryLimit?: number;
  /** Maximum bytes of mutations and conflict ranges, as FoundationDB counts them (default 10,000,000). */
  sizeLimit?: number;
}

export interface CommitResult {
  /** 10 bytes: commit version (u64 BE) ‖ batch order (u16 BE). Absent for a read-only transaction. */
  versionstamp?: Bytes;
  /** The commit version; absent for a read-only transaction. */
  version?: bigint;
  /**
   * Embedded stores: the store's version just before this commit (nothing else committed in between),
   * so a caller that knew the store at that version knows it now without reading. Absent on FoundationDB.
   */
  previousVersion?: bigint;
}

/** Reads that add no read-conflict ranges but still see the transaction's own writes. */
export interface KvReader {
  get(key: Bytes): Promise<Bytes | undefined>;
  getRange(begin: Bytes, end: Bytes, options?: RangeOptions): Promise<KeyValue[]>;
}

/** What a transaction writes, and its conflict ranges: the same whether its reads are asynchronous or not. */
export interface KvWrites {
  set(key: Bytes, value: Bytes): void;
  clear(key: Bytes): void;
  clearRange(begin: Bytes, end: Bytes): void;

  addReadConflictRange(begin: Bytes, end: Bytes): void;
  addWriteConflictRange(begin: Bytes, end: Bytes): void;

  /** Sets key = prefix ‖ versionstamp(10) ‖ suffix at commit. The final key is a write conflict. */
  setVersionstampedKey(prefix: Bytes, suffix: Bytes, value: Bytes): void;
  /** Sets value = prefix ‖ versionstamp(10) ‖ suffix at commit. */
  setVersionstampedValue(key: Bytes, prefix: Bytes, suffix?: Bytes): void;

  /** Bytes of mutations and conflict ranges so far, as counted against `sizeLimit`. */
  getApproximateSize(): number;
  /** Any later use fails with 1025 (transaction_cancelled). */
  cancel(): void;
}

export interface KvTransaction extends KvReader, KvWrites {
  /** The version all reads see (taken on first use, then fixed). */
  getReadVersion(): Promise<bigint>;
  snapshot(): KvReader;
  /** Resolves once the commit is durable. Any use of the transaction afterwards fails with 2017. */
  commit(): Promise<CommitResult>;
  /**
   * For a retryable error: back off, reset the transaction for another attempt and resolve.
   * Otherwise (or past the retry limit) reject with the error.
   */
  onError(err: unknown): Promise<void>;
}

/** KvReader's synchronous twin: each read returns its answer. */
export interface KvReaderSync {
  get(key: Bytes): Bytes | undefined;
  getRange(begin: Bytes, end: Bytes, options?: RangeOptions): KeyValue[];
}

/**
 * A KvTransaction whose reads and commit complete before they return (embedded stores only), with the
 * same semantics, limits and errors, thrown instead of rejected. commit() blocks the thread until the
 * commit is durable; onError() backs off by blocking too.
 */
export interface KvTransactionSync extends KvReaderSync, KvWrites {
  getReadVersion(): bigint;
  snapshot(): KvReaderSync;
  commit(): CommitResult;
  onError(err: unknown): void;
}

export interface RunOptions extends TransactionOptions {}

export interface Kv {
  /** The URL this store was opened with, normalized (`memory:`, `lmdb:/abs/dir`, `fdb:<cluster file>`). */
  readonly url: string;
  createTransaction(options?: TransactionOptions): KvTransaction;
  /**
   * Optional (embedded stores only): a transaction that reads and commits synchronously. It may be
   * used alongside asynchronous transactions on the same store.
   */
  createTransactionSync?(options?: TransactionOptions): KvTransactionSync;
  /**
   * Runs `body` in a transaction and commits it, retrying retryable errors with backoff.
   * A maybe-committed error (1021) is retried too: bodies must be idempotent (check a key they write).
   */
  run<T>(body: (tx: KvTransaction) => Promise<T>, options?: RunOptions): Promise<T>;
  /**
   * Optional (embedded stores only): the read version a transaction created now would read at,
   * synchronously. It includes every commit, by any process, that finished before the call, and
   * changes whenever anything commits: an unchanged value means nothing was committed since.
   * Throws 2100-series errors as createTransaction does (e.g. on a closed store).
   */
  committedVersionSync?(): bigint;
  close(): Promise<void>;
}

/** Limits, as FoundationDB enforces them (the lmdb backend has a lower key limit: see its module). */
export const LIMITS = {
  keyBytes: 10_000,
  valueBytes: 100_000,
  transactionBytes: 10_000_000,
  /** A transaction older than this (in versions, ~1e6 per second) is too old: 1007. */
  maxTransactionLifeVersions: 5_000_000n,
} as const;

export const VERSIONSTAMP_BYTES = 10;

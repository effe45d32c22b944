/**
 * Local declarations for the subset of the optional `foundationdb@2.0.1` package that src/kv/fdb.ts
 * calls, so the project typechecks where the package (and libfdb_c) is not installed. Signatures
 * follow the package's dist/lib/{index,database,transaction,error}.d.ts, narrowed to Buffer keys
 * and values (we use the root subspace, whose key and value transformers are the identity).
 * Keep this file in step with fdb.ts: declare only what it calls.
 */
declare module 'foundationdb' {
  /** An error from libfdb_c; `code` is FoundationDB's numeric error code. */
  export class FDBError extends Error {
    constructor(description: string, code: number);
    code: number;
  }

  /** The per-transaction options fdb.ts sets (opts.g.d.ts `TransactionOptions`). */
  export interface TransactionOptions {
    /** Milliseconds; the transaction is cancelled with 1031 after this. Survives onError (API >= 610). */
    timeout?: number;
    /** onError rethrows once this many retries were made (-1: unlimited). */
    retry_limit?: number;
    /** Bytes, 32..10,000,000; commit fails with 2101 above it. */
    size_limit?: number;
  }

  export interface RangeOptions {
    /** 0: no limit. */
    limit?: number;
    reverse?: boolean;
  }

  export interface Transaction {
    /** A view sharing the native transaction whose reads add no read-conflict ranges. */
    snapshot(): Transaction;

    get(key: Buffer): Promise<Buffer | undefined>;
    /** [start, end); always pass `end` (without it `start` is treated as a prefix). */
    getRangeAll(start: Buffer, end: Buffer, opts?: RangeOptions): Promise<[Buffer, Buffer][]>;
    /** 8 bytes, big-endian. */
    getReadVersion(): Promise<Buffer>;

    set(key: Buffer, value: Buffer): void;
    clear(key: Buffer): void;
    clearRange(start: Buffer, end: Buffer): void;
    addReadConflictRange(start: Buffer, end: Buffer): void;
    addWriteConflictRange(start: Buffer, end: Buffer): void;

    /** key = prefix ‖ versionstamp(10) ‖ suffix, filled in at commit. Needs Buffers (it calls `.copy`). */
    setVersionstampedKeyBuf(prefix: Buffer | undefined, suffix: Buffer | undefined, value: Buffer): void;
    /** value = prefix ‖ versionstamp(10) ‖ value, filled in at commit. */
    setVersionstampPrefixedValue(key: Buffer, value?: Buffer, prefix?: Buffer): void;

    /** Request before rawCommit; the promise resolves (10 bytes) only after the commit succeeds. */
    getVersionstamp(): { promise: Promise<Buffer> };
    rawCommit(): Promise<void>;
    /** Backs off and resets the transaction for a retryable code; rejects with the error otherwise. */
    rawOnError(code: number): Promise<void>;
    rawCancel(): void;
  }

  export interface Database {
    rawCreateTransaction(opts?: TransactionOptions): Transaction;
    /** Destroys the native database; a second call throws. */
    close(): void;
  }

  /** Must precede open(); a second call with another version throws. */
  export function setAPIVersion(version: number, headerVersion?: number): void;
  /** Synchronous; starts the network thread on first use. Cluster file: argument, FDB_CLUSTER_FILE, default path. */
  export function open(clusterFile?: string): Database;
}

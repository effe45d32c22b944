/**
 * The lmdb backend: the durable embedded default. `LmdbStorage` is the store
 * side of the embedded port (storage.ts); the shared transaction logic
 * (embedded.ts) turns it into a `Kv` with FoundationDB's semantics.
 *
 * - A snapshot is a pinned LMDB read transaction; its version is the last
 *   commit version as recorded in that same snapshot.
 * - A commit is one exclusive LMDB write transaction, which serializes commits
 *   of every process sharing the directory and acts as FoundationDB's
 *   resolver: it checks the read-conflict ranges against the conflict log
 *   (lmdb-conflict-log.ts), assigns the next version, applies the mutations,
 *   logs the write ranges and prunes the log to the 5 s window.
 * - A commit resolves once it is on disk (fdatasync under the write lock; see
 *   lmdb-store.ts), so it survives kill -9 and, as far as the OS and disk
 *   honour fdatasync, power loss.
 *
 * Key size: the lmdb backend accepts keys of at most 4,025 bytes (LMDB's
 * 4,026-byte cap at the 8 KiB page size we create stores with, less the one
 * tag byte that lets the empty key be stored). Longer keys fail with 2102
 * key_too_large; FoundationDB's limit is 10,000 bytes. Keys are never
 * truncated.
 */

import { bytesEqual, compareBytes, concatBytes, keyAfter, readU64be, u64be, versionstamp } from './bytes.ts';
import { createEmbeddedKv } from './embedded.ts';
import { ErrorCode, KvError } from './errors.ts';
import { hasConflict, pruneBefore, recordWrites } from './lmdb-conflict-log.ts';
import { lmdbRange, storedKey, userKey } from './lmdb-keys.ts';
import { HORIZON_KEY, openLmdbStore, VERSION_KEY, type LmdbStore } from './lmdb-store.ts';
import type { CommitRequest, KeyRange, Mutation, Storage, StorageSnapshot } from './storage.ts';
import { LIMITS, VERSIONSTAMP_BYTES, type Bytes, type KeyValue, type Kv, type RangeOptions } from './types.ts';

/** Versions per millisecond: FoundationDB advances about 1e6 versions per second. */
const VERSIONS_PER_MS = 1000n;

export interface LmdbStorageOptions {
  /** Wall clock in ms, which commit versions follow (tests may pass a fake one). */
  now?: () => number;
}

type Transaction = ReturnType<LmdbStore['env']['useReadTransaction']>;

class LmdbSnapshot implements StorageSnapshot {
  #released = false;

  constructor(
    private readonly store: LmdbStore,
    private readonly txn: Transaction,
    readonly version: bigint,
    private readonly onRelease: (snapshot: LmdbSnapshot) => void,
  ) {}

  get(key: Bytes): Bytes | undefined {
    this.#checkLive();
    // No stored key is longer than the limit (and LMDB would reject the lookup).
    if (key.length > this.store.maxKeyBytes) return undefined;
    return this.store.data.get(storedKey(key), { transaction: this.txn });
  }

  getRange(begin: Bytes, end: Bytes, options: RangeOptions = {}): KeyValue[] {
    this.#checkLive();
    if (compareBytes(begin, end) >= 0) return [];
    const range = lmdbRange(begin, end, options.reverse === true, this.store.maxKeyBytes + 1);
    if (options.limit) range.limit = options.limit;
    range.transaction = this.txn;
    const out: KeyValue[] = [];
    for (const { key, value } of this.store.data.getRange(range)) out.push([userKey(key), value]);
    return out;
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.onRelease(this);
    this.txn.done();
  }

  #checkLive(): void {
    if (this.#released) throw new Error(`read from a released snapshot of ${this.store.path}`);
  }
}

export class LmdbStorage implements Storage {
  /** The open LMDB environment and databases (tests inspect the conflict log through it). */
  readonly store: LmdbStore;
  readonly path: string;
  /** Longest key this store accepts (see the module comment). */
  readonly maxKeyBytes: number;
  readonly #now: () => number;
  /** Snapshots not yet released: close() ends their LMDB readers before closing the environment. */
  readonly #live = new Set<LmdbSnapshot>();
  #closed = false;

  /** Opens or creates the store in `dir`; KvError 2130 (writing nothing) when `dir` is something else. */
  constructor(dir: string, options: LmdbStorageOptions = {}) {
    this.store = openLmdbStore(dir);
    this.path = this.store.path;
    this.maxKeyBytes = this.store.maxKeyBytes;
    this.#now = options.now ?? Date.now;
  }

  snapshot(): StorageSnapshot {
    this.#checkOpen();
    const { env, meta } = this.store;
    // lmdb-js shares one read transaction per event turn; reset it so the snapshot includes every commit
    // (of any process) that finished before this call. Unchanged stores still share one LMDB reader.
    env.resetReadTxn();
    const txn = env.useReadTransaction();
    let version: bigint;
    try {
      version = readU64be(meta.get(VERSION_KEY, { transaction: txn })!);
    } catch (err) {
      txn.done();
      throw err;
    }
    const snapshot = new LmdbSnapshot(this.store, txn, version, (s) => this.#live.delete(s));
    this.#live.add(snapshot);
    return snapshot;
  }

  latestVersion(): bigint {
    this.#checkOpen();
    const { env, meta } = this.store;
    // As in snapshot(): a fresh read, so commits other processes finished before this call are seen.
    env.resetReadTxn();
    return readU64be(meta.get(VERSION_KEY)!);
  }

  async commit(request: CommitRequest): Promise<{ version: bigint; batchOrder: number }> {
    this.#checkOpen();
    this.#checkKeySizes(request.mutations);
    const { env, meta, conflicts } = this.store;
    let applied = false;
    try {
      return env.transactionSync(() => {
        const last = readU64be(meta.get(VERSION_KEY)!);
        if (request.readConflicts.length > 0) {
          if (request.readVersion < readU64be(meta.get(HORIZON_KEY)!)) {
            throw new KvError(ErrorCode.transactionTooOld, 'read version is older than the 5 s conflict window');
          }
          if (hasConflict(conflicts, request.readVersion, request.readConflicts)) {
            throw new KvError(ErrorCode.notCommitted, 'a key this transaction read was written by a newer commit');
          }
        }
        const wallVersion = BigInt(Math.floor(this.#now())) * VERSIONS_PER_MS;
        const version = last + 1n > wallVersion ? last + 1n : wallVersion;
        const stamp = versionstamp(version, 0);
        const writes: KeyRange[] = [...request.writeConflicts];
        for (const mutation of request.mutations) {
          const stampedKey = this.#apply(mutation, stamp);
          if (stampedKey) writes.push({ begin: stampedKey, end: keyAfter(stampedKey) });
        }
        recordWrites(conflicts, version, writes);
        const horizon = pruneBefore(conflicts, version - LIMITS.maxTransactionLifeVersions);
        if (horizon !== undefined) meta.putSync(HORIZON_KEY, Buffer.from(u64be(horizon)));
        meta.putSync(VERSION_KEY, Buffer.from(u64be(version)));
        applied = true;
        return { version, batchOrder: 0 };
      });
    } catch (err) {
      // The body ran to the end, so LMDB's commit itself failed (e.g. an I/O error while syncing).
      if (applied) {
        throw new KvError(ErrorCode.commitUnknownResult, `commit to ${this.path} failed: ${(err as Error).message}`);
      }
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const snapshot of [...this.#live]) snapshot.release();
    await this.store.env.close();
  }

  /** Applies one mutation in the open write transaction; returns the final key of a versionstamped key. */
  #apply(mutation: Mutation, stamp: Uint8Array): Uint8Array | undefined {
    const { data } = this.store;
    switch (mutation.type) {
      case 'set':
        data.putSync(storedKey(mutation.key), mutation.value);
        return undefined;
      case 'clearRange':
        this.#clearRange(mutation.begin, mutation.end);
        return undefined;
      case 'setVersionstampedKey': {
        const key = concatBytes(mutation.prefix, stamp, mutation.suffix);
        data.putSync(storedKey(key), mutation.value);
        return key;
      }
      case 'setVersionstampedValue':
        data.putSync(storedKey(mutation.key), concatBytes(mutation.prefix, stamp, mutation.suffix));
        return undefined;
    }
  }

  #clearRange(begin: Bytes, end: Bytes): void {
    if (compareBytes(begin, end) >= 0) return;
    const { data } = this.store;
    if (bytesEqual(end, keyAfter(begin))) {
      // A single key, as clear(key) sends it.
      if (begin.length <= this.maxKeyBytes) data.removeSync(storedKey(begin));
      return;
    }
    const range = lmdbRange(begin, end, false, this.maxKeyBytes + 1);
    // Collect before deleting: a cursor must not walk keys that are being removed under it.
    for (;;) {
      const keys = [...data.getKeys({ ...range, limit: 1024 })];
      for (const key of keys) data.removeSync(key);
      if (keys.length < 1024) return;
    }
  }

  #checkKeySizes(mutations: readonly Mutation[]): void {
    for (const mutation of mutations) {
      let length: number;
      if (mutation.type === 'set' || mutation.type === 'setVersionstampedValue') length = mutation.key.length;
      else if (mutation.type === 'setVersionstampedKey') {
        length = mutation.prefix.length + VERSIONSTAMP_BYTES + mutation.suffix.length;
      } else continue;
      if (length > this.maxKeyBytes) {
        throw new KvError(
          ErrorCode.keyTooLarge,
          `key of ${length} bytes is longer than the lmdb backend's limit of ${this.maxKeyBytes} bytes`,
        );
      }
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new KvError(ErrorCode.storeClosed, `the lmdb store at ${this.path} was closed; open it again`);
  }
}

/**
 * The lmdb backend as a Kv: `lmdb:<absolute dir>`. Creates the store when `dir` is new or empty;
 * KvError 2130 when it holds anything else.
 */
export async function openLmdbKv(dir: string, options: LmdbStorageOptions = {}): Promise<Kv> {
  const storage = new LmdbStorage(dir, options);
  return createEmbeddedKv(storage, `lmdb:${storage.path}`, { maxKeyBytes: storage.maxKeyBytes, now: options.now });
}

/**
 * The lmdb backend: the durable embedded default. `LmdbStorage` is the store
 * side of the embedded port (storage.ts); the shared transaction logic
 * (embedded.ts) turns it into a `Kv` with FoundationDB's semantics.
 *
 * - A snapshot is a pinned LMDB read transaction; its version is the last
 *   commit version as recorded in that same snapshot.
 * - Commits run in exclusive LMDB write transactions, which serialize commits
 *   of every process sharing the directory and act as FoundationDB's
 *   resolver (storage.ts resolveCommit): each checks its read-conflict ranges
 *   against the conflict log (lmdb-conflict-log.ts), gets the next version,
 *   applies its mutations, logs its write ranges and prunes the log to the
 *   5 s window. Commits requested together share one transaction and one sync
 *   (group commit, see #flush), each in its own child transaction.
 * - commitSync (synchronous transactions) commits in a synchronous LMDB write
 *   transaction, together with this process's commits still queued; see there
 *   for how it meets the asynchronous group commit.
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

import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { bytesEqual, compareBytes, keyAfter, readU64be, u64be } from './bytes.ts';
import { createEmbeddedKv } from './embedded.ts';
import { ErrorCode, KvError } from './errors.ts';
import { hasConflict, pruneBefore, recordWrites } from './lmdb-conflict-log.ts';
import { lmdbRange, storedKey, userKey } from './lmdb-keys.ts';
import { HORIZON_KEY, openLmdbStore, VERSION_KEY, type LmdbStore } from './lmdb-store.ts';
import {
  resolveCommit,
  type CommitRequest,
  type Committed,
  type Mutation,
  type ResolverTarget,
  type Storage,
  type StorageSnapshot,
} from './storage.ts';
import { LIMITS, VERSIONSTAMP_BYTES, type Bytes, type KeyValue, type Kv, type RangeOptions } from './types.ts';

export interface LmdbStorageOptions {
  /** Wall clock in ms, which commit versions follow (tests may pass a fake one). */
  now?: () => number;
}

interface PendingCommit {
  request: CommitRequest;
  resolve: (result: Committed) => void;
  reject: (err: unknown) => void;
}

type Outcome = { committed: Committed } | { error: unknown };

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
  /** Commits waiting for the next group (see #flush). */
  readonly #queue: PendingCommit[] = [];
  /** Groups committed asynchronously whose sync has not finished. */
  readonly #syncing = new Set<Promise<unknown>>();
  #closed = false;

  /** This process's commits not yet durable: queued for the next group, and groups lmdb-js is committing. */
  get inFlight(): { queued: number; groups: number } {
    return { queued: this.#queue.length, groups: this.#syncing.size };
  }

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
    // Read before every statement: a fresh read (commits other processes finished before this call are
    // seen) through the probe's own reader, cheaper than renewing lmdb-js's shared one.
    return this.store.versionProbe.read();
  }

  async commit(request: CommitRequest): Promise<Committed> {
    this.#checkOpen();
    this.#checkKeySizes(request.mutations);
    return new Promise((resolve, reject) => {
      this.#queue.push({ request, resolve, reject });
      if (this.#queue.length === 1) setImmediate(() => this.#flush());
    });
  }

  /**
   * commit's synchronous twin: the same checks and errors, durable (synced) before it returns.
   *
   * Alongside this process's asynchronous commits: those still queued for the next group (#queue)
   * commit first, in the same LMDB write transaction (each in its own child transaction, one sync for
   * all), so a synchronous commit never overtakes one requested before it that is still here. A group
   * already handed to lmdb-js (#syncing) needs nothing from us: lmdb-js's transactionSync takes the
   * write lock its writer thread holds, so it waits until that group's transaction has committed, or,
   * while the writer is waiting for this thread to run the group's bodies (resolveCommit), it has the
   * writer commit what it has (none of our writes) and start over after ours: that group then lands
   * after this commit. Either way every commit takes its version and checks its conflicts against the
   * store inside its own write transaction, so versions increase and conflicts are found whichever
   * lands first.
   */
  commitSync(request: CommitRequest): Committed {
    this.#checkOpen();
    this.#checkKeySizes(request.mutations);
    let outcome: Outcome | undefined;
    const own: PendingCommit = {
      request,
      resolve: (committed) => (outcome = { committed }),
      reject: (error) => (outcome = { error }),
    };
    this.#commitNow([...this.#queue.splice(0), own]);
    if ('error' in outcome!) throw outcome.error;
    return outcome!.committed;
  }

  /**
   * Group commit. Commits requested in the same event-loop turn are resolved together: a lone one
   * in a synchronous LMDB write transaction (the lowest latency: no thread hand-offs), several, or
   * any while a group is still syncing, in one asynchronous LMDB transaction, each in its own child
   * transaction (its own version and conflict check, and a failure undoes only its writes), with
   * one durable sync for all of them on lmdb-js's writer thread while this thread goes on.
   */
  #flush(): void {
    const batch = this.#queue.splice(0);
    if (batch.length === 0) return;
    if (batch.length === 1 && this.#syncing.size === 0) {
      this.#commitNow(batch);
      return;
    }
    const done = batch.map(async (c) => {
      const attempt = this.#attempt(c.request);
      try {
        c.resolve(await this.store.env.childTransaction(attempt.run));
      } catch (err) {
        c.reject(attempt.failure(err));
      }
    });
    const group = Promise.all(done).finally(() => this.#syncing.delete(group));
    this.#syncing.add(group);
  }

  /**
   * Commits `batch` in one synchronous LMDB write transaction, blocking this thread until it is
   * synced: a lone commit directly, several each in a child transaction (its own version and conflict
   * check; a failure undoes only its writes) under one sync.
   */
  #commitNow(batch: readonly PendingCommit[]): void {
    const { env } = this.store;
    const attempts = batch.map((c) => this.#attempt(c.request));
    if (batch.length === 1) {
      try {
        batch[0]!.resolve(env.transactionSync(attempts[0]!.run));
      } catch (err) {
        batch[0]!.reject(attempts[0]!.failure(err));
      }
      return;
    }
    const outcomes: Outcome[] = [];
    try {
      env.transactionSync(() => {
        for (const attempt of attempts) {
          try {
            // Inside a write transaction, lmdb-js runs a nested transactionSync as a child transaction.
            outcomes.push({ committed: env.transactionSync(attempt.run) });
          } catch (error) {
            outcomes.push({ error });
          }
        }
      });
    } catch (err) {
      // The group's own commit failed: a body that failed already keeps its error, the others get theirs.
      batch.forEach((c, i) => {
        const outcome = outcomes[i];
        c.reject(outcome !== undefined && 'error' in outcome ? outcome.error : attempts[i]!.failure(err));
      });
      return;
    }
    batch.forEach((c, i) => {
      const outcome = outcomes[i]!;
      if ('error' in outcome) c.reject(outcome.error);
      else c.resolve(outcome.committed);
    });
  }

  /** One commit's body for a write transaction, and how to report its failure. */
  #attempt(request: CommitRequest): { run: () => Committed; failure: (err: unknown) => unknown } {
    let applied = false;
    return {
      run: () => {
        const committed = resolveCommit(request, this.#target, this.#now());
        applied = true;
        return committed;
      },
      // The body ran to the end, so LMDB's commit itself failed (e.g. an I/O error while syncing).
      failure: (err) =>
        applied ? new KvError(ErrorCode.commitUnknownResult, `commit to ${this.path} failed: ${(err as Error).message}`) : err,
    };
  }

  /** The resolver's view of the store inside an open write transaction. */
  readonly #target: ResolverTarget = {
    lastVersion: () => readU64be(this.store.meta.get(VERSION_KEY)!),
    horizon: () => readU64be(this.store.meta.get(HORIZON_KEY)!),
    writtenAfter: (readVersion, reads) => hasConflict(this.store.conflicts, readVersion, reads),
    set: (key, value) => {
      this.store.data.putSync(storedKey(key), value);
    },
    clearRange: (begin, end) => this.#clearRange(begin, end),
    finish: (version, writes) => {
      const { conflicts, meta } = this.store;
      recordWrites(conflicts, version, writes);
      const horizon = pruneBefore(conflicts, version - LIMITS.maxTransactionLifeVersions);
      if (horizon !== undefined) meta.putSync(HORIZON_KEY, Buffer.from(u64be(horizon)));
      meta.putSync(VERSION_KEY, Buffer.from(u64be(version)));
    },
  };

  async close(): Promise<void> {
    if (this.#closed) return;
    // Commits requested before close() still commit (or fail) first.
    if (this.#queue.length > 0) this.#flush();
    this.#closed = true;
    for (const snapshot of [...this.#live]) snapshot.release();
    this.store.versionProbe.close();
    await Promise.all(this.#syncing);
    await this.store.env.close();
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
  const storage = options.now === undefined ? sharedStorage(dir) : new LmdbStorage(dir, options);
  return createEmbeddedKv(storage, `lmdb:${storage.path}`, { maxKeyBytes: storage.maxKeyBytes, now: options.now });
}

/**
 * The LmdbStorage of each store directory open in this process (by real path), with how many Kvs use it.
 * Two storages on one directory would each run an lmdb-js writer on the one LMDB environment, and a
 * synchronous commit of one could wait for the write lock held by the other's group commit, which waits
 * for this (blocked) thread: the process would hang. So every Kv opened on a directory shares one.
 */
const openStorages = new Map<string, { storage: LmdbStorage; users: number }>();

function sharedStorage(dir: string): Storage & { path: string; maxKeyBytes: number } {
  const existing = openStorages.get(realDirectory(dir));
  const entry = existing ?? { storage: new LmdbStorage(dir), users: 0 };
  // Registered under the real path of the directory the storage opened (and created, if it was new).
  const key = realDirectory(entry.storage.path);
  if (existing === undefined) openStorages.set(key, entry);
  entry.users++;
  const { storage } = entry;
  let closed = false;
  return {
    path: storage.path,
    maxKeyBytes: storage.maxKeyBytes,
    snapshot: () => storage.snapshot(),
    latestVersion: () => storage.latestVersion(),
    commit: (request) => storage.commit(request),
    commitSync: (request) => storage.commitSync(request),
    close: async () => {
      if (closed) return;
      closed = true;
      if (--entry.users > 0) return;
      openStorages.delete(key);
      await storage.close();
    },
  };
}

/** The directory's real path (symlinks resolved), or its absolute path while it does not exist. */
function realDirectory(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return resolve(dir);
  }
}

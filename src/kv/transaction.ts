/**
 * The transactions of the embedded backends (memory, lmdb), over a `Storage`.
 *
 * `TransactionCore` is everything but waiting: a pinned read snapshot, the read-your-writes
 * overlay, read- and write-conflict ranges recorded exactly as FoundationDB records them, its
 * limits and errors, the commit request and onError's retry rules. Two thin faces add the waits:
 * `EmbeddedTransaction` (KvTransaction: reads resolve, commit awaits `Storage.commit`, onError
 * sleeps) and `EmbeddedTransactionSync` (KvTransactionSync: reads return, commit calls
 * `Storage.commitSync`, onError blocks; see BlockingBackoff). The store only checks conflicts
 * and applies.
 */

import { compareBytes, keyAfter, prefixEnd, toHex, versionstamp } from './bytes.ts';
import { rangeBytes, RangeList } from './conflict-ranges.ts';
import { ErrorCode, isRetryable, KvError } from './errors.ts';
import { Backoff, BlockingBackoff } from './retry.ts';
import type { CommitRequest, Committed, KeyRange, Storage, StorageSnapshot } from './storage.ts';
import type {
  Bytes,
  CommitResult,
  KeyValue,
  KvReader,
  KvReaderSync,
  KvTransaction,
  KvTransactionSync,
  KvWrites,
  RangeOptions,
  TransactionOptions,
} from './types.ts';
import { LIMITS } from './types.ts';
import { mutationBytes, WriteBuffer } from './write-buffer.ts';

export interface EmbeddedOptions {
  /** The store's own key limit when lower than FoundationDB's 10,000 bytes (lmdb: 1,978). */
  maxKeyBytes?: number;
  /** Wall clock in ms for the 5 s lifetime and timeouts (tests may pass a fake one). */
  now?: () => number;
}

/** FoundationDB's 5e6-version transaction lifetime, in wall-clock time (~1e6 versions per second). */
export const MAX_TRANSACTION_LIFE_MS = 5_000;
export const DEFAULT_RETRY_LIMIT = 100;

type State = 'open' | 'committing' | 'committed' | 'cancelled';

/**
 * What both faces share, answering synchronously: every check, the snapshot, the overlay and the
 * conflict ranges, the commit request and its result, the retry rules. A face only adds how it waits.
 */
abstract class TransactionCore<S extends Storage> implements KvWrites {
  protected readonly storage: S;
  readonly #maxKeyBytes: number;
  readonly #now: () => number;
  readonly #sizeLimit: number;
  readonly #retryLimit: number;
  /** Like FoundationDB's timeout option, measured from creation and not reset by onError. */
  readonly #deadline: number;
  #retries = 0;
  #state: State = 'open';

  #snapshot: StorageSnapshot | undefined;
  #readVersion: bigint | undefined;
  #readAt = 0;
  #expiry: NodeJS.Timeout | undefined;

  #writes = new WriteBuffer();
  #readConflicts = new RangeList();
  #writeConflicts = new RangeList();

  constructor(storage: S, options: TransactionOptions = {}, embedded: EmbeddedOptions = {}) {
    this.storage = storage;
    this.#now = embedded.now ?? Date.now;
    this.#maxKeyBytes = Math.min(embedded.maxKeyBytes ?? LIMITS.keyBytes, LIMITS.keyBytes);
    const { timeoutMs = 0, retryLimit = DEFAULT_RETRY_LIMIT, sizeLimit = LIMITS.transactionBytes } = options;
    checkOption('timeoutMs', timeoutMs, 0, 2 ** 31 - 1, 'a whole number of milliseconds, 0 for none');
    checkOption('retryLimit', retryLimit, 0, 2 ** 31 - 1, 'a whole number of retries');
    checkOption('sizeLimit', sizeLimit, 32, LIMITS.transactionBytes, 'bytes between 32 and 10,000,000');
    this.#retryLimit = retryLimit;
    this.#sizeLimit = sizeLimit;
    this.#deadline = timeoutMs > 0 ? this.#now() + timeoutMs : Infinity;
  }

  /** getReadVersion's answer. */
  protected readVersion(): bigint {
    this.#assertUsable();
    this.#pin();
    return this.#readVersion!;
  }

  set(key: Bytes, value: Bytes): void {
    this.#assertUsable();
    this.#checkWriteKey(key, 'set');
    checkValue(value, 'set');
    const k = key.slice();
    this.#writes.set(k, value.slice());
    this.#writeConflicts.add(k, keyAfter(k));
  }

  clear(key: Bytes): void {
    this.#assertUsable();
    checkBytes(key, 'clear', 'key');
    // No key longer than the limit can exist, so clearing one is a no-op (as on FoundationDB).
    if (key.length > this.#maxKeyBytes) return;
    const k = key.slice();
    const end = keyAfter(k);
    this.#writes.clearRange(k, end);
    this.#writeConflicts.add(k, end);
  }

  clearRange(begin: Bytes, end: Bytes): void {
    this.#assertUsable();
    if (!checkRange(begin, end, 'clearRange')) return;
    const b = begin.slice();
    const e = end.slice();
    this.#writes.clearRange(b, e);
    this.#writeConflicts.add(b, e);
  }

  addReadConflictRange(begin: Bytes, end: Bytes): void {
    this.#assertUsable();
    if (checkRange(begin, end, 'addReadConflictRange')) this.#readConflicts.add(begin.slice(), end.slice());
  }

  addWriteConflictRange(begin: Bytes, end: Bytes): void {
    this.#assertUsable();
    if (checkRange(begin, end, 'addWriteConflictRange')) this.#writeConflicts.add(begin.slice(), end.slice());
  }

  setVersionstampedKey(prefix: Bytes, suffix: Bytes, value: Bytes): void {
    this.#assertUsable();
    checkBytes(prefix, 'setVersionstampedKey', 'prefix');
    checkBytes(suffix, 'setVersionstampedKey', 'suffix');
    const keyLength = prefix.length + 10 + suffix.length;
    if (keyLength > this.#maxKeyBytes) throw this.#keyTooLarge('setVersionstampedKey', keyLength);
    checkValue(value, 'setVersionstampedKey');
    // The final key is a write conflict, added by the store once the stamp is known.
    const lowest = this.#readVersion === undefined ? new Uint8Array(10) : versionstamp(this.#readVersion + 1n, 0);
    this.#writes.setStampedKey(prefix.slice(), suffix.slice(), value.slice(), lowest);
  }

  setVersionstampedValue(key: Bytes, prefix: Bytes, suffix: Bytes = new Uint8Array(0)): void {
    this.#assertUsable();
    this.#checkWriteKey(key, 'setVersionstampedValue');
    checkBytes(prefix, 'setVersionstampedValue', 'prefix');
    checkBytes(suffix, 'setVersionstampedValue', 'suffix');
    const valueLength = prefix.length + 10 + suffix.length;
    if (valueLength > LIMITS.valueBytes) throw valueTooLarge('setVersionstampedValue', valueLength);
    const k = key.slice();
    this.#writes.setStampedValue(k, prefix.slice(), suffix.slice());
    this.#writeConflicts.add(k, keyAfter(k));
  }

  getApproximateSize(): number {
    return (
      mutationBytes(this.#writes.mutations(this.#clamp)) +
      rangeBytes(this.#readConflicts.ranges) +
      rangeBytes(this.#writeConflicts.ranges)
    );
  }

  /**
   * commit's first half: the request for the store, or undefined for a read-only transaction (then
   * committed already). Throws, leaving the transaction open, when a check fails.
   */
  protected beginCommit(): CommitRequest | undefined {
    this.#assertUsable();
    this.#state = 'committing';
    try {
      const mutations = this.#writes.mutations(this.#clamp);
      if (mutations.length === 0 && this.#writeConflicts.isEmpty) {
        // Read-only: nothing to resolve; it serializes at its read version (FoundationDB: committed version -1).
        this.#state = 'committed';
        this.#releaseSnapshot();
        return undefined;
      }
      const readConflicts = [...this.#readConflicts.ranges];
      if (readConflicts.length > 0 && this.#readVersion !== undefined && this.#age() > MAX_TRANSACTION_LIFE_MS) {
        throw tooOld();
      }
      const writeConflicts = [...this.#writeConflicts.ranges];
      const size = mutationBytes(mutations) + rangeBytes(readConflicts) + rangeBytes(writeConflicts);
      if (size > this.#sizeLimit) {
        throw new KvError(
          ErrorCode.transactionTooLarge,
          `transaction is ${size} bytes of mutations and conflict ranges; the limit is ${this.#sizeLimit}`,
        );
      }
      const readVersion = this.#readVersion ?? this.#currentVersion();
      return { readVersion, readConflicts, writeConflicts, mutations };
    } catch (err) {
      this.commitFailed();
      throw err;
    }
  }

  /** commit's second half, once the store committed the request. */
  protected commitDone({ version, batchOrder, previousVersion }: Committed): CommitResult {
    if (this.#state === 'committing') this.#state = 'committed';
    this.#releaseSnapshot();
    return { versionstamp: versionstamp(version, batchOrder), version, previousVersion };
  }

  /** The commit failed: the transaction is open again (for onError). */
  protected commitFailed(): void {
    if (this.#state === 'committing') this.#state = 'open';
  }

  /** onError's first half: rethrows `err` unless it may be retried, and counts the retry. */
  protected countRetry(err: unknown): void {
    if (this.#state === 'cancelled' || !isRetryable(err) || this.#retries >= this.#retryLimit) throw err;
    this.#retries++;
  }

  /** onError's second half, after the backoff: past the timeout it fails, else the transaction starts over. */
  protected restart(): void {
    if (this.#now() >= this.#deadline) throw this.#timedOut();
    this.#reset();
  }

  cancel(): void {
    if (this.#state === 'committed') return;
    this.#state = 'cancelled';
    this.#releaseSnapshot();
  }

  /** get, or a snapshot reader's get (which adds no read conflict). */
  protected readKey(key: Bytes, snapshot: boolean): Bytes | undefined {
    this.#assertUsable();
    checkBytes(key, 'get', 'key');
    const pending = this.#writes.lookup(key);
    if (pending === 'cleared') return undefined;
    if (pending?.kind === 'set') return pending.value.slice();
    if (pending?.kind === 'stampedValue' || this.#writes.isUnreadable(key, keyAfter(key))) {
      throw unreadable(key);
    }
    // No key longer than the limit can exist: nothing to read, nothing to conflict with.
    if (key.length > this.#maxKeyBytes) return undefined;
    const snap = this.#pin();
    if (!snapshot) this.#readConflicts.add(key.slice(), keyAfter(key));
    return snap.get(key);
  }

  /** getRange, or a snapshot reader's getRange (which adds no read conflict). */
  protected readRange(begin: Bytes, end: Bytes, options: RangeOptions = {}, snapshot: boolean): KeyValue[] {
    this.#assertUsable();
    const limit = options.limit ?? 0;
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new KvError(ErrorCode.rangeLimitsInvalid, `getRange: limit must be a whole number >= 0 (0 = none), got ${limit}`);
    }
    if (!checkRange(begin, end, 'getRange')) return [];
    const reverse = options.reverse === true;
    const snap = this.#pin();
    const rows = this.#writes.isEmpty
      ? this.#storedRange(snap, begin, end, limit, reverse)
      : this.#mergedRange(snap, begin, end, limit || Infinity, reverse);

    // The span this read depended on (FoundationDB: a limit-trimmed read covers up to its last key).
    let from = begin;
    let to = end;
    if (limit > 0 && rows.length === limit) {
      const lastKey = rows[rows.length - 1]![0];
      if (reverse) from = lastKey;
      else to = keyAfter(lastKey);
    }
    if (this.#writes.isUnreadable(from, to)) throw unreadable(from, to);
    if (!snapshot) {
      for (const part of this.#writes.storageParts(from, to)) this.#readConflicts.add(part.begin.slice(), part.end.slice());
    }
    return rows;
  }

  /** The store's rows when this transaction has written nothing: one store read, nothing to merge. */
  #storedRange(snap: StorageSnapshot, begin: Bytes, end: Bytes, limit: number, reverse: boolean): KeyValue[] {
    const range = this.#clamp(begin, end);
    if (range === undefined) return [];
    return snap.getRange(range.begin, range.end, limit > 0 ? { limit, reverse } : { reverse });
  }

  /** The store's rows overlaid with this transaction's writes, in order, up to `limit`. */
  #mergedRange(snap: StorageSnapshot, begin: Bytes, end: Bytes, limit: number, reverse: boolean): KeyValue[] {
    const out: KeyValue[] = [];
    const writes = this.#writes;
    const { lo, hi } = writes.pointsIn(begin, end);
    let p = reverse ? hi - 1 : lo;
    const stored = storageRows(snap, this.#clamp(begin, end), limit, reverse);
    // The next stored row, fetched only when needed (null: not fetched yet), so a read that
    // reaches its limit asks the store for no more rows than it returns.
    let row: KeyValue | undefined | null = null;
    // Forward: emit the smaller key first; reverse: the larger.
    const before = (a: Bytes, b: Bytes) => (reverse ? compareBytes(a, b) > 0 : compareBytes(a, b) < 0);
    while (out.length < limit) {
      const hasPoint = reverse ? p >= lo : p < hi;
      if (row === null) row = nextVisible(stored, writes);
      if (!hasPoint && row === undefined) break;
      if (hasPoint && (row === undefined || before(writes.point(p).key, row[0]))) {
        const { key, write } = writes.point(p);
        if (write.kind === 'stampedValue') throw unreadable(key);
        out.push([key.slice(), write.value.slice()]);
        p += reverse ? -1 : 1;
      } else {
        out.push(row!);
        row = null;
      }
    }
    return out;
  }

  /** Maps [begin, end) to the same set of storable keys with endpoints the store can hold. */
  readonly #clamp = (begin: Bytes, end: Bytes): KeyRange | undefined => clampRange(begin, end, this.#maxKeyBytes);

  #pin(): StorageSnapshot {
    if (this.#readVersion === undefined) {
      const snap = this.storage.snapshot();
      this.#snapshot = snap;
      this.#readVersion = snap.version;
      this.#readAt = this.#now();
      // A snapshot older than the lifetime can never be read again: free it even if the caller forgets us.
      this.#expiry = setTimeout(() => this.#releaseSnapshot(), MAX_TRANSACTION_LIFE_MS + 100);
      this.#expiry.unref();
      return snap;
    }
    if (this.#snapshot === undefined || this.#age() > MAX_TRANSACTION_LIFE_MS) throw tooOld();
    return this.#snapshot;
  }

  #age(): number {
    return this.#now() - this.#readAt;
  }

  #currentVersion(): bigint {
    const snap = this.storage.snapshot();
    try {
      return snap.version;
    } finally {
      snap.release();
    }
  }

  #releaseSnapshot(): void {
    clearTimeout(this.#expiry);
    this.#expiry = undefined;
    this.#snapshot?.release();
    this.#snapshot = undefined;
  }

  #reset(): void {
    this.#releaseSnapshot();
    this.#readVersion = undefined;
    this.#writes = new WriteBuffer();
    this.#readConflicts = new RangeList();
    this.#writeConflicts = new RangeList();
    this.#state = 'open';
  }

  #assertUsable(): void {
    switch (this.#state) {
      case 'cancelled':
        throw new KvError(ErrorCode.transactionCancelled, 'this transaction was cancelled; create a new one');
      case 'committing':
        throw new KvError(ErrorCode.usedDuringCommit, 'this transaction is committing; wait for commit() to finish');
      case 'committed':
        throw new KvError(ErrorCode.usedDuringCommit, 'this transaction has committed; create a new one');
    }
    if (this.#now() >= this.#deadline) throw this.#timedOut();
  }

  #timedOut(): KvError {
    this.#releaseSnapshot();
    return new KvError(ErrorCode.transactionTimedOut, 'transaction exceeded its timeoutMs');
  }

  #checkWriteKey(key: Bytes, op: string): void {
    checkBytes(key, op, 'key');
    if (key.length > this.#maxKeyBytes) throw this.#keyTooLarge(op, key.length);
  }

  #keyTooLarge(op: string, length: number): KvError {
    return new KvError(
      ErrorCode.keyTooLarge,
      `${op}: key is ${length} bytes; this store accepts keys up to ${this.#maxKeyBytes} bytes`,
    );
  }
}

/** The asynchronous face (KvTransaction): reads resolve, commit awaits the store, onError sleeps. */
export class EmbeddedTransaction extends TransactionCore<Storage> implements KvTransaction {
  readonly #backoff = new Backoff();
  #reader: KvReader | undefined;

  async getReadVersion(): Promise<bigint> {
    return this.readVersion();
  }

  async get(key: Bytes): Promise<Bytes | undefined> {
    return this.readKey(key, false);
  }

  async getRange(begin: Bytes, end: Bytes, options?: RangeOptions): Promise<KeyValue[]> {
    return this.readRange(begin, end, options, false);
  }

  snapshot(): KvReader {
    // One reader per transaction: engine reads ask for it on every call.
    this.#reader ??= {
      get: async (key) => this.readKey(key, true),
      getRange: async (begin, end, options) => this.readRange(begin, end, options, true),
    };
    return this.#reader;
  }

  async commit(): Promise<CommitResult> {
    const request = this.beginCommit();
    if (request === undefined) return {};
    let committed: Committed;
    try {
      committed = await this.storage.commit(request);
    } catch (err) {
      this.commitFailed();
      throw err;
    }
    return this.commitDone(committed);
  }

  async onError(err: unknown): Promise<void> {
    this.countRetry(err);
    await this.#backoff.wait();
    this.restart();
  }
}

/** A store that can also commit synchronously. */
export type SyncStorage = Storage & { commitSync(request: CommitRequest): Committed };

/** The synchronous face (KvTransactionSync): reads return, commit blocks until durable, onError blocks. */
export class EmbeddedTransactionSync extends TransactionCore<SyncStorage> implements KvTransactionSync {
  readonly #backoff = new BlockingBackoff();
  #reader: KvReaderSync | undefined;

  getReadVersion(): bigint {
    return this.readVersion();
  }

  get(key: Bytes): Bytes | undefined {
    return this.readKey(key, false);
  }

  getRange(begin: Bytes, end: Bytes, options?: RangeOptions): KeyValue[] {
    return this.readRange(begin, end, options, false);
  }

  snapshot(): KvReaderSync {
    this.#reader ??= {
      get: (key) => this.readKey(key, true),
      getRange: (begin, end, options) => this.readRange(begin, end, options, true),
    };
    return this.#reader;
  }

  commit(): CommitResult {
    const request = this.beginCommit();
    if (request === undefined) return {};
    let committed: Committed;
    try {
      committed = this.storage.commitSync(request);
    } catch (err) {
      this.commitFailed();
      throw err;
    }
    return this.commitDone(committed);
  }

  onError(err: unknown): void {
    this.countRetry(err);
    this.#backoff.wait();
    this.restart();
  }
}

/**
 * [begin, end) as a range with the same storable keys (none longer than maxKeyBytes) but
 * endpoints of at most maxKeyBytes bytes (maxKeyBytes + 1 for an end of only 0xff bytes),
 * or undefined when it holds no storable key. For t = the first maxKeyBytes bytes of a
 * longer endpoint, a storable key k satisfies k >= endpoint exactly when k >= prefixEnd(t).
 */
export function clampRange(begin: Bytes, end: Bytes, maxKeyBytes: number): KeyRange | undefined {
  let b = begin;
  let e = end;
  if (b.length > maxKeyBytes) {
    const t = b.subarray(0, maxKeyBytes);
    if (t.every((x) => x === 0xff)) return undefined;
    b = prefixEnd(t);
  }
  if (e.length > maxKeyBytes) {
    const t = e.subarray(0, maxKeyBytes);
    e = t.every((x) => x === 0xff) ? keyAfter(t) : prefixEnd(t);
  }
  return compareBytes(b, e) < 0 ? { begin: b, end: e } : undefined;
}

/** The store's rows of a range, read in growing batches so a limited read need not scan it all. */
function* storageRows(
  snap: StorageSnapshot,
  range: KeyRange | undefined,
  limit: number,
  reverse: boolean,
): Generator<KeyValue, void, undefined> {
  if (range === undefined) return;
  let { begin, end } = range;
  if (limit === Infinity) {
    yield* snap.getRange(begin, end, { reverse });
    return;
  }
  let batch = limit;
  for (;;) {
    const rows = snap.getRange(begin, end, { limit: batch, reverse });
    yield* rows;
    if (rows.length < batch) return;
    const last = rows[rows.length - 1]![0];
    if (reverse) end = last;
    else begin = keyAfter(last);
    batch = Math.min(batch * 2, 10_000);
  }
}

/** The next stored row not hidden by a pending write or clear. */
function nextVisible(rows: Iterator<KeyValue>, writes: WriteBuffer): KeyValue | undefined {
  for (;;) {
    const r = rows.next();
    if (r.done) return undefined;
    if (writes.lookup(r.value[0]) === undefined) return r.value;
  }
}

function checkBytes(value: unknown, op: string, what: string): asserts value is Bytes {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${op}: ${what} must be a Uint8Array or Buffer`);
}

function checkValue(value: Bytes, op: string): void {
  checkBytes(value, op, 'value');
  if (value.length > LIMITS.valueBytes) throw valueTooLarge(op, value.length);
}

/** Validates a [begin, end) range; false when it is empty (begin == end). */
function checkRange(begin: Bytes, end: Bytes, op: string): boolean {
  checkBytes(begin, op, 'begin');
  checkBytes(end, op, 'end');
  const order = compareBytes(begin, end);
  if (order > 0) {
    throw new KvError(
      ErrorCode.invertedRange,
      `${op}: begin ${short(begin)} is after end ${short(end)}; ranges are [begin, end) with begin <= end`,
    );
  }
  return order < 0;
}

function checkOption(name: string, value: number, min: number, max: number, accepted: string): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new KvError(ErrorCode.invalidOptionValue, `${name} must be ${accepted}; got ${value}`);
  }
}

function valueTooLarge(op: string, length: number): KvError {
  return new KvError(ErrorCode.valueTooLarge, `${op}: value is ${length} bytes; the limit is ${LIMITS.valueBytes}`);
}

function tooOld(): KvError {
  return new KvError(
    ErrorCode.transactionTooOld,
    `the transaction's read version is more than ${MAX_TRANSACTION_LIFE_MS / 1000} s old; retry with a fresh one (onError does)`,
  );
}

function unreadable(begin: Bytes, end?: Bytes): KvError {
  const where = end === undefined ? `key ${short(begin)}` : `range ${short(begin)}..${short(end)}`;
  return new KvError(
    ErrorCode.accessedUnreadable,
    `${where} holds a versionstamp this transaction wrote; it is unknown until commit`,
  );
}

function short(bytes: Bytes): string {
  const hex = toHex(bytes.subarray(0, 32));
  return bytes.length > 32 ? `0x${hex}... (${bytes.length} bytes)` : `0x${hex}`;
}


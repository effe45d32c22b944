/**
 * Fault injection: a Kv wrapper whose commits fail, at the given rates from a seeded
 * PRNG, the ways FoundationDB commits fail, so layers above can be tested against them:
 *
 *   notCommitted         1020 without committing
 *   tooOld               1007 without committing
 *   unknownCommitted     1021 after really committing (the retry must notice its own commit)
 *   unknownNotCommitted  1021 without committing
 *   timeout              1031 without committing (not retryable)
 *
 * Only commits that write are faulted: a read-only commit cannot fail on FoundationDB.
 * `injected` counts what was injected, per kind. Synchronous transactions (when the store has
 * them) get the same faults, drawn from the same sequence.
 */

import { ErrorCode, KvError } from './errors.ts';
import { runWithRetries } from './retry.ts';
import type {
  Bytes,
  CommitResult,
  KeyValue,
  Kv,
  KvReader,
  KvReaderSync,
  KvTransaction,
  KvTransactionSync,
  KvWrites,
  RangeOptions,
  TransactionOptions,
} from './types.ts';

export interface FaultOptions {
  seed: number;
  notCommitted?: number;
  tooOld?: number;
  unknownCommitted?: number;
  unknownNotCommitted?: number;
  timeout?: number;
}

export type FaultKind = Exclude<keyof FaultOptions, 'seed'>;
export type FaultCounts = Record<FaultKind, number>;

export interface FaultyKv extends Kv {
  /** How many faults of each kind were injected so far. */
  readonly injected: Readonly<FaultCounts>;
}

const KINDS: readonly FaultKind[] = ['notCommitted', 'tooOld', 'unknownCommitted', 'unknownNotCommitted', 'timeout'];

export function withFaults(kv: Kv, options: FaultOptions): FaultyKv {
  let total = 0;
  for (const kind of KINDS) {
    const p = options[kind] ?? 0;
    if (!(p >= 0 && p <= 1)) {
      throw new KvError(ErrorCode.invalidOptionValue, `withFaults: ${kind} must be a probability in [0, 1]; got ${p}`);
    }
    total += p;
  }
  if (total > 1) {
    throw new KvError(ErrorCode.invalidOptionValue, `withFaults: the fault probabilities add up to ${total}; at most 1`);
  }
  if (!Number.isInteger(options.seed)) {
    throw new KvError(ErrorCode.invalidOptionValue, `withFaults: seed must be an integer; got ${options.seed}`);
  }
  const random = mulberry32(options.seed);
  const injected: FaultCounts = { notCommitted: 0, tooOld: 0, unknownCommitted: 0, unknownNotCommitted: 0, timeout: 0 };

  /** The fault for this commit, if any: one draw, split by the rates in KINDS order. */
  const draw = (): FaultKind | undefined => {
    let r = random();
    for (const kind of KINDS) {
      const p = options[kind] ?? 0;
      if (r < p) return kind;
      r -= p;
    }
    return undefined;
  };

  const createTransaction = (txOptions?: TransactionOptions): KvTransaction =>
    new FaultyTransaction(kv.createTransaction(txOptions), draw, injected);
  const createInnerSync = kv.createTransactionSync?.bind(kv);

  return {
    get url() {
      return kv.url;
    },
    injected,
    createTransaction,
    ...(createInnerSync !== undefined
      ? {
          createTransactionSync: (txOptions?: TransactionOptions): KvTransactionSync =>
            new FaultyTransactionSync(createInnerSync(txOptions), draw, injected),
        }
      : {}),
    run: async (body, runOptions) => runWithRetries(createTransaction(runOptions), body),
    close: () => kv.close(),
  };
}

/** A faulty transaction's writes, passed through; only a transaction that writes has its commit faulted. */
abstract class FaultyWrites<T extends KvWrites> implements KvWrites {
  protected readonly inner: T;
  readonly #draw: () => FaultKind | undefined;
  readonly #injected: FaultCounts;
  #writes = false;

  constructor(inner: T, draw: () => FaultKind | undefined, injected: FaultCounts) {
    this.inner = inner;
    this.#draw = draw;
    this.#injected = injected;
  }

  set(key: Bytes, value: Bytes): void {
    this.inner.set(key, value);
    this.#writes = true;
  }
  clear(key: Bytes): void {
    this.inner.clear(key);
    this.#writes = true;
  }
  clearRange(begin: Bytes, end: Bytes): void {
    this.inner.clearRange(begin, end);
    this.#writes = true;
  }
  addReadConflictRange(begin: Bytes, end: Bytes): void {
    this.inner.addReadConflictRange(begin, end);
  }
  addWriteConflictRange(begin: Bytes, end: Bytes): void {
    this.inner.addWriteConflictRange(begin, end);
    this.#writes = true;
  }
  setVersionstampedKey(prefix: Bytes, suffix: Bytes, value: Bytes): void {
    this.inner.setVersionstampedKey(prefix, suffix, value);
    this.#writes = true;
  }
  setVersionstampedValue(key: Bytes, prefix: Bytes, suffix?: Bytes): void {
    this.inner.setVersionstampedValue(key, prefix, suffix);
    this.#writes = true;
  }
  getApproximateSize(): number {
    return this.inner.getApproximateSize();
  }
  cancel(): void {
    this.inner.cancel();
  }

  /** The fault to inject into this commit, if any. */
  protected drawFault(): FaultKind | undefined {
    return this.#writes ? this.#draw() : undefined;
  }

  /** Counts the injected fault and returns its error. */
  protected injectedError(fault: FaultKind): KvError {
    this.#injected[fault]++;
    return FAULT_ERRORS[fault]();
  }

  /** onError reset the inner transaction: nothing written yet. */
  protected restarted(): void {
    this.#writes = false;
  }
}

class FaultyTransaction extends FaultyWrites<KvTransaction> implements KvTransaction {
  getReadVersion(): Promise<bigint> {
    return this.inner.getReadVersion();
  }
  get(key: Bytes): Promise<Bytes | undefined> {
    return this.inner.get(key);
  }
  getRange(begin: Bytes, end: Bytes, options?: RangeOptions): Promise<KeyValue[]> {
    return this.inner.getRange(begin, end, options);
  }
  snapshot(): KvReader {
    return this.inner.snapshot();
  }

  async commit(): Promise<CommitResult> {
    const fault = this.drawFault();
    if (fault === undefined) return this.inner.commit();
    if (fault === 'unknownCommitted') await this.inner.commit();
    throw this.injectedError(fault);
  }

  async onError(err: unknown): Promise<void> {
    await this.inner.onError(err);
    this.restarted();
  }
}

class FaultyTransactionSync extends FaultyWrites<KvTransactionSync> implements KvTransactionSync {
  getReadVersion(): bigint {
    return this.inner.getReadVersion();
  }
  get(key: Bytes): Bytes | undefined {
    return this.inner.get(key);
  }
  getRange(begin: Bytes, end: Bytes, options?: RangeOptions): KeyValue[] {
    return this.inner.getRange(begin, end, options);
  }
  snapshot(): KvReaderSync {
    return this.inner.snapshot();
  }

  commit(): CommitResult {
    const fault = this.drawFault();
    if (fault === undefined) return this.inner.commit();
    if (fault === 'unknownCommitted') this.inner.commit();
    throw this.injectedError(fault);
  }

  onError(err: unknown): void {
    this.inner.onError(err);
    this.restarted();
  }
}

const FAULT_ERRORS: Record<FaultKind, () => KvError> = {
  notCommitted: () => new KvError(ErrorCode.notCommitted, 'injected fault: not committed'),
  tooOld: () => new KvError(ErrorCode.transactionTooOld, 'injected fault: transaction too old'),
  unknownCommitted: () => new KvError(ErrorCode.commitUnknownResult, 'injected fault: commit result unknown (it did commit)'),
  unknownNotCommitted: () =>
    new KvError(ErrorCode.commitUnknownResult, 'injected fault: commit result unknown (it did not commit)'),
  timeout: () => new KvError(ErrorCode.transactionTimedOut, 'injected fault: transaction timed out'),
};

/** A small seeded PRNG (mulberry32): the same seed gives the same faults. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Engine operations written once, run synchronously or asynchronously.
 *
 * An operation is a generator (`Steps`): it yields what it waits for (a kv promise, a new kv
 * transaction, several operations at once) and its runner sends the answer back. The embedded stores
 * also give transactions whose reads and commits return their answers (KvTransactionSync), so the
 * same operation can run to its end inside one call (runSync: wa-sqlite's sync build needs every VFS
 * call answered before it returns) or asynchronously on any store (runAsync). A synchronous
 * transaction's reads return values, not promises: `wait` passes them through without yielding.
 *
 * Inside an operation: `const tx = yield* transaction(kv)`, `const v = yield* wait(tx.get(key))`,
 * `const [a, b] = yield* all([stepsA, stepsB])` (concurrent when asynchronous, in order when not).
 *
 * On hot paths, write a step as a top-level `function*` and pass an arrow that calls it
 * (`readTransactionSteps(kv, (tx) => readIn(tx, db))`), not a `function*` expression created per call:
 * V8 gives each generator function closure its own prototype, so its generators never share a shape; a
 * per-call one made reads ~2x slower and the scavenger promote garbage (measured: engine readPages).
 */

import type { Kv, KvReader, KvReaderSync, KvTransaction, KvTransactionSync, TransactionOptions } from '../kv/types.ts';

export type AnyTransaction = KvTransaction | KvTransactionSync;
export type AnyReader = KvReader | KvReaderSync;

/** What an operation waits for. */
type Request =
  | { kind: 'promise'; promise: PromiseLike<unknown> }
  | { kind: 'transaction'; kv: Kv; options: TransactionOptions | undefined }
  | { kind: 'all'; steps: readonly Steps<unknown>[] };

/** An operation that returns T once its runner has answered every request. */
export type Steps<T> = Generator<Request, T, unknown>;

/** The value, or what the promise resolves to (its rejection is thrown into the operation). */
export function* wait<V>(value: V): Steps<Awaited<V>> {
  if (!isPromiseLike(value)) return value as Awaited<V>;
  return (yield { kind: 'promise', promise: value }) as Awaited<V>;
}

/** A new kv transaction: synchronous under runSync, asynchronous otherwise. */
export function* transaction(kv: Kv, options?: TransactionOptions): Steps<AnyTransaction> {
  return (yield { kind: 'transaction', kv, options }) as AnyTransaction;
}

/** Runs operations together (as Promise.all would) and returns their results in order. */
export function* all<const S extends readonly Steps<unknown>[]>(steps: S): Steps<{ -readonly [K in keyof S]: ResultOf<S[K]> }> {
  type Results = { -readonly [K in keyof S]: ResultOf<S[K]> };
  if (steps.length === 0) return [] as unknown as Results;
  return (yield { kind: 'all', steps }) as Results;
}

/** What an operation returns. */
export type ResultOf<S> = S extends Steps<infer T> ? T : never;

/** The store of a synchronous run has no synchronous transactions (FoundationDB). */
export class SyncUnavailableError extends Error {
  constructor(url: string) {
    super(`${url} cannot answer synchronously (only the embedded stores, memory: and lmdb:, can)`);
    this.name = 'SyncUnavailableError';
  }
}

type Mode = 'sync' | 'async';

/** Runs `steps` to the end before returning; every transaction is synchronous. */
export function runSync<T>(steps: Steps<T>): T {
  return drive(steps, 'sync') as T;
}

/** Runs `steps` with asynchronous transactions, on any store. */
export function runAsync<T>(steps: Steps<T>): Promise<T> {
  try {
    const result = drive(steps, 'async');
    return isPromiseLike(result) ? result : Promise.resolve(result);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Runs `steps` with asynchronous transactions, synchronously up to its first real wait: the value when
 * it needed none (an answer from memory), else a Promise of it. Errors before the first wait are thrown.
 */
export function runEager<T>(steps: Steps<T>): T | Promise<T> {
  return drive(steps, 'async');
}

const NEXT = 0;
const THROW = 1;
type Send = typeof NEXT | typeof THROW;

interface Run<T> {
  steps: Steps<T>;
  mode: Mode;
  /** What the operation waits for, when `advance` returned undefined. */
  pending: PromiseLike<unknown> | undefined;
  /** An asynchronous run's resumers (settle). */
  onValue?: (value: unknown) => void;
  onError?: (error: unknown) => void;
}

/** Runs `steps` until it ends, or until it waits for a promise: then one Promise of its value. */
function drive<T>(steps: Steps<T>, mode: Mode): T | Promise<T> {
  const run: Run<T> = { steps, mode, pending: undefined };
  const done = advance(run, NEXT, undefined);
  return done !== undefined ? done.value : settle(run);
}

/**
 * Sends `sent` into the operation (as its next value, or thrown) and answers its requests until it ends
 * (its result) or waits for a promise (undefined; the promise in run.pending). Its own throw propagates.
 */
function advance<T>(run: Run<T>, send: Send, sent: unknown): IteratorReturnResult<T> | undefined {
  for (;;) {
    const result = send === NEXT ? run.steps.next(sent) : run.steps.throw(sent);
    if (result.done) return result;
    try {
      sent = answerOf(result.value, run.mode);
      send = NEXT;
    } catch (error) {
      sent = error;
      send = THROW;
      continue;
    }
    if (isPromiseLike(sent)) {
      if (run.mode === 'sync') {
        // Nothing will wait for it: its rejection must not go unhandled (fatal in Node).
        sent.then(undefined, () => {});
        sent = new Error('internal error: a synchronous engine run waited for a promise');
        send = THROW;
        continue;
      }
      run.pending = sent;
      return undefined;
    }
  }
}

/** The rest of an asynchronous run, from its first wait: one Promise, resumed by each answer in turn. */
function settle<T>(run: Run<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    // Property assignments, not named consts: tsx (esbuild keepNames) would name every closure per run.
    run.onValue = (value: unknown) => resume(run, NEXT, value, resolve, reject);
    run.onError = (error: unknown) => resume(run, THROW, error, resolve, reject);
    run.pending!.then(run.onValue, run.onError);
  });
}

function resume<T>(run: Run<T>, send: Send, sent: unknown, resolve: (value: T) => void, reject: (error: unknown) => void): void {
  let done: IteratorReturnResult<T> | undefined;
  try {
    done = advance(run, send, sent);
  } catch (error) {
    reject(error);
    return;
  }
  if (done !== undefined) resolve(done.value);
  else run.pending!.then(run.onValue, run.onError);
}

function answerOf(request: Request, mode: Mode): unknown {
  switch (request.kind) {
    case 'promise':
      return request.promise;
    case 'transaction':
      if (mode === 'async') return request.kv.createTransaction(request.options);
      if (request.kv.createTransactionSync === undefined) throw new SyncUnavailableError(request.kv.url);
      return request.kv.createTransactionSync(request.options);
    case 'all': {
      if (mode === 'sync') return request.steps.map((s) => drive(s, mode));
      // As Promise.all over async functions: each runs up to its first wait; a throw there is a rejection.
      const results = request.steps.map((s) => {
        try {
          return drive(s, mode);
        } catch (error) {
          return Promise.reject(error);
        }
      });
      return results.some(isPromiseLike) ? Promise.all(results) : results;
    }
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

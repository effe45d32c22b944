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
export async function runAsync<T>(steps: Steps<T>): Promise<T> {
  return drive(steps, 'async');
}

/**
 * Runs `steps` with asynchronous transactions, synchronously up to its first real wait: the value when
 * it needed none (an answer from memory), else a Promise of it. Errors before the first wait are thrown.
 */
export function runEager<T>(steps: Steps<T>): T | Promise<T> {
  return drive(steps, 'async');
}

function drive<T>(steps: Steps<T>, mode: Mode, resume: () => IteratorResult<Request, T> = () => steps.next()): T | Promise<T> {
  for (;;) {
    const result = resume();
    if (result.done) return result.value;
    let answer: unknown;
    try {
      answer = answerOf(result.value, mode);
    } catch (error) {
      resume = () => steps.throw(error);
      continue;
    }
    if (isPromiseLike(answer)) {
      if (mode === 'sync') {
        resume = () => steps.throw(new Error('internal error: a synchronous engine run waited for a promise'));
        continue;
      }
      return Promise.resolve(answer).then(
        (value) => drive(steps, mode, () => steps.next(value)),
        (error: unknown) => drive(steps, mode, () => steps.throw(error)),
      );
    }
    resume = () => steps.next(answer);
  }
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

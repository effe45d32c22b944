/**
 * The engine's kv retry loops. Unlike `kv.run`, `writeTransaction` hands back the commit's versionstamp,
 * which is how the engine learns the version a commit got. Bodies are re-run after retryable errors,
 * including maybe-committed ones (1021), so every body checks whether an earlier attempt already landed.
 *
 * Written as steps (steps.ts): the same loop runs on synchronous or asynchronous kv transactions.
 * `writeTransaction` / `readTransaction` are the asynchronous forms for operations not written as steps.
 */

import { isMaybeCommitted } from '../kv/errors.ts';
import type { Kv, KvTransaction } from '../kv/types.ts';
import { runAsync, transaction, wait, type AnyTransaction, type Steps } from './steps.ts';

export interface Written<T> {
  value: T;
  /** Absent when the body wrote nothing. */
  versionstamp?: Uint8Array;
  /** The kv commit version and, on embedded stores, the store's version just before it (CommitResult). */
  kvVersion?: bigint;
  previousKvVersion?: bigint;
}

export interface Attempt {
  /** An earlier attempt failed with a maybe-committed error (1021): it may have landed. */
  maybeCommitted: boolean;
}

export function* writeTransactionSteps<T>(
  kv: Kv,
  body: (tx: AnyTransaction, attempt: Readonly<Attempt>) => Steps<T>,
): Steps<Written<T>> {
  const tx = yield* transaction(kv);
  const attempt: Attempt = { maybeCommitted: false };
  for (;;) {
    try {
      const value = yield* body(tx, attempt);
      const result = yield* wait(tx.commit());
      if (!result.versionstamp) return { value };
      return {
        value,
        versionstamp: result.versionstamp,
        ...(result.version !== undefined ? { kvVersion: result.version } : {}),
        ...(result.previousVersion !== undefined ? { previousKvVersion: result.previousVersion } : {}),
      };
    } catch (err) {
      if (isMaybeCommitted(err)) attempt.maybeCommitted = true;
      yield* retryOrCancel(tx, err);
    }
  }
}

/** A read-only transaction: never committed, released when done. */
export function* readTransactionSteps<T>(kv: Kv, body: (tx: AnyTransaction) => Steps<T>): Steps<T> {
  const tx = yield* transaction(kv);
  for (;;) {
    try {
      const value = yield* body(tx);
      tx.cancel();
      return value;
    } catch (err) {
      yield* retryOrCancel(tx, err);
    }
  }
}

/** After a failed attempt: `tx.onError` resets `tx` for another, or `tx` is cancelled (its snapshot freed) and the error rethrown. */
function* retryOrCancel(tx: AnyTransaction, err: unknown): Steps<void> {
  try {
    yield* wait(tx.onError(err));
  } catch (final) {
    tx.cancel();
    throw final;
  }
}

// Asynchronous forms: run by runAsync, so `tx` is always a KvTransaction.

export function writeTransaction<T>(
  kv: Kv,
  body: (tx: KvTransaction, attempt: Readonly<Attempt>) => Promise<T>,
): Promise<Written<T>> {
  return runAsync(writeTransactionSteps(kv, (tx, attempt) => wait(body(tx as KvTransaction, attempt))));
}

export function readTransaction<T>(kv: Kv, body: (tx: KvTransaction) => Promise<T>): Promise<T> {
  return runAsync(readTransactionSteps(kv, (tx) => wait(body(tx as KvTransaction))));
}

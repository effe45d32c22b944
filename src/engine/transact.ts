/**
 * The engine's kv retry loops. Unlike `kv.run`, `writeTransaction` hands back the commit's versionstamp,
 * which is how the engine learns the version a commit got. Bodies are re-run after retryable errors,
 * including maybe-committed ones (1021), so every body checks whether an earlier attempt already landed.
 */

import { isMaybeCommitted } from '../kv/errors.ts';
import { retryOrCancel } from '../kv/retry.ts';
import type { Kv, KvTransaction } from '../kv/types.ts';

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

export async function writeTransaction<T>(
  kv: Kv,
  body: (tx: KvTransaction, attempt: Readonly<Attempt>) => Promise<T>,
): Promise<Written<T>> {
  const tx = kv.createTransaction();
  const attempt: Attempt = { maybeCommitted: false };
  for (;;) {
    try {
      const value = await body(tx, attempt);
      const result = await tx.commit();
      if (!result.versionstamp) return { value };
      return {
        value,
        versionstamp: result.versionstamp,
        ...(result.version !== undefined ? { kvVersion: result.version } : {}),
        ...(result.previousVersion !== undefined ? { previousKvVersion: result.previousVersion } : {}),
      };
    } catch (err) {
      if (isMaybeCommitted(err)) attempt.maybeCommitted = true;
      await retryOrCancel(tx, err);
    }
  }
}

/** A read-only transaction: never committed, released when done. */
export async function readTransaction<T>(
  kv: Kv,
  body: (tx: KvTransaction) => Promise<T>,
): Promise<T> {
  const tx = kv.createTransaction();
  for (;;) {
    try {
      const value = await body(tx);
      tx.cancel();
      return value;
    } catch (err) {
      await retryOrCancel(tx, err);
    }
  }
}

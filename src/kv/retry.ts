/**
 * The retry loop shared by every backend.
 *
 *   runWithRetries(tx, body): runs `body(tx)`, commits, and on any error calls
 *   `await tx.onError(err)` and loops. The transaction's `onError` decides: it backs
 *   off and resets for a retryable error (counting retries against its retryLimit and
 *   honouring its timeout), or rethrows. So a backend only has to implement `onError`
 *   faithfully (the fdb backend maps it to FoundationDB's own onError) and can use
 *   this loop as is. On the final failure the transaction is cancelled, freeing its
 *   read snapshot.
 *
 * `Backoff` is the delay schedule of the embedded backends' onError: 10 ms, doubling,
 * capped at 1 s, each delay drawn uniformly from its upper half (jitter keeps
 * conflicting retriers apart).
 */

import { setTimeout as sleep } from 'node:timers/promises';
import type { KvTransaction } from './types.ts';

export async function runWithRetries<T>(tx: KvTransaction, body: (tx: KvTransaction) => Promise<T>): Promise<T> {
  for (;;) {
    try {
      const result = await body(tx);
      await tx.commit();
      return result;
    } catch (err) {
      await retryOrCancel(tx, err);
    }
  }
}

/** After a failed attempt: `tx.onError` resets `tx` for another, or `tx` is cancelled (its snapshot freed) and the error rethrown. */
export async function retryOrCancel(tx: KvTransaction, err: unknown): Promise<void> {
  try {
    await tx.onError(err);
  } catch (final) {
    tx.cancel();
    throw final;
  }
}

export const BACKOFF_INITIAL_MS = 10;
export const BACKOFF_MAX_MS = 1000;

export class Backoff {
  #next = BACKOFF_INITIAL_MS;

  /** Waits for the next delay of the schedule. */
  async wait(): Promise<void> {
    const ceiling = this.#next;
    this.#next = Math.min(ceiling * 2, BACKOFF_MAX_MS);
    await sleep(ceiling / 2 + (Math.random() * ceiling) / 2);
  }
}

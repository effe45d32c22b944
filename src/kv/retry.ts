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
 * conflicting retriers apart). `BlockingBackoff` is the synchronous transactions' version
 * (see there).
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
async function retryOrCancel(tx: KvTransaction, err: unknown): Promise<void> {
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
  readonly #maxMs: number;
  #next = BACKOFF_INITIAL_MS;

  constructor(maxMs = BACKOFF_MAX_MS) {
    this.#maxMs = maxMs;
  }

  /** The next delay of the schedule, in ms. */
  next(): number {
    const ceiling = this.#next;
    this.#next = Math.min(ceiling * 2, this.#maxMs);
    return ceiling / 2 + (Math.random() * ceiling) / 2;
  }

  /** Waits for the next delay of the schedule. */
  async wait(): Promise<void> {
    await sleep(this.next());
  }
}

/** Retries of a synchronous transaction that follow at once. */
export const BLOCKING_IMMEDIATE_RETRIES = 2;
export const BLOCKING_BACKOFF_MAX_MS = 50;

/**
 * The backoff of a synchronous transaction's onError, which blocks the thread. Nothing in this
 * thread can run between such a transaction's reads and its commit, so its conflict came from
 * another process (or an asynchronous transaction of this one) whose commit has already landed:
 * the first retries follow at once, as they will most likely succeed. Only repeated conflicts
 * (another process writing the same keys hard) back off, on Backoff's schedule but capped at
 * 50 ms rather than 1 s: while it sleeps the whole event loop stands still, which costs more than
 * a retry that may conflict again.
 */
export class BlockingBackoff {
  readonly #delays = new Backoff(BLOCKING_BACKOFF_MAX_MS);
  readonly #sleep: (ms: number) => void;
  #retries = 0;

  /** `sleep` blocks for that many ms (tests may record the delays instead). */
  constructor(sleep: (ms: number) => void = sleepSync) {
    this.#sleep = sleep;
  }

  /** Blocks for the next delay (none for the first BLOCKING_IMMEDIATE_RETRIES calls). */
  wait(): void {
    if (++this.#retries <= BLOCKING_IMMEDIATE_RETRIES) return;
    this.#sleep(this.#delays.next());
  }
}

/** A word nobody notifies: Atomics.wait on it just sleeps, without spinning. */
const sleeper = new Int32Array(new SharedArrayBuffer(4));

function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** One GC batch: a small kv transaction that deletes (or, in a dry run, only reads) and counts what it frees. */

import type { Kv, KvTransaction } from '../kv/types.ts';
import { readTransaction, writeTransaction } from './transact.ts';

export interface Freed {
  items: number;
  /** Key and value bytes. */
  bytes: number;
}

/**
 * Runs `body` read-only in a dry run, else in a write transaction. A retry after a maybe-committed attempt
 * (1021) sees that attempt's deletions already gone and would count nothing: the batch reports the most any
 * attempt planned to free (the others found the same keys or, after a landed attempt, fewer).
 */
export async function runBatch<T extends { freed: Freed }>(
  kv: Kv,
  dryRun: boolean,
  body: (tx: KvTransaction) => Promise<T>,
): Promise<T> {
  if (dryRun) return readTransaction(kv, body);
  let most: Freed = { items: 0, bytes: 0 };
  const { value } = await writeTransaction(kv, async (tx) => {
    const result = await body(tx);
    if (result.freed.items > most.items) most = result.freed;
    return result;
  });
  return { ...value, freed: most };
}

/**
 * GC step 2: drop superseded page versions. A page-index entry goes only when a newer entry of the same
 * page is still at or below the watermark: the newest entry at or below it always stays, so a read at any
 * version at or above the watermark finds exactly what it found before. Entries at or below the watermark
 * never change except by GC, so each batch decides from a snapshot read and deletes in the same small kv
 * transaction; an interrupted pass leaves a consistent index and the next one finishes the job.
 *
 * The pass also collects the hashes of every entry it keeps: the content still referenced (step 3).
 */

import { keyAfter, toHex } from '../kv/bytes.ts';
import type { Bytes, KeyValue } from '../kv/types.ts';
import type { DatabaseRef } from './databases.ts';
import { pageIndexRange, pageOfKey, versionSuffix } from './keys.ts';
import { runBatch, type Freed } from './gc-batch.ts';
import { readTransaction } from './transact.ts';
import { versionFromBytes, type Version } from './version.ts';

/** Index entries per kv transaction (~60 bytes each: well under FoundationDB's limits). */
const PAGE_SCAN_BATCH = 5000;

/**
 * Deletes (unless `dryRun`) the superseded entries and says how many (and their bytes) it deleted or, in a
 * dry run, would delete; adds the hash (hex) of every kept entry to `referenced`.
 * `onProgress` gets the fraction of the page-number space scanned.
 */
export async function dropSupersededPages(
  db: DatabaseRef,
  watermark: Version,
  options: { dryRun: boolean; referenced: Set<string>; onProgress?: (fraction: number) => void },
): Promise<Freed> {
  const range = pageIndexRange(db.prefix);
  const lastPage = await highestPage(db);
  const freed: Freed = { items: 0, bytes: 0 };
  let begin = range.begin;
  for (;;) {
    const { rows, plan, freed: batch } = await runBatch(db.kv, options.dryRun, async (tx) => {
      const rows = await tx.snapshot().getRange(begin, range.end, { limit: PAGE_SCAN_BATCH });
      const plan = planBatch(db, rows, watermark, rows.length === PAGE_SCAN_BATCH);
      const freed: Freed = { items: 0, bytes: 0 };
      for (const index of plan.drop) {
        const [key, hash] = rows[index]!;
        freed.items++;
        freed.bytes += key.length + hash.length;
        if (!options.dryRun) tx.clear(key);
      }
      return { rows, plan, freed };
    });
    freed.items += batch.items;
    freed.bytes += batch.bytes;
    // What stays is still referenced; a row carried into the next batch is decided there.
    const dropped = new Set(plan.drop);
    const decided = plan.carry ? rows.length - 1 : rows.length;
    for (let i = 0; i < decided; i++) if (!dropped.has(i)) options.referenced.add(toHex(rows[i]![1]));
    if (plan.next === undefined) break;
    begin = plan.next;
    options.onProgress?.(lastPage === 0 ? 1 : Math.min(1, pageOfKey(db.prefix, begin) / lastPage));
  }
  options.onProgress?.(1);
  return freed;
}

/**
 * Which rows of a batch (sorted by page, then version) to drop, and where the next batch starts. Within a
 * page's run of entries at or below the watermark, all but the last are superseded. When the batch was cut
 * off, its last row may be superseded by rows of the next batch: the next batch starts at it again (a
 * batch always ends past its first row, so the scan moves on).
 */
function planBatch(
  db: DatabaseRef,
  rows: KeyValue[],
  watermark: Version,
  full: boolean,
): { drop: number[]; next?: Bytes; carry: boolean } {
  const drop: number[] = [];
  for (let i = 0; i + 1 < rows.length; i++) {
    const [key] = rows[i]!;
    const [nextKey] = rows[i + 1]!;
    if (
      pageOfKey(db.prefix, key) === pageOfKey(db.prefix, nextKey) &&
      versionFromBytes(versionSuffix(nextKey)) <= watermark
    ) {
      drop.push(i);
    }
  }
  if (!full) return { drop, carry: false };
  const [lastKey] = rows[rows.length - 1]!;
  const carry = rows.length > 1 && versionFromBytes(versionSuffix(lastKey)) <= watermark;
  return { drop, next: carry ? lastKey : keyAfter(lastKey), carry };
}

/** The highest page number in the index (for progress), 0 when there is none. */
async function highestPage(db: DatabaseRef): Promise<number> {
  const range = pageIndexRange(db.prefix);
  const [last] = await readTransaction(db.kv, (tx) => tx.snapshot().getRange(range.begin, range.end, { limit: 1, reverse: true }));
  return last === undefined ? 0 : pageOfKey(db.prefix, last[0]);
}

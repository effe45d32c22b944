/**
 * GC step 4: trim the history records below the watermark: changelog entries (the commit log and cache
 * invalidation; `changes` from below the watermark already answers 'all'; they also carry the idempotency
 * keys, and a retry of a commit that old fails on its snapshot anyway), time-index entries, and the
 * idempotency records that commits wrote before the changelog carried their keys.
 */

import { keyAfter, prefixEnd } from '../kv/bytes.ts';
import type { Bytes, KeyValue } from '../kv/types.ts';
import type { DatabaseRef } from './databases.ts';
import { changelogKey, changelogPrefix, idempotencyRange, timePrefix, versionSuffix } from './keys.ts';
import { runBatch, type Freed } from './gc-batch.ts';
import { versionFromBytes, versionToBytes, type Version } from './version.ts';

const TRIM_BATCH = 5000;

/** Returns the commits whose changelog entries were deleted (or would be), and the bytes of every record. */
export async function trimHistory(db: DatabaseRef, watermark: Version, dryRun: boolean): Promise<Freed> {
  const below = (key: Bytes) => versionFromBytes(versionSuffix(key)) < watermark;
  // Changelog and time index are in version order (the time index nearly so): stop at the watermark.
  const changelog = await trimRange(db, changelogPrefix(db.prefix), changelogKey(db.prefix, versionToBytes(watermark)), dryRun, () => 'drop');
  const time = await trimRange(db, timePrefix(db.prefix), prefixEnd(timePrefix(db.prefix)), dryRun, ([key]) => (below(key) ? 'drop' : 'stop'));
  // Idempotency records (only in stores written before changelog format 2) are keyed by a random key: look at every one.
  const ids = idempotencyRange(db.prefix);
  const idempotency = await trimRange(db, ids.begin, ids.end, dryRun, ([, value]) =>
    versionFromBytes(value.subarray(0, 10)) < watermark ? 'drop' : 'keep',
  );
  return { items: changelog.items, bytes: changelog.bytes + time.bytes + idempotency.bytes };
}

/** Deletes the rows of [begin, end) that `decide` drops, up to the first it stops at, in small batches. */
async function trimRange(
  db: DatabaseRef,
  begin: Bytes,
  end: Bytes,
  dryRun: boolean,
  decide: (row: KeyValue) => 'drop' | 'keep' | 'stop',
): Promise<Freed> {
  const total: Freed = { items: 0, bytes: 0 };
  for (;;) {
    const batch = await runBatch(db.kv, dryRun, async (tx) => {
      const rows = await tx.snapshot().getRange(begin, end, { limit: TRIM_BATCH });
      const freed: Freed = { items: 0, bytes: 0 };
      let stopped = false;
      for (const row of rows) {
        const decision = decide(row);
        if (decision === 'stop') {
          stopped = true;
          break;
        }
        if (decision === 'keep') continue;
        freed.items++;
        freed.bytes += row[0].length + row[1].length;
        if (!dryRun) tx.clear(row[0]);
      }
      return { rows, stopped, freed };
    });
    total.items += batch.freed.items;
    total.bytes += batch.freed.bytes;
    if (batch.stopped || batch.rows.length < TRIM_BATCH) return total;
    begin = keyAfter(batch.rows[batch.rows.length - 1]![0]);
  }
}

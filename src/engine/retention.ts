/** The retention window: how long history stays readable before GC may drop it. */

import type { DatabaseRef } from './databases.ts';
import { DatabaseNotFoundError } from './errors.ts';
import { metadataKey } from './keys.ts';
import { decodeMetadata, encodeMetadata, validateRetention } from './metadata.ts';
import { writeTransaction } from './transact.ts';

/**
 * Sets the retention window (ms). A longer window keeps more from now on; it cannot bring back what GC
 * already dropped (the watermark only moves forward).
 */
export async function setRetention(db: DatabaseRef, retentionMs: number): Promise<void> {
  validateRetention(retentionMs);
  await writeTransaction(db.kv, async (tx) => {
    const stored = await tx.get(metadataKey(db.prefix));
    if (stored === undefined) throw new DatabaseNotFoundError(db.name);
    tx.set(metadataKey(db.prefix), encodeMetadata({ ...decodeMetadata(stored), retentionMs }));
  });
}

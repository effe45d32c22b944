/**
 * GC step 1: move the watermark. Versions below it are no longer readable. It moves to the newest commit
 * at or before now - retention, never past a tag or a fork's base, and never back.
 */

import type { KvTransaction } from '../kv/types.ts';
import { readWatermark, type DatabaseRef } from './databases.ts';
import { DatabaseNotFoundError } from './errors.ts';
import { readForks } from './forks.ts';
import { metadataKey, timeKeyPrefix, timePrefix, versionSuffix, watermarkKey } from './keys.ts';
import { decodeMetadata } from './metadata.ts';
import { readTags } from './tags.ts';
import { readTransaction, writeTransaction } from './transact.ts';
import { versionFromBytes, versionToBytes, type Version } from './version.ts';

/** What keeps the watermark from moving further. */
export interface Pin {
  kind: 'tag' | 'fork';
  name: string;
  version: Version;
}

export interface WatermarkMove {
  from: Version;
  /** The new watermark (== from when it does not move). */
  to: Version;
  /** Set when a tag or a fork held the watermark below where retention alone would put it. */
  heldBy?: Pin;
}

/**
 * Computes (and unless `dryRun`, writes) the new watermark. One kv transaction that reads the watermark,
 * the tags and the forks with conflicts: a tag or fork created meanwhile (each checks the watermark with a
 * conflict too) makes one of the two retry, so a pinned version is never passed.
 */
export async function advanceWatermark(db: DatabaseRef, now: number, dryRun: boolean): Promise<WatermarkMove> {
  if (dryRun) return readTransaction(db.kv, (tx) => planMove(tx, db, now));
  // After a maybe-committed attempt the watermark may already be ours: report where it started.
  let from: Version | undefined;
  const { value } = await writeTransaction(db.kv, async (tx) => {
    const move = await planMove(tx, db, now);
    from ??= move.from;
    if (move.to > move.from) tx.set(watermarkKey(db.prefix), versionToBytes(move.to));
    return { ...move, from };
  });
  return value;
}

async function planMove(tx: KvTransaction, db: DatabaseRef, now: number): Promise<WatermarkMove> {
  const [from, stored, tags, forks] = await Promise.all([
    readWatermark(tx, db),
    tx.snapshot().get(metadataKey(db.prefix)),
    readTags(tx, db),
    readForks(tx, db),
  ]);
  if (stored === undefined) throw new DatabaseNotFoundError(db.name);
  // Retention alone: the newest commit at or before the cutoff (the state at the cutoff stays readable).
  const cutoff = now - decodeMetadata(stored).retentionMs;
  const [newest] =
    cutoff < 0 ? [] : await tx.snapshot().getRange(timePrefix(db.prefix), timeKeyPrefix(db.prefix, cutoff + 1), { limit: 1, reverse: true });
  const byRetention = newest === undefined ? from : versionFromBytes(versionSuffix(newest[0]));
  const pins: Pin[] = [
    ...tags.map((t): Pin => ({ kind: 'tag', name: t.name, version: t.version })),
    ...forks.map((f): Pin => ({ kind: 'fork', name: f.name, version: f.base })),
  ];
  const lowest = pins.reduce<Pin | undefined>((low, pin) => (low === undefined || pin.version < low.version ? pin : low), undefined);
  const held = lowest !== undefined && lowest.version < byRetention && byRetention > from;
  const target = held ? lowest.version : byRetention;
  return { from, to: target > from ? target : from, ...(held ? { heldBy: lowest } : {}) };
}

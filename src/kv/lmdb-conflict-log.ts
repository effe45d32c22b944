/**
 * The lmdb backend's resolver state: commit version -> the write-conflict
 * ranges of that commit, kept in its own LMDB database so that every process
 * sharing the directory checks against the same log. All functions here run
 * inside the exclusive LMDB write transaction of a commit.
 */

import type { Database } from 'lmdb';
import { readU64be, u64be } from './bytes.ts';
import { rangeListsIntersect } from './conflict-ranges.ts';
import type { KeyRange } from './storage.ts';

export type ConflictLogDb = Database<Buffer, Buffer>;

/** Ranges as a byte string: per range, u32 BE length + begin, u32 BE length + end. */
function encodeRanges(ranges: readonly KeyRange[]): Buffer {
  let size = 0;
  for (const r of ranges) size += 8 + r.begin.length + r.end.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const r of ranges) {
    for (const key of [r.begin, r.end]) {
      out.writeUInt32BE(key.length, at);
      out.set(key, at + 4);
      at += 4 + key.length;
    }
  }
  return out;
}

function decodeRanges(encoded: Buffer): KeyRange[] {
  const out: KeyRange[] = [];
  let at = 0;
  const next = (): Buffer => {
    const length = encoded.readUInt32BE(at);
    const key = encoded.subarray(at + 4, at + 4 + length);
    at += 4 + length;
    return key;
  };
  while (at < encoded.length) {
    const begin = next();
    out.push({ begin, end: next() });
  }
  return out;
}

/** Whether any commit newer than `readVersion` wrote into one of `reads` (sorted and merged). */
export function hasConflict(db: ConflictLogDb, readVersion: bigint, reads: readonly KeyRange[]): boolean {
  if (reads.length === 0) return false;
  for (const { value } of db.getRange({ start: Buffer.from(u64be(readVersion + 1n)) })) {
    if (rangeListsIntersect(reads, decodeRanges(value))) return true;
  }
  return false;
}

/** Logs a commit's write ranges, which must be sorted and merged (as hasConflict expects them). */
export function recordWrites(db: ConflictLogDb, version: bigint, writes: readonly KeyRange[]): void {
  if (writes.length > 0) db.putSync(Buffer.from(u64be(version)), encodeRanges(writes));
}

/**
 * Versions an entry may outlive the window before it is pruned: pruning in batches (about once per
 * second of commits) instead of on every commit spares most commits a rewrite of the log's first
 * page. Keeping entries longer only makes 1007 rarer; the 5 s lifetime is enforced per transaction.
 */
export const PRUNE_SLACK_VERSIONS = 1_000_000n;

/**
 * Drops the entries of commits older than `version` once the oldest is more than PRUNE_SLACK_VERSIONS
 * older than that; returns the newest dropped version, if any.
 */
export function pruneBefore(db: ConflictLogDb, version: bigint): bigint | undefined {
  if (version <= PRUNE_SLACK_VERSIONS) return undefined;
  const [oldest] = db.getKeys({ end: Buffer.from(u64be(version - PRUNE_SLACK_VERSIONS)), limit: 1 });
  if (oldest === undefined) return undefined;
  const dropped = [...db.getKeys({ end: Buffer.from(u64be(version)) })];
  for (const key of dropped) db.removeSync(key);
  return readU64be(dropped[dropped.length - 1]!);
}

/**
 * How user keys and FoundationDB-style ranges map onto the lmdb backend's data
 * database.
 *
 * Every user key is stored behind a one-byte tag, because LMDB rejects the
 * empty key and FoundationDB allows it. The tag is the same for all keys, so
 * stored keys sort exactly as user keys do (memcmp, shorter prefix first).
 */

import type { RangeOptions as LmdbRangeOptions } from 'lmdb';
import type { Bytes } from './types.ts';

const KEY_TAG = 0x00;

/** LMDB's cap on a stored key at our 8 KiB page size (lmdb-js allows at most 4,026 at any page size). */
export const LMDB_MAX_STORED_KEY_BYTES = 4026;

export function storedKey(key: Bytes): Buffer {
  const out = Buffer.allocUnsafe(key.length + 1);
  out[0] = KEY_TAG;
  out.set(key, 1);
  return out;
}

export function userKey(stored: Buffer): Buffer {
  return stored.subarray(1);
}

/**
 * lmdb-js range options selecting the stored keys of the user range [begin, end)
 * (the caller ensures begin < end), newest first when `reverse`.
 *
 * FoundationDB's reverse [b, e) is lmdb's `start: e, end: b` with the start
 * excluded and the end included. A bound longer than the longest storable key
 * (`maxStored` bytes) is replaced by its first `maxStored` bytes P with the
 * inclusion flipped: for every storable key K, K < bound <=> K <= P and
 * K >= bound <=> K > P. LMDB cannot take the longer bound itself.
 */
export function lmdbRange(
  begin: Bytes,
  end: Bytes,
  reverse: boolean,
  maxStored: number,
): LmdbRangeOptions {
  const b = storedKey(begin);
  const e = storedKey(end);
  const bTruncated = b.length > maxStored;
  const eTruncated = e.length > maxStored;
  const bKey = bTruncated ? b.subarray(0, maxStored) : b;
  const eKey = eTruncated ? e.subarray(0, maxStored) : e;
  if (!reverse) {
    return { start: bKey, end: eKey, exclusiveStart: bTruncated, inclusiveEnd: eTruncated };
  }
  return { start: eKey, end: bKey, reverse: true, exclusiveStart: !eTruncated, inclusiveEnd: !bTruncated };
}

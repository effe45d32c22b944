/**
 * Versions: a FoundationDB versionstamp, 8-byte big-endian commit version ‖ 2-byte batch order, written as
 * 20 lowercase hex characters. Because the text is fixed-width lowercase hex, string order is byte order.
 */

import { fromHex, readU64be, toHex, versionstamp } from '../kv/bytes.ts';
import { VERSIONSTAMP_BYTES } from '../kv/types.ts';
import { VersionFormatError } from './errors.ts';

export type Version = string;

const VERSION_TEXT = /^[0-9a-fA-F]{20}$/;

/** Validates and normalizes (to lower case) a version typed by a user or passed over an API. */
export function parseVersion(text: string): Version {
  if (typeof text !== 'string' || !VERSION_TEXT.test(text)) throw new VersionFormatError(String(text));
  return text.toLowerCase();
}

export function versionToBytes(v: Version): Uint8Array {
  return fromHex(parseVersion(v));
}

export function versionFromBytes(b: Uint8Array): Version {
  if (b.length !== VERSIONSTAMP_BYTES) throw new VersionFormatError(toHex(b));
  return toHex(b);
}

/** Before everything. */
export const ZERO_VERSION: Version = '0'.repeat(20);

/** A kv read version as a snapshot: everything committed at or before `rv` (any batch order). */
export function versionOfReadVersion(rv: bigint): Version {
  return toHex(versionstamp(rv, 0xffff));
}

/** The kv commit version a version belongs to. */
export function commitVersionOf(v: Version): bigint {
  return readU64be(fromHex(v));
}

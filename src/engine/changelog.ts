/**
 * Changelog entries (ns ‖ 'l' ‖ version): what one commit changed, for cache invalidation (`changes`) and
 * the commit log (`log`). A commit of more than MAX_LISTED_PAGES pages stores no list: readers treat it as
 * "everything changed".
 *
 * Encoding: format(1) ‖ flags(1, bit 0 = page list omitted) ‖ time ms u64 ‖ page count u32 ‖ bytes u64 ‖
 *           [format 2: idempotency key(16)] ‖ tag length u8 ‖ tag (utf8) ‖ pages u32 each (ascending)
 * Format 2 carries the commit's idempotency key, which a retry after 1021 looks for (commit.ts); entries
 * of format 1 (written before) have none and are still read.
 */

import { readU32be, readU64be } from '../kv/bytes.ts';
import { InvalidOptionError } from './errors.ts';

export const MAX_LISTED_PAGES = 1000;
export const MAX_CLIENT_TAG_BYTES = 255;
const IDEMPOTENCY_KEY_BYTES = 16;
const FORMAT_V1 = 1;
const FORMAT = 2;
const ALL = 1;
/** Where the tag length is: after the fixed fields, and in format 2 the idempotency key. */
const TAG_AT_V1 = 22;
const TAG_AT = TAG_AT_V1 + IDEMPOTENCY_KEY_BYTES;

export interface ChangelogEntry {
  time: number;
  pageCount: number;
  bytes: number;
  clientTag?: string;
  /** Ascending; 'all' when the commit was too large to list. */
  pages: number[] | 'all';
  /** The commit's idempotency key (absent in entries written before format 2). */
  idempotencyKey?: Uint8Array;
}

export function validateClientTag(tag: unknown): Uint8Array {
  if (tag === undefined) return new Uint8Array(0);
  const bytes = typeof tag === 'string' ? Buffer.from(tag, 'utf8') : undefined;
  if (bytes === undefined || bytes.length > MAX_CLIENT_TAG_BYTES) {
    throw new InvalidOptionError('client tag', `a client tag is a string of at most ${MAX_CLIENT_TAG_BYTES} UTF-8 bytes`);
  }
  return bytes;
}

export function encodeChangelogEntry(e: ChangelogEntry & { idempotencyKey: Uint8Array }): Uint8Array {
  const tag = validateClientTag(e.clientTag);
  const listed = e.pages === 'all' ? [] : e.pages;
  const key = e.idempotencyKey;
  if (key.length !== IDEMPOTENCY_KEY_BYTES) throw new RangeError(`an idempotency key is ${IDEMPOTENCY_KEY_BYTES} bytes`);
  const out = new Uint8Array(TAG_AT + 1 + tag.length + 4 * listed.length);
  const view = new DataView(out.buffer);
  out[0] = FORMAT;
  out[1] = e.pages === 'all' ? ALL : 0;
  view.setBigUint64(2, BigInt(e.time));
  view.setUint32(10, e.pageCount);
  view.setBigUint64(14, BigInt(e.bytes));
  out.set(key, TAG_AT_V1);
  out[TAG_AT] = tag.length;
  out.set(tag, TAG_AT + 1);
  let offset = TAG_AT + 1 + tag.length;
  for (const page of listed) {
    view.setUint32(offset, page);
    offset += 4;
  }
  return out;
}

export function decodeChangelogEntry(bytes: Uint8Array): ChangelogEntry {
  if (bytes[0] !== FORMAT && bytes[0] !== FORMAT_V1) throw new Error(`unsupported changelog entry format ${bytes[0]}`);
  const tagAt = bytes[0] === FORMAT ? TAG_AT : TAG_AT_V1;
  const tagLength = bytes[tagAt]!;
  const tag = Buffer.from(bytes.subarray(tagAt + 1, tagAt + 1 + tagLength)).toString('utf8');
  let pages: number[] | 'all' = 'all';
  if ((bytes[1]! & ALL) === 0) {
    pages = [];
    for (let offset = tagAt + 1 + tagLength; offset < bytes.length; offset += 4) pages.push(readU32be(bytes, offset));
  }
  return {
    time: Number(readU64be(bytes, 2)),
    pageCount: readU32be(bytes, 10),
    bytes: Number(readU64be(bytes, 14)),
    ...(tagLength > 0 ? { clientTag: tag } : {}),
    pages,
    ...(bytes[0] === FORMAT ? { idempotencyKey: bytes.slice(TAG_AT_V1, TAG_AT) } : {}),
  };
}

/** The idempotency key of an encoded entry, without decoding the rest (undefined before format 2). */
export function idempotencyKeyOfEntry(bytes: Uint8Array): Uint8Array | undefined {
  return bytes[0] === FORMAT ? bytes.subarray(TAG_AT_V1, TAG_AT) : undefined;
}

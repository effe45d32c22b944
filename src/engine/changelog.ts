/**
 * Changelog entries (ns ‖ 'l' ‖ version): what one commit changed, for cache invalidation (`changes`) and
 * the commit log (`log`). A commit of more than MAX_LISTED_PAGES pages stores no list: readers treat it as
 * "everything changed".
 *
 * Encoding: format(1) ‖ flags(1, bit 0 = page list omitted) ‖ time ms u64 ‖ page count u32 ‖ bytes u64 ‖
 *           tag length u8 ‖ tag (utf8) ‖ pages u32 each (ascending)
 */

import { readU32be, readU64be, u32be, u64be } from '../kv/bytes.ts';
import { InvalidOptionError } from './errors.ts';

export const MAX_LISTED_PAGES = 1000;
export const MAX_CLIENT_TAG_BYTES = 255;
const FORMAT = 1;
const ALL = 1;

export interface ChangelogEntry {
  time: number;
  pageCount: number;
  bytes: number;
  clientTag?: string;
  /** Ascending; 'all' when the commit was too large to list. */
  pages: number[] | 'all';
}

export function validateClientTag(tag: unknown): Uint8Array {
  if (tag === undefined) return new Uint8Array(0);
  const bytes = typeof tag === 'string' ? Buffer.from(tag, 'utf8') : undefined;
  if (bytes === undefined || bytes.length > MAX_CLIENT_TAG_BYTES) {
    throw new InvalidOptionError('client tag', `a client tag is a string of at most ${MAX_CLIENT_TAG_BYTES} UTF-8 bytes`);
  }
  return bytes;
}

export function encodeChangelogEntry(e: ChangelogEntry): Uint8Array {
  const tag = validateClientTag(e.clientTag);
  const listed = e.pages === 'all' ? [] : e.pages;
  const out = new Uint8Array(23 + tag.length + 4 * listed.length);
  out[0] = FORMAT;
  out[1] = e.pages === 'all' ? ALL : 0;
  out.set(u64be(BigInt(e.time)), 2);
  out.set(u32be(e.pageCount), 10);
  out.set(u64be(BigInt(e.bytes)), 14);
  out[22] = tag.length;
  out.set(tag, 23);
  let offset = 23 + tag.length;
  for (const page of listed) {
    out.set(u32be(page), offset);
    offset += 4;
  }
  return out;
}

export function decodeChangelogEntry(bytes: Uint8Array): ChangelogEntry {
  if (bytes[0] !== FORMAT) throw new Error(`unsupported changelog entry format ${bytes[0]}`);
  const tagLength = bytes[22]!;
  const tag = Buffer.from(bytes.subarray(23, 23 + tagLength)).toString('utf8');
  let pages: number[] | 'all' = 'all';
  if ((bytes[1]! & ALL) === 0) {
    pages = [];
    for (let offset = 23 + tagLength; offset < bytes.length; offset += 4) pages.push(readU32be(bytes, offset));
  }
  return {
    time: Number(readU64be(bytes, 2)),
    pageCount: readU32be(bytes, 10),
    bytes: Number(readU64be(bytes, 14)),
    ...(tagLength > 0 ? { clientTag: tag } : {}),
    pages,
  };
}

/**
 * Key layout. Everything lives under a root prefix:
 *   root ‖ 0x01 ‖ name                      -> namespace id(10) ‖ creation token(16)
 *   root ‖ 0x02 ‖ id(10) ‖ ...              one database (its namespace `ns`); deleting it is one range clear
 * and inside a namespace:
 *   ns ‖ 'm'                                -> metadata (JSON: page size, retention, creation time, fork base)
 *   ns ‖ 'w'                                -> GC watermark: versions before it are gone (10 bytes)
 *   ns ‖ 'v'                                -> last write version: idempotency key(16) ‖ version(10) ‖
 *                                              its wall time ms u64 (absent in values written before)
 *   ns ‖ 'p' ‖ page u32 ‖ version(10)       -> content hash of the page as of that version
 *   ns ‖ 'c' ‖ hash                         -> encoding(1) ‖ page bytes (content-addressed)
 *   ns ‖ 'd' ‖ hash                         -> last upload time, ms u64 (GC keeps fresh content)
 *   ns ‖ 'l' ‖ version(10)                  -> changelog entry
 *   ns ‖ 't' ‖ time ms u64 ‖ version(10)    -> (empty) time index
 *   ns ‖ 'i' ‖ idempotency key(16)          -> version(10) of the commit that carried it: written by earlier
 *                                              versions only (GC still trims them); commits now only
 *                                              declare this key as a write conflict (commit.ts findLanded)
 *   ns ‖ 'k' ‖ token(16)                    -> start time, ms u64: an open two-phase commit (GC revokes)
 *   ns ‖ 'n' ‖ tag name                     -> version(10) ‖ creation time ms u64: a tag (pins its version)
 *   ns ‖ 'f' ‖ fork id(10)                  -> base version(10) ‖ fork name: a fork of this database (pins its base)
 * The namespace id is the versionstamp of the transaction that created the database, so ids never repeat
 * and have a fixed length: one namespace's keys can never fall inside another's range.
 */

import { concatBytes, keyAfter, prefixEnd, u32be, u64be, utf8 } from '../kv/bytes.ts';
import type { Bytes } from '../kv/types.ts';

export const DEFAULT_ROOT: Bytes = utf8('mv');

const NAMES = Uint8Array.of(0x01);
const DATABASES = Uint8Array.of(0x02);
const tag = (c: string): Bytes => utf8(c);
const METADATA = tag('m');
const WATERMARK = tag('w');
const LAST_WRITE = tag('v');
const PAGE = tag('p');
const CONTENT = tag('c');
const CONTENT_INDEX = tag('d');
const CHANGELOG = tag('l');
const TIME = tag('t');
const IDEMPOTENCY = tag('i');
const TOKEN = tag('k');
const TAG = tag('n');
const FORK = tag('f');

export interface Range {
  begin: Bytes;
  end: Bytes;
}

/** Every key that starts with `prefix`. */
const prefixRange = (prefix: Bytes): Range => ({ begin: prefix, end: prefixEnd(prefix) });

export const nameKey = (root: Bytes, name: string): Bytes => concatBytes(root, NAMES, utf8(name));
export const namesRange = (root: Bytes): Range => prefixRange(concatBytes(root, NAMES));
export const nameOfKey = (root: Bytes, key: Bytes): string =>
  Buffer.from(key.subarray(root.length + NAMES.length)).toString('utf8');

/** Prefix for setVersionstampedKey when creating a database: the stamp becomes the namespace id. */
export const databasesPrefix = (root: Bytes): Bytes => concatBytes(root, DATABASES);
export const namespacePrefix = (root: Bytes, id: Bytes): Bytes => concatBytes(root, DATABASES, id);
export const namespaceRange = (ns: Bytes): Range => prefixRange(ns);

export const METADATA_SUFFIX = METADATA;
export const WATERMARK_SUFFIX = WATERMARK;
export const metadataKey = (ns: Bytes): Bytes => concatBytes(ns, METADATA);
export const watermarkKey = (ns: Bytes): Bytes => concatBytes(ns, WATERMARK);
export const lastWriteKey = (ns: Bytes): Bytes => concatBytes(ns, LAST_WRITE);

export const pagePrefix = (ns: Bytes, page: number): Bytes => concatBytes(ns, PAGE, u32be(page));
/** Every version of `page` at or before `version`: the newest is the last key of this range. */
export function pageRangeAt(ns: Bytes, page: number, version: Bytes): Range {
  const prefix = pagePrefix(ns, page);
  return { begin: prefix, end: keyAfter(concatBytes(prefix, version)) };
}
/** Every version of `page`. */
export const pageRange = (ns: Bytes, page: number): Range => prefixRange(pagePrefix(ns, page));
/** The version suffix of a page-index, changelog or time-index key. */
export const versionSuffix = (key: Bytes): Bytes => key.subarray(key.length - 10);

/** The whole page index of a namespace. */
export const pageIndexRange = (ns: Bytes): Range => prefixRange(concatBytes(ns, PAGE));
/** The page number of a page-index key. */
export const pageOfKey = (ns: Bytes, key: Bytes): number =>
  new DataView(key.buffer, key.byteOffset + ns.length + PAGE.length, 4).getUint32(0);
/** The hash of a content-index key. */
export const hashOfContentIndexKey = (ns: Bytes, key: Bytes): Bytes => key.subarray(ns.length + CONTENT_INDEX.length);

export const contentKey = (ns: Bytes, hash: Bytes): Bytes => concatBytes(ns, CONTENT, hash);
export const contentIndexKey = (ns: Bytes, hash: Bytes): Bytes => concatBytes(ns, CONTENT_INDEX, hash);
export const contentIndexRange = (ns: Bytes): Range => prefixRange(concatBytes(ns, CONTENT_INDEX));

export const changelogPrefix = (ns: Bytes): Bytes => concatBytes(ns, CHANGELOG);
export const changelogKey = (ns: Bytes, version: Bytes): Bytes => concatBytes(ns, CHANGELOG, version);
/** Changelog keys of the versions in (from, to]. */
export const changelogBetween = (ns: Bytes, from: Bytes, to: Bytes): Range => ({
  begin: keyAfter(changelogKey(ns, from)),
  end: keyAfter(changelogKey(ns, to)),
});

export const timePrefix = (ns: Bytes): Bytes => concatBytes(ns, TIME);
export const timeKeyPrefix = (ns: Bytes, ms: number): Bytes => concatBytes(ns, TIME, u64be(BigInt(ms)));

export const idempotencyKey = (ns: Bytes, key: Bytes): Bytes => concatBytes(ns, IDEMPOTENCY, key);
export const idempotencyRange = (ns: Bytes): Range => prefixRange(concatBytes(ns, IDEMPOTENCY));
export const tokenKey = (ns: Bytes, token: Bytes): Bytes => concatBytes(ns, TOKEN, token);
export const tokensRange = (ns: Bytes): Range => prefixRange(concatBytes(ns, TOKEN));

export const tagKey = (ns: Bytes, name: string): Bytes => concatBytes(ns, TAG, utf8(name));
export const tagsRange = (ns: Bytes): Range => prefixRange(concatBytes(ns, TAG));
export const tagOfKey = (ns: Bytes, key: Bytes): string => Buffer.from(key.subarray(ns.length + TAG.length)).toString('utf8');

/** Prefix for setVersionstampedKey when forking: the stamp is the fork's namespace id. */
export const forksPrefix = (ns: Bytes): Bytes => concatBytes(ns, FORK);
export const forkKey = (ns: Bytes, forkId: Bytes): Bytes => concatBytes(ns, FORK, forkId);
export const forksRange = (ns: Bytes): Range => prefixRange(concatBytes(ns, FORK));

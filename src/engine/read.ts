/**
 * Reading pages at a version. The version filter is in the key (newest page-index entry at or before the
 * version), so every read runs in a fresh, short kv transaction: a snapshot can be read for hours, and a
 * read at an old version costs the same as one at the head.
 */

import type { Bytes, KvReader } from '../kv/types.ts';
import { FutureVersionError, InvalidPageError, VersionTooOldError } from './errors.ts';
import { readContents } from './content.ts';
import { readWatermarkSteps, type DatabaseRef } from './databases.ts';
import { pageRangeAt } from './keys.ts';
import { all, runAsync, wait, type AnyReader, type AnyTransaction, type Steps } from './steps.ts';
import { readTransactionSteps } from './transact.ts';
import { parseVersion, versionOfReadVersion, versionToBytes, type Version } from './version.ts';

export const MAX_PAGE_NUMBER = 0xffff_ffff;

export function validatePageNumber(page: unknown): number {
  if (typeof page !== 'number' || !Number.isInteger(page) || page < 0 || page > MAX_PAGE_NUMBER) {
    throw new InvalidPageError(`invalid page number ${String(page)}: a page number is an integer from 0 to ${MAX_PAGE_NUMBER}`);
  }
  return page;
}

/** Where a page's content is: its hash, and the namespace that stores it (a fork's source, for a page read through). */
export interface PageHash {
  hash: Uint8Array;
  ns: Uint8Array;
}

/**
 * The content hash of each page as of `version`, or undefined where the page was never written.
 * Every page lookup goes through here: a fork's page it never wrote falls through to its bases, each as of
 * the version it was forked at (the base's GC keeps that version readable while the fork exists).
 */
export function* findPageHashesSteps(
  reader: AnyReader,
  db: DatabaseRef,
  pages: number[],
  version: Bytes,
): Steps<(PageHash | undefined)[]> {
  const layers = [{ prefix: db.prefix, version }, ...(db.bases ?? [])];
  return yield* all(pages.map((page) => findPageHash(reader, layers, page)));
}

function* findPageHash(reader: AnyReader, layers: { prefix: Bytes; version: Bytes }[], page: number): Steps<PageHash | undefined> {
  for (const layer of layers) {
    const range = pageRangeAt(layer.prefix, page, layer.version);
    const [entry] = yield* wait(reader.getRange(range.begin, range.end, { limit: 1, reverse: true }));
    if (entry !== undefined) return { hash: entry[1], ns: layer.prefix };
  }
  return undefined;
}

export function findPageHashes(reader: KvReader, db: DatabaseRef, pages: number[], version: Bytes): Promise<(PageHash | undefined)[]> {
  return runAsync(findPageHashesSteps(reader, db, pages, version));
}

/** Pages per kv transaction: keeps each one short on FoundationDB. */
const READ_BATCH = 1000;

export async function readPage(db: DatabaseRef, page: number, version: Version): Promise<Uint8Array | undefined> {
  return (await readPages(db, [page], version))[0];
}

/** Many pages at one version: all index lookups in one round trip, then all contents in one. */
export function readPages(db: DatabaseRef, pages: number[], version: Version): Promise<(Uint8Array | undefined)[]> {
  return runAsync(readPagesSteps(db, pages, version));
}

export function* readPagesSteps(db: DatabaseRef, pages: number[], version: Version): Steps<(Uint8Array | undefined)[]> {
  const at = parseVersion(version);
  if (!Array.isArray(pages)) throw new InvalidPageError('pages must be an array of page numbers');
  pages.forEach(validatePageNumber);
  const out: (Uint8Array | undefined)[] = [];
  for (let i = 0; i < pages.length; i += READ_BATCH) {
    out.push(...(yield* readBatch(db, pages.slice(i, i + READ_BATCH), at)));
  }
  return out;
}

function readBatch(db: DatabaseRef, pages: number[], version: Version): Steps<(Uint8Array | undefined)[]> {
  return readTransactionSteps(db.kv, (tx) => readBatchIn(tx, db, pages, version));
}

function* readBatchIn(tx: AnyTransaction, db: DatabaseRef, pages: number[], version: Version): Steps<(Uint8Array | undefined)[]> {
  const versionBytes = versionToBytes(version);
  const latest = versionOfReadVersion(yield* wait(tx.getReadVersion()));
  if (version > latest) throw new FutureVersionError(version, latest);
  const reader = tx.snapshot();
  const [watermark, hashes] = yield* all([readWatermarkSteps(reader, db), findPageHashesSteps(reader, db, pages, versionBytes)]);
  if (version < watermark) throw new VersionTooOldError(version, watermark);
  const found = pages.flatMap((page, i) => (hashes[i] ? [{ page, ...hashes[i], index: i }] : []));
  const out = new Array<Uint8Array | undefined>(pages.length).fill(undefined);
  // A fork's pages come from up to one namespace per layer: one round trip each, all at once.
  const byNamespace = new Map<Uint8Array, typeof found>();
  for (const f of found) {
    const group = byNamespace.get(f.ns);
    if (group === undefined) byNamespace.set(f.ns, [f]);
    else group.push(f);
  }
  yield* all([...byNamespace].map(([ns, group]) => readGroup(reader, db, ns, group, out)));
  return out;
}

/** Reads the contents of `group` (pages stored in namespace `ns`) into `out` at their indexes. */
function* readGroup(
  reader: AnyReader,
  db: DatabaseRef,
  ns: Bytes,
  group: { page: number; hash: Uint8Array; index: number }[],
  out: (Uint8Array | undefined)[],
): Steps<void> {
  const hashes = group.map((f) => f.hash);
  const contents = yield* readContents(reader, ns, db.name, db.pageSize, hashes, group.map((f) => f.page));
  group.forEach((f, i) => (out[f.index] = contents[i]));
}

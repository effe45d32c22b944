/**
 * Which pages differ between two versions of a database. The changelog names the pages written in
 * between (a superset); their index entries at both versions then tell which really differ (by content
 * hash, without reading any content). Where the changelog cannot say (a commit too large to list its
 * pages), every page up to `pageCount` is compared the same way.
 */

import { bytesEqual, keyAfter } from '../kv/bytes.ts';
import { decodeChangelogEntry } from './changelog.ts';
import { readWatermark, type DatabaseRef } from './databases.ts';
import { FutureVersionError, InvalidOptionError, VersionTooOldError } from './errors.ts';
import { changelogBetween } from './keys.ts';
import { MAX_PAGE_NUMBER, findPageHashes } from './read.ts';
import { readTransaction } from './transact.ts';
import { parseVersion, versionOfReadVersion, versionToBytes, type Version } from './version.ts';

const CHANGELOG_BATCH = 1000;
/** Pages compared per kv transaction. */
const COMPARE_BATCH = 1000;

/** Pages in 1..pageCount whose content differs between versions `a` and `b` (in either order), ascending. */
export async function differingPages(db: DatabaseRef, a: Version, b: Version, pageCount: number): Promise<number[]> {
  const [from, to] = [parseVersion(a), parseVersion(b)].sort();
  if (!Number.isInteger(pageCount) || pageCount < 0 || pageCount > MAX_PAGE_NUMBER) {
    throw new InvalidOptionError('page count', `${String(pageCount)}; a whole number from 0 to ${MAX_PAGE_NUMBER}`);
  }
  if (from === to || pageCount === 0) return [];
  const written = await writtenBetween(db, from!, to!, pageCount);
  const candidates = written ?? Array.from({ length: pageCount }, (_, i) => i + 1);
  const out: number[] = [];
  for (let i = 0; i < candidates.length; i += COMPARE_BATCH) {
    const pages = candidates.slice(i, i + COMPARE_BATCH);
    const differs = await readTransaction(db.kv, async (tx) => {
      const reader = tx.snapshot();
      const [older, newer] = await Promise.all([
        findPageHashes(reader, db, pages, versionToBytes(from!)),
        findPageHashes(reader, db, pages, versionToBytes(to!)),
      ]);
      return pages.filter((_, j) => !sameHash(older[j]?.hash, newer[j]?.hash));
    });
    out.push(...differs);
  }
  return out;
}

function sameHash(x: Uint8Array | undefined, y: Uint8Array | undefined): boolean {
  if (x === undefined || y === undefined) return x === y;
  return bytesEqual(x, y);
}

/**
 * Pages in 1..pageCount written by commits in (from, to], or undefined when the changelog cannot tell or
 * would name more pages than comparing them all costs. Both versions must be readable.
 */
async function writtenBetween(db: DatabaseRef, from: Version, to: Version, pageCount: number): Promise<number[] | undefined> {
  const pages = new Set<number>();
  const range = changelogBetween(db.prefix, versionToBytes(from), versionToBytes(to));
  let begin = range.begin;
  for (;;) {
    const rows = await readTransaction(db.kv, async (tx) => {
      const latest = versionOfReadVersion(await tx.getReadVersion());
      if (to > latest) throw new FutureVersionError(to, latest);
      const reader = tx.snapshot();
      const [watermark, batch] = await Promise.all([readWatermark(reader, db), reader.getRange(begin, range.end, { limit: CHANGELOG_BATCH })]);
      if (from < watermark) throw new VersionTooOldError(from, watermark);
      return batch;
    });
    for (const [, value] of rows) {
      const entry = decodeChangelogEntry(value);
      if (entry.pages === 'all') return undefined;
      for (const page of entry.pages) if (page >= 1 && page <= pageCount) pages.add(page);
    }
    if (pages.size >= pageCount) return undefined;
    if (rows.length < CHANGELOG_BATCH) return [...pages].sort((x, y) => x - y);
    begin = keyAfter(rows[rows.length - 1]![0]);
  }
}

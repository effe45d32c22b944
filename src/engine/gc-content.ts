/**
 * GC step 3: delete content no page-index entry references. `referenced` comes from a scan of the index
 * (step 2) that took many kv transactions while commits went on, so each deleting transaction first brings
 * it up to date: it reads the last write version with a conflict and adds the entries of every commit
 * since the scan began (from the changelog). A commit that lands before the deleting transaction commits
 * makes it retry. Content must also be older than a grace period (the longest a commit's upload takes), so
 * in-flight uploads are left alone; each content's upload-time key is read with a conflict, so an upload
 * that re-uses the content makes the delete retry. A two-phase commit that uploaded content before this
 * transaction deleted it is stopped by revoking every commit token of the database in the same transaction:
 * it starts over rather than publish pages whose content is gone.
 */

import { keyAfter, readU64be, toHex } from '../kv/bytes.ts';
import type { Bytes, KvTransaction } from '../kv/types.ts';
import { decodeChangelogEntry } from './changelog.ts';
import { storedContentBytes } from './content.ts';
import { headOf, readWatermark, type DatabaseRef } from './databases.ts';
import {
  changelogBetween,
  contentIndexRange,
  contentKey,
  hashOfContentIndexKey,
  lastWriteKey,
  pageIndexRange,
  pageRange,
  pageRangeAt,
  tokensRange,
} from './keys.ts';
import { runBatch, type Freed } from './gc-batch.ts';
import { readTransaction } from './transact.ts';
import { versionToBytes, type Version } from './version.ts';

/** Content uploaded more recently than this is never deleted: no commit's upload takes longer. */
export const DEFAULT_CONTENT_GRACE_MS = 60 * 60 * 1000;
/** Contents considered per kv transaction. */
const CONTENT_SCAN_BATCH = 1000;
const INDEX_SCAN_BATCH = 5000;

/** What the scan knows: hashes referenced by the index as of `head` (and maybe later). */
export interface References {
  hashes: Set<string>;
  head: Version;
}

/** The index changed in a way the changelog cannot tell (a commit too large to list its pages). */
class RescanNeeded extends Error {}

/**
 * Deletes (unless `dryRun`) content not in `refs` and last uploaded at or before `uploadedBefore` (ms).
 * `onProgress` gets the fraction of the hash space scanned.
 */
export async function dropUnreferencedContent(
  db: DatabaseRef,
  refs: References,
  options: { dryRun: boolean; uploadedBefore: number; onProgress?: (fraction: number) => void },
): Promise<Freed> {
  const range = contentIndexRange(db.prefix);
  const freed: Freed = { items: 0, bytes: 0 };
  let begin = range.begin;
  for (;;) {
    let batch: { rows: number; last?: Bytes; freed: Freed };
    try {
      batch = await runBatch(db.kv, options.dryRun, (tx) => deleteBatch(tx, db, refs, begin, range.end, options.uploadedBefore, !options.dryRun));
    } catch (err) {
      if (!(err instanceof RescanNeeded)) throw err;
      Object.assign(refs, await scanReferences(db));
      continue;
    }
    freed.items += batch.freed.items;
    freed.bytes += batch.freed.bytes;
    if (batch.rows < CONTENT_SCAN_BATCH || batch.last === undefined) break;
    begin = keyAfter(batch.last);
    const hash = hashOfContentIndexKey(db.prefix, batch.last);
    options.onProgress?.(((hash[0]! << 8) | hash[1]!) / 65536);
  }
  options.onProgress?.(1);
  return freed;
}

async function deleteBatch(
  tx: KvTransaction,
  db: DatabaseRef,
  refs: References,
  begin: Bytes,
  end: Bytes,
  uploadedBefore: number,
  write: boolean,
): Promise<{ rows: number; last?: Bytes; freed: Freed }> {
  // Deleting: read the upload times with a conflict (up to the last row read), so an upload that refreshes
  // one of them, or re-adds a content, makes this transaction retry.
  const rows = await (write ? tx : tx.snapshot()).getRange(begin, end, { limit: CONTENT_SCAN_BATCH });
  const last = rows.length > 0 ? rows[rows.length - 1]![0] : undefined;
  const freed: Freed = { items: 0, bytes: 0 };
  const stale = rows.filter(([, time]) => Number(readU64be(time)) <= uploadedBefore);
  const unreferenced = () => stale.filter(([key]) => !refs.hashes.has(toHex(hashOfContentIndexKey(db.prefix, key))));
  if (unreferenced().length > 0 && write) await catchUp(tx, db, refs);
  for (const [dKey, time] of unreferenced()) {
    const cKey = contentKey(db.prefix, hashOfContentIndexKey(db.prefix, dKey));
    freed.items++;
    // The content's size is known without reading it.
    freed.bytes += cKey.length + storedContentBytes(db.pageSize) + dKey.length + time.length;
    if (write) {
      tx.clear(cKey);
      tx.clear(dKey);
    }
  }
  if (write && freed.items > 0) {
    const tokens = tokensRange(db.prefix);
    tx.clearRange(tokens.begin, tokens.end);
  }
  return { rows: rows.length, ...(last ? { last } : {}), freed };
}

/**
 * Adds to `refs` the hashes of every page written since `refs.head`, reading the last write version with
 * a conflict so that no commit can land unseen before this transaction commits.
 */
async function catchUp(tx: KvTransaction, db: DatabaseRef, refs: References): Promise<void> {
  const reader = tx.snapshot();
  const [lastWrite, watermark] = await Promise.all([tx.get(lastWriteKey(db.prefix)), readWatermark(tx, db)]);
  const head = headOf(db, lastWrite);
  if (head === refs.head) return;
  // Another GC may have trimmed the changelog we need.
  if (watermark > refs.head) throw new RescanNeeded();
  const changelog = changelogBetween(db.prefix, versionToBytes(refs.head), versionToBytes(head));
  const entries = await reader.getRange(changelog.begin, changelog.end);
  const pages = new Set<number>();
  for (const [, value] of entries) {
    const entry = decodeChangelogEntry(value);
    if (entry.pages === 'all') throw new RescanNeeded();
    for (const page of entry.pages) pages.add(page);
  }
  const since = versionToBytes(refs.head);
  const written = await Promise.all(
    [...pages].map((page) => {
      // Entries of `page` newer than refs.head: after the last possible key at that version.
      const after = pageRangeAt(db.prefix, page, since).end;
      return reader.getRange(after, pageRange(db.prefix, page).end);
    }),
  );
  for (const rows of written) for (const [, hash] of rows) refs.hashes.add(toHex(hash));
  refs.head = head;
}

/** No references yet, as of the head now: a scan of the index starting now fills them in. */
export async function startReferences(db: DatabaseRef): Promise<References> {
  const head = await readTransaction(db.kv, async (tx) => headOf(db, await tx.snapshot().get(lastWriteKey(db.prefix))));
  return { hashes: new Set(), head };
}

/** Every hash the page index references, as of the head read before the scan (and maybe later). */
async function scanReferences(db: DatabaseRef): Promise<References> {
  const refs = await startReferences(db);
  const range = pageIndexRange(db.prefix);
  let begin = range.begin;
  for (;;) {
    const rows = await readTransaction(db.kv, (tx) => tx.snapshot().getRange(begin, range.end, { limit: INDEX_SCAN_BATCH }));
    for (const [, hash] of rows) refs.hashes.add(toHex(hash));
    if (rows.length < INDEX_SCAN_BATCH) return refs;
    begin = keyAfter(rows[rows.length - 1]![0]);
  }
}

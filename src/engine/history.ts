/** History reads: which pages changed between versions, the commit log, and time -> version. */

import { keyAfter, prefixEnd, readU64be } from '../kv/bytes.ts';
import type { Bytes, KeyValue, KvReader } from '../kv/types.ts';
import { decodeChangelogEntry, type ChangelogEntry } from './changelog.ts';
import { headOf, readWatermark, readWatermarkSteps, type DatabaseRef } from './databases.ts';
import { DatabaseNotFoundError, FutureVersionError, InvalidOptionError, NoVersionAtTimeError } from './errors.ts';
import { changelogBetween, changelogKey, changelogPrefix, lastWriteKey, metadataKey, timeKeyPrefix, timePrefix, versionSuffix } from './keys.ts';
import { decodeMetadata } from './metadata.ts';
import { all, runAsync, wait, type AnyReader, type AnyTransaction, type Steps } from './steps.ts';
import { readTransaction, readTransactionSteps } from './transact.ts';
import {
  ZERO_VERSION,
  parseVersion,
  versionFromBytes,
  versionOfReadVersion,
  versionToBytes,
  type Version,
} from './version.ts';

/** Above these, `changes` answers 'all': dropping a whole cache is cheaper than reading that much. */
export const MAX_CHANGED_PAGES = 1000;
export const MAX_CHANGED_COMMITS = 100;

/** Pages changed by commits in (from, to], or 'all' when that is too many or not known. */
export function* changedPages(
  reader: AnyReader,
  db: DatabaseRef,
  from: Version,
  to: Version,
): Steps<number[] | 'all'> {
  if (from >= to) return [];
  const range = changelogBetween(db.prefix, versionToBytes(from), versionToBytes(to));
  const entries = yield* wait(reader.getRange(range.begin, range.end, { limit: MAX_CHANGED_COMMITS + 1 }));
  return pagesOfEntries(entries);
}

/** The pages changelog entries list (at most MAX_CHANGED_COMMITS + 1 of them), or 'all'. */
function pagesOfEntries(entries: KeyValue[]): number[] | 'all' {
  if (entries.length > MAX_CHANGED_COMMITS) return 'all';
  const pages = new Set<number>();
  for (const [, value] of entries) {
    const entry = decodeChangelogEntry(value);
    if (entry.pages === 'all') return 'all';
    for (const page of entry.pages) pages.add(page);
    if (pages.size > MAX_CHANGED_PAGES) return 'all';
  }
  return [...pages].sort((a, b) => a - b);
}

/** Pages changed in (from, to]; 'all' when the answer is too large or unknown (drop the whole cache). */
export function changes(db: DatabaseRef, from: Version, to: Version): Promise<number[] | 'all'> {
  return runAsync(changesSteps(db, from, to));
}

export function* changesSteps(db: DatabaseRef, from: Version, to: Version): Steps<number[] | 'all'> {
  const begin = parseVersion(from);
  const end = parseVersion(to);
  if (begin > end) throw new InvalidOptionError('version range', `from ${begin} is after to ${end}`);
  return yield* readTransactionSteps(db.kv, (tx) => changesIn(tx, db, begin, end));
}

function* changesIn(tx: AnyTransaction, db: DatabaseRef, begin: Version, end: Version): Steps<number[] | 'all'> {
  const latest = versionOfReadVersion(yield* wait(tx.getReadVersion()));
  // Later commits could still land at or below a future `to`: an answer now would be wrong then.
  if (end > latest) throw new FutureVersionError(end, latest);
  const reader = tx.snapshot();
  const [watermark, pages] = yield* all([readWatermarkSteps(reader, db), changedPages(reader, db, begin, end)]);
  // GC removes changelog entries below its watermark: what changed there is no longer known.
  if (begin < watermark && begin !== end) return 'all';
  return pages;
}

export interface HeadCheck {
  head: Version;
  /** Pages changed in (since, head], or 'all' (as `changes` answers). */
  changed: number[] | 'all';
  /** The kv read version the check read at. */
  readVersion: bigint;
}

/** A commit made through a DatabaseRef, as the kv reported it (embedded stores only). */
interface OwnCommit {
  /** The store's version just before the commit, and the commit's: nothing else committed in between. */
  before: bigint;
  after: bigint;
  head: Version;
  changed: number[] | 'all';
}

/** The last commit made through each DatabaseRef: lets the next head check skip the store (headAndChanges). */
const ownCommits = new WeakMap<DatabaseRef, OwnCommit>();

/** Records a commit of `pages` (ascending) that made `head` the head at kv version `after`. */
export function noteOwnCommit(db: DatabaseRef, commit: { before: bigint; after: bigint; head: Version; pages: number[] }): void {
  const changed = commit.pages.length > MAX_CHANGED_PAGES ? 'all' : commit.pages;
  ownCommits.set(db, { before: commit.before, after: commit.after, head: commit.head, changed });
}

/**
 * The head, and the pages changed in (since, head] as `changes` answers them, in one kv transaction:
 * a connection's check at the start of every transaction. Without `since`, only the head.
 * `sinceReadVersion`: a kv read version at which `since` was the head; while the store has not moved
 * from it (no commit to any database), nothing else is read. Nor is anything read when the only commit
 * since then is this DatabaseRef's own last one and the store is still at it: its pages are the changes.
 */
export function headAndChanges(db: DatabaseRef, since?: Version, sinceReadVersion?: bigint): Promise<HeadCheck> {
  return runAsync(headAndChangesSteps(db, since, sinceReadVersion));
}

export function* headAndChangesSteps(db: DatabaseRef, since?: Version, sinceReadVersion?: bigint): Steps<HeadCheck> {
  const from = since === undefined ? undefined : parseVersion(since);
  const own = ownCommits.get(db);
  if (from !== undefined && own !== undefined && own.before === sinceReadVersion && storeVersionSync(db) === own.after) {
    return { head: own.head, changed: own.changed === 'all' ? 'all' : [...own.changed], readVersion: own.after };
  }
  return yield* readTransactionSteps(db.kv, (tx) => headAndChangesIn(tx, db, from, sinceReadVersion));
}

function* headAndChangesIn(
  tx: AnyTransaction,
  db: DatabaseRef,
  from: Version | undefined,
  sinceReadVersion: bigint | undefined,
): Steps<HeadCheck> {
  const readVersion = yield* wait(tx.getReadVersion());
  if (from !== undefined && readVersion === sinceReadVersion) return { head: from, changed: [], readVersion };
  const reader = tx.snapshot();
  // Every changelog entry after `from` in this snapshot is at or below its head: no upper bound needed.
  const [watermark, lastWrite, entries] = yield* all([
    readWatermarkSteps(reader, db),
    wait(reader.get(lastWriteKey(db.prefix))),
    wait(
      from === undefined
        ? []
        : reader.getRange(keyAfter(changelogKey(db.prefix, versionToBytes(from))), prefixEnd(changelogPrefix(db.prefix)), {
            limit: MAX_CHANGED_COMMITS + 1,
          }),
    ),
  ]);
  const head = headOf(db, lastWrite);
  if (from === undefined || from === head) return { head, changed: [], readVersion };
  // Below the GC watermark the changelog is gone; a head behind `from` is not a later state: drop everything.
  if (from < watermark || from > head) return { head, changed: 'all', readVersion };
  return { head, changed: pagesOfEntries(entries), readVersion };
}

/**
 * The store's current read version (as headAndChanges' `readVersion`), read synchronously, or
 * undefined when the store cannot tell without a round trip (FoundationDB). Equal to an earlier
 * check's readVersion only if nothing at all was committed since: that check's head still holds.
 */
export function storeVersionSync(db: DatabaseRef): bigint | undefined {
  return db.kv.committedVersionSync?.();
}

export interface CommitInfo {
  version: Version;
  time: Date;
  /** Number of pages the commit wrote. */
  pages: number;
  /** Bytes of page data the commit wrote. */
  bytes: number;
  clientTag?: string;
}

export interface LogOptions {
  /** Oldest version to include (inclusive). */
  from?: Version;
  /** Newest version to include (inclusive). */
  to?: Version;
  /** At most this many commits (default: all). */
  limit?: number;
}

const LOG_BATCH = 500;

/** The commits, newest first. */
export async function log(db: DatabaseRef, options?: LogOptions): Promise<CommitInfo[]> {
  const from = options?.from === undefined ? ZERO_VERSION : parseVersion(options.from);
  const to = options?.to === undefined ? 'f'.repeat(20) : parseVersion(options.to);
  const limit = options?.limit ?? Infinity;
  if (limit !== Infinity && (!Number.isInteger(limit) || limit < 1)) {
    throw new InvalidOptionError('limit', `${String(limit)}; a limit is a positive whole number`);
  }
  const out: CommitInfo[] = [];
  const begin = changelogKey(db.prefix, versionToBytes(from));
  let end = keyAfter(changelogKey(db.prefix, versionToBytes(to)));
  while (out.length < limit) {
    const want = Math.min(LOG_BATCH, limit - out.length);
    const batch = await readTransaction(db.kv, async (tx) => {
      const reader = tx.snapshot();
      const [, entries] = await Promise.all([
        readWatermark(reader, db),
        reader.getRange(begin, end, { limit: want, reverse: true }),
      ]);
      return entries;
    });
    for (const [key, value] of batch) out.push(commitInfo(versionFromBytes(versionSuffix(key)), decodeChangelogEntry(value)));
    if (batch.length < want) break;
    end = batch[batch.length - 1]![0];
  }
  return out;
}

function commitInfo(version: Version, e: ChangelogEntry): CommitInfo {
  return {
    version,
    time: new Date(e.time),
    pages: e.pageCount,
    bytes: e.bytes,
    ...(e.clientTag !== undefined ? { clientTag: e.clientTag } : {}),
  };
}

/** The time-index entry time (ms) of a time-index key. */
export function timeOfKey(db: DatabaseRef, key: Bytes): number {
  return Number(readU64be(key, timePrefix(db.prefix).length));
}

/**
 * The newest version committed at or before `time`. Between the creation and the first commit that is the
 * creation version; before the creation there is none.
 */
export async function versionAt(db: DatabaseRef, time: Date): Promise<Version> {
  if (!(time instanceof Date) || Number.isNaN(time.getTime())) {
    throw new InvalidOptionError('time', `${String(time)}; expected a valid Date`);
  }
  const ms = Math.max(0, Math.floor(time.getTime()));
  return readTransaction(db.kv, async (tx) => {
    const reader = tx.snapshot();
    const prefix = timePrefix(db.prefix);
    const [, metadata, entries] = await Promise.all([
      readWatermark(reader, db),
      reader.get(metadataKey(db.prefix)),
      reader.getRange(prefix, timeKeyPrefix(db.prefix, ms + 1), { limit: 1, reverse: true }),
    ]);
    if (metadata === undefined) throw new DatabaseNotFoundError(db.name);
    if (entries.length > 0) return versionFromBytes(versionSuffix(entries[0]![0]));
    const createdAt = decodeMetadata(metadata).createdAt;
    if (createdAt <= ms) return versionFromBytes(db.id);
    throw new NoVersionAtTimeError(db.name, time, new Date(createdAt));
  });
}

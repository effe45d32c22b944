/**
 * Committing one writer's pages.
 *
 * Small commits (contents up to INLINE_CONTENT_BYTES) are one kv transaction that writes the contents too.
 * Larger ones are two-phase:
 * 1. Contents go up first, keyed by hash, in small kv transactions: nothing is visible yet. The first of
 *    them also registers a commit token. GC revokes every token of a database when it deletes content, so
 *    a commit whose token is gone may reference deleted content and starts over instead of publishing.
 * 2. One kv transaction checks the token and conflicts and writes everything that makes the commit
 *    visible: the page-index entries (versionstamped keys), the last write version with the idempotency
 *    key and the commit's time, the changelog entry (which carries the idempotency key too) and the
 *    time-index entry.
 */

import { randomBytes } from 'node:crypto';
import { bytesEqual, keyAfter, prefixEnd, toHex, u64be } from '../kv/bytes.ts';
import type { Bytes } from '../kv/types.ts';
import { encodeChangelogEntry, idempotencyKeyOfEntry, MAX_LISTED_PAGES, validateClientTag } from './changelog.ts';
import { chunkContents, contentOf, hashPage, pageBytesOf, uploadChunk, uploadChunks, writeContent, type Content } from './content.ts';
import { headOf, lastWriteTime, readWatermarkSteps, type DatabaseRef } from './databases.ts';
import {
  CommitInterruptedError,
  CommitTooLargeError,
  ConflictError,
  FutureVersionError,
  InvalidOptionError,
  InvalidPageError,
  VersionTooOldError,
} from './errors.ts';
import { changedPages, noteOwnCommit, timeOfKey } from './history.ts';
import {
  changelogKey,
  changelogPrefix,
  idempotencyKey,
  lastWriteKey,
  pagePrefix,
  pageRange,
  timeKeyPrefix,
  timePrefix,
  tokenKey,
  versionSuffix,
} from './keys.ts';
import { validatePageNumber } from './read.ts';
import { all, runAsync, wait, type AnyReader, type AnyTransaction, type Steps } from './steps.ts';
import { writeTransactionSteps, type Attempt } from './transact.ts';
import { parseVersion, versionFromBytes, versionOfReadVersion, versionToBytes, type Version } from './version.ts';

export interface CommitRequest {
  /** The version the writer read at. */
  snapshot: Version;
  /** Page number -> full page bytes (length == pageSize). */
  pages: Map<number, Uint8Array>;
  /** Pages read; page-level conflict check (database-level above the threshold or when absent). */
  readSet?: Iterable<number>;
  /** Stored in the changelog entry. */
  clientTag?: string;
}

/** Above this many pages read, the conflict check is database-level (as mvSQLite does). */
export const PAGE_CONFLICT_CHECK_LIMIT = 2000;
/**
 * Contents up to this size are written by the publishing transaction itself (one kv commit, one sync); above,
 * the commit is two-phase. At the limit the publishing transaction, with a full page-level read set, is
 * ~0.93 MB as FoundationDB counts it: under its recommended 1 MB (10 MB hard limit). It covers a 100-row
 * update (~400 KiB); a larger limit would mostly hold the lmdb writer longer.
 */
export const INLINE_CONTENT_BYTES = 768 * 1024;
/**
 * The publishing transaction holds ~130 bytes per page (index key, hash, write-conflict range): 60,000
 * pages stay under 8 MB of FoundationDB's 10 MB.
 */
export const MAX_COMMIT_PAGES = 60_000;
/** Times a two-phase commit starts over when GC revoked its token. */
const TOKEN_ATTEMPTS = 3;

const EMPTY = new Uint8Array(0);

interface Plan {
  db: DatabaseRef;
  snapshot: Version;
  /** Sorted by page number. */
  writes: { page: number; hash: Uint8Array }[];
  contents: Content[];
  bytes: number;
  /** Present when the conflict check is page-level. */
  readSet?: number[];
  /** Present when the conflict check is database-level with a known read set (for the error's page list). */
  wideReadSet?: Set<number>;
  clientTag: string | undefined;
  idempotencyKey: Uint8Array;
}

/** Returns the new version. Throws ConflictError on conflict. */
export function commitPages(db: DatabaseRef, request: CommitRequest): Promise<Version> {
  return runAsync(commitPagesSteps(db, request));
}

export function* commitPagesSteps(db: DatabaseRef, request: CommitRequest): Steps<Version> {
  const plan = planCommit(db, request);
  if (plan.writes.length === 0) {
    // Nothing to publish: the writer's transaction is serializable at its snapshot.
    yield* writeTransactionSteps(db.kv, (tx) => checkSnapshot(tx, tx.snapshot(), tx.snapshot(), plan));
    return plan.snapshot;
  }
  if (plan.contents.reduce((n, c) => n + pageBytesOf(c), 0) <= INLINE_CONTENT_BYTES) {
    return (yield* publish(plan, true, undefined)) as Version;
  }
  const [first, ...rest] = chunkContents(plan.contents);
  for (let attempt = 1; attempt <= TOKEN_ATTEMPTS; attempt++) {
    const token = yield* openToken(plan, first!);
    yield* uploadChunks(db.kv, db.prefix, rest);
    const outcome = yield* publish(plan, false, token);
    if (outcome !== TOKEN_REVOKED) return outcome;
  }
  throw new CommitInterruptedError(TOKEN_ATTEMPTS);
}

function planCommit(db: DatabaseRef, request: CommitRequest): Plan {
  if (request === null || typeof request !== 'object') throw new InvalidOptionError('commit request', 'expected an object');
  const snapshot = parseVersion(request.snapshot);
  if (!(request.pages instanceof Map)) throw new InvalidPageError('pages must be a Map of page number -> page bytes');
  if (request.pages.size > MAX_COMMIT_PAGES) throw new CommitTooLargeError(request.pages.size, MAX_COMMIT_PAGES);
  const clientTag = request.clientTag;
  validateClientTag(clientTag);

  const writes: Plan['writes'] = [];
  const contents = new Map<string, Content>();
  let bytes = 0;
  for (const [page, data] of request.pages) {
    validatePageNumber(page);
    if (!(data instanceof Uint8Array) || data.length !== db.pageSize) {
      throw new InvalidPageError(
        `page ${page} has ${data instanceof Uint8Array ? `${data.length} bytes` : 'no bytes'}: every page of ` +
          `database ${JSON.stringify(db.name)} is exactly ${db.pageSize} bytes`,
      );
    }
    const hash = hashPage(data);
    writes.push({ page, hash });
    // contentOf copies: the caller may reuse its buffers while the upload runs.
    const id = toHex(hash);
    if (!contents.has(id)) contents.set(id, contentOf(data, hash));
    bytes += data.length;
  }
  writes.sort((a, b) => a.page - b.page);

  let readSet: number[] | undefined;
  let wideReadSet: Set<number> | undefined;
  if (request.readSet !== undefined) {
    if (request.readSet === null || typeof (request.readSet as Iterable<number>)[Symbol.iterator] !== 'function') {
      throw new InvalidPageError('readSet must be an iterable of page numbers');
    }
    const set = new Set<number>();
    for (const page of request.readSet) set.add(validatePageNumber(page));
    if (set.size <= PAGE_CONFLICT_CHECK_LIMIT) readSet = [...set];
    else wideReadSet = set;
  }
  return {
    db,
    snapshot,
    writes,
    contents: [...contents.values()],
    bytes,
    ...(readSet ? { readSet } : {}),
    ...(wideReadSet ? { wideReadSet } : {}),
    clientTag,
    idempotencyKey: randomId(),
  };
}

/** Random bytes drawn 4 KiB at a time: one draw per commit was ~2% of a small commit's CPU. */
let randomPool = new Uint8Array(0);
let randomAt = 0;

/** 16 random bytes (an idempotency key or a commit token). */
function randomId(): Uint8Array {
  if (randomAt + 16 > randomPool.length) {
    randomPool = new Uint8Array(randomBytes(4096));
    randomAt = 0;
  }
  randomAt += 16;
  return randomPool.slice(randomAt - 16, randomAt);
}

const TOKEN_REVOKED = Symbol('token revoked');

/**
 * Starts a two-phase commit: one kv transaction checks the conflicts that are already certain (so a doomed
 * commit does not upload 100 MB first), registers the token and uploads the first chunk. The token lands
 * before (or with) any content of this commit, so a GC pass that deletes any of it revokes the token.
 */
function* openToken(plan: Plan, firstChunk: Content[]): Steps<Uint8Array> {
  const token = randomId();
  yield* writeTransactionSteps(plan.db.kv, (tx) => openTokenIn(tx, plan, firstChunk, token));
  return token;
}

function* openTokenIn(tx: AnyTransaction, plan: Plan, firstChunk: Content[], token: Uint8Array): Steps<void> {
  const reader = tx.snapshot();
  yield* checkSnapshot(tx, reader, reader, plan);
  yield* checkConflicts(reader, reader, plan);
  yield* uploadChunk(tx, plan.db.prefix, firstChunk);
  tx.set(tokenKey(plan.db.prefix, token), u64be(BigInt(Date.now())));
}

/** The guards on a writer's snapshot: not in the future, not below the GC watermark, not above the head. */
function* checkSnapshot(
  tx: AnyTransaction,
  watermarkReader: AnyReader,
  lastWriteReader: AnyReader,
  plan: Plan,
): Steps<Bytes | undefined> {
  const latest = versionOfReadVersion(yield* wait(tx.getReadVersion()));
  if (plan.snapshot > latest) throw new FutureVersionError(plan.snapshot, latest);
  const [watermark, lastWrite] = yield* all([
    readWatermarkSteps(watermarkReader, plan.db),
    wait(lastWriteReader.get(lastWriteKey(plan.db.prefix))),
  ]);
  if (plan.snapshot < watermark) throw new VersionTooOldError(plan.snapshot, watermark);
  const head = headOf(plan.db, lastWrite);
  if (plan.snapshot > head) throw new ConflictError('head-moved-back', [], head, plan.snapshot);
  return lastWrite;
}

/**
 * Throws ConflictError if the writer's reads are stale. Page level: the newest version of every page read
 * must not be newer than the snapshot; `pageReader` must add read conflicts so two racing committers
 * cannot both pass. Database level: nobody may have committed after the snapshot.
 */
function* checkConflicts(pageReader: AnyReader, lastWriteReader: AnyReader, plan: Plan): Steps<void> {
  const { db, snapshot } = plan;
  if (plan.readSet) {
    const newest = yield* all(plan.readSet.map((page) => newestVersionOf(pageReader, db, page)));
    const stale = plan.readSet.filter((_, i) => newest[i] !== undefined && newest[i]! > snapshot);
    if (stale.length > 0) {
      const winning = newest.reduce<Version>((max, v) => (v !== undefined && v > max ? v : max), snapshot);
      throw new ConflictError('page', stale.sort((a, b) => a - b), winning, snapshot);
    }
    return;
  }
  const head = headOf(db, yield* wait(lastWriteReader.get(lastWriteKey(db.prefix))));
  if (head > snapshot) {
    const changed = yield* changedPages(lastWriteReader, db, snapshot, head);
    const pages = changed === 'all' ? [] : plan.wideReadSet ? changed.filter((p) => plan.wideReadSet!.has(p)) : changed;
    throw new ConflictError('database', pages, head, snapshot);
  }
}

/** The version of `page`'s newest page-index entry (undefined when it was never written). */
function* newestVersionOf(reader: AnyReader, db: DatabaseRef, page: number): Steps<Version | undefined> {
  const range = pageRange(db.prefix, page);
  const [entry] = yield* wait(reader.getRange(range.begin, range.end, { limit: 1, reverse: true }));
  return entry ? versionFromBytes(versionSuffix(entry[0])) : undefined;
}

/**
 * The read version of a publish's last attempt, and of the first that may have landed (after a 1021): a
 * commit version is above its read version, so that commit is newer than it (findLanded).
 */
interface PublishReads {
  last?: bigint;
  landedAfter?: bigint;
}

/** Phase two (or the only phase): one kv transaction makes the commit visible. */
function* publish(plan: Plan, inline: boolean, token: Uint8Array | undefined): Steps<Version | typeof TOKEN_REVOKED> {
  const { db } = plan;
  const reads: PublishReads = {};
  const written = yield* writeTransactionSteps(db.kv, (tx, attempt) => publishIn(tx, attempt, plan, inline, token, reads));
  if (written.value !== undefined) return written.value;
  const version = versionFromBytes(written.versionstamp!);
  if (written.kvVersion !== undefined && written.previousKvVersion !== undefined) {
    noteOwnCommit(db, {
      before: written.previousKvVersion,
      after: written.kvVersion,
      head: version,
      pages: plan.writes.map((w) => w.page),
    });
  }
  return version;
}

/** One attempt of publish: undefined when it wrote the commit, else what publish returns without writing. */
function* publishIn(
  tx: AnyTransaction,
  attempt: Readonly<Attempt>,
  plan: Plan,
  inline: boolean,
  token: Uint8Array | undefined,
  reads: PublishReads,
): Steps<Version | typeof TOKEN_REVOKED | undefined> {
  const { db } = plan;
  const ns = db.prefix;
  if (attempt.maybeCommitted && reads.landedAfter === undefined) reads.landedAfter = reads.last;
  reads.last = undefined;
  // Only after a maybe-committed attempt can this commit already be in the store. Looked for before the
  // checks: a landed commit is what a retry reports, and the checks would see it as a conflict (or as too
  // old, once GC moved the watermark up to it).
  if (attempt.maybeCommitted) {
    const earlier = yield* findLanded(tx, plan, reads.landedAfter);
    if (earlier !== undefined) return earlier;
  }
  const reader = tx.snapshot();
  // Page level: read the pages with conflicts, the last write version without (every commit writes it).
  // Database level: the last write version with a conflict.
  const lastWriteReader = plan.readSet ? reader : tx;
  const [tokenValue, lastWrite] = yield* all([
    wait(token ? tx.get(tokenKey(ns, token)) : undefined),
    // The watermark with a conflict: a deleted database or a moved watermark stops this commit.
    checkSnapshot(tx, tx, lastWriteReader, plan),
    checkConflicts(tx, lastWriteReader, plan),
  ]);
  if (token && tokenValue === undefined) return TOKEN_REVOKED;

  // Commit times never go back, so the time index stays in version order (versionAt relies on it).
  const now = Math.max(Date.now(), lastWriteTime(lastWrite) ?? (yield* lastIndexedTime(reader, db)));
  if (inline) for (const content of plan.contents) writeContent(tx, ns, content, now);
  for (const { page, hash } of plan.writes) tx.setVersionstampedKey(pagePrefix(ns, page), EMPTY, hash);
  tx.setVersionstampedValue(lastWriteKey(ns), plan.idempotencyKey, u64be(BigInt(now)));
  // No record of its own: the key travels in the changelog entry, and this write conflict makes a retry
  // that looks for it (findLanded) fail if this attempt lands after the retry read.
  const idempotency = idempotencyKey(ns, plan.idempotencyKey);
  tx.addWriteConflictRange(idempotency, keyAfter(idempotency));
  const listed = plan.writes.length <= MAX_LISTED_PAGES;
  tx.setVersionstampedKey(
    changelogPrefix(ns),
    EMPTY,
    encodeChangelogEntry({
      time: now,
      pageCount: plan.writes.length,
      bytes: plan.bytes,
      ...(plan.clientTag !== undefined ? { clientTag: plan.clientTag } : {}),
      pages: listed ? plan.writes.map((w) => w.page) : 'all',
      idempotencyKey: plan.idempotencyKey,
    }),
  );
  tx.setVersionstampedKey(timeKeyPrefix(ns, now), EMPTY, EMPTY);
  if (token) tx.clear(tokenKey(ns, token));
  reads.last = yield* wait(tx.getReadVersion()); // known already: checkSnapshot read at it
  return undefined;
}

/** The newest time-index entry's time (0 when none): for last write values that carry no time. */
function* lastIndexedTime(reader: AnyReader, db: DatabaseRef): Steps<number> {
  const [last] = yield* wait(reader.getRange(timePrefix(db.prefix), prefixEnd(timePrefix(db.prefix)), { limit: 1, reverse: true }));
  return last ? timeOfKey(db, last[0]) : 0;
}

/**
 * After a maybe-committed attempt: the version at which that attempt landed, found by its idempotency key
 * in the changelog after the snapshot and after `landedAfter`, the first such attempt's read version (where
 * it must be if it landed, unless GC trimmed it below its watermark; then the snapshot is too old anyway).
 * The bound keeps the scan to the commits of the last moments, however old the writer's snapshot is. The
 * key is read with a conflict: an attempt still in flight that lands after this read makes this attempt
 * fail, and the next one finds it.
 */
function* findLanded(tx: AnyTransaction, plan: Plan, landedAfter: bigint | undefined): Steps<Version | undefined> {
  const ns = plan.db.prefix;
  const idempotency = idempotencyKey(ns, plan.idempotencyKey);
  tx.addReadConflictRange(idempotency, keyAfter(idempotency));
  const bound = landedAfter === undefined ? plan.snapshot : versionOfReadVersion(landedAfter);
  const from = bound > plan.snapshot ? bound : plan.snapshot;
  const after = keyAfter(changelogKey(ns, versionToBytes(from)));
  for (const [key, value] of yield* wait(tx.snapshot().getRange(after, prefixEnd(changelogPrefix(ns))))) {
    const carried = idempotencyKeyOfEntry(value);
    if (carried !== undefined && bytesEqual(carried, plan.idempotencyKey)) return versionFromBytes(versionSuffix(key));
  }
  return undefined;
}


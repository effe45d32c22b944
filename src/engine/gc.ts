/**
 * Garbage collection of one database, in four steps (one module each), every one in small kv transactions
 * that each leave the store consistent, so GC can run beside readers and writers and an interrupted run
 * is finished by the next:
 *   1. watermark.ts   move the watermark (retention, pinned by tags and forks, forward only)
 *   2. gc-pages.ts    drop page versions superseded at or below it
 *   3. gc-content.ts  delete content nothing references any more
 *   4. gc-trim.ts     trim changelog, time index and idempotency records below it
 * A dry run reads the same way and reports what would be freed, deleting nothing.
 */

import type { DatabaseRef } from './databases.ts';
import { InvalidOptionError } from './errors.ts';
import { DEFAULT_CONTENT_GRACE_MS, dropUnreferencedContent, startReferences } from './gc-content.ts';
import { dropSupersededPages } from './gc-pages.ts';
import { trimHistory } from './gc-trim.ts';
import type { Version } from './version.ts';
import { advanceWatermark, type Pin } from './watermark.ts';

export type GcPhase = 'watermark' | 'pages' | 'content' | 'trim' | 'done';

export interface GcProgress {
  phase: GcPhase;
  /** Of the whole run, 0..1. */
  fraction: number;
}

export interface GcOptions {
  /** Report what would be freed; delete nothing and leave the watermark where it is. */
  dryRun?: boolean;
  /** The time retention counts back from (default: now). Content age is always measured from the real clock. */
  now?: Date;
  /** Keep content uploaded within this many ms (default one hour: longer than any commit's upload). */
  contentGraceMs?: number;
  onProgress?: (progress: GcProgress) => void;
}

export interface GcReport {
  dryRun: boolean;
  watermark: { from: Version; to: Version };
  /** The tag or fork that kept the watermark below where retention alone would move it. */
  heldBy?: Pin;
  /** Commits below the new watermark whose history records were dropped: versions no longer readable. */
  versions: number;
  /** Page versions (page-index entries) dropped. */
  pageVersions: number;
  /** Stored page contents dropped (content no page version references any more). */
  contents: number;
  /** Key and value bytes of everything dropped. */
  bytes: number;
}

/** Share of the run each phase reports as: the index and content scans are the long ones. */
const PHASES: Record<Exclude<GcPhase, 'done'>, [start: number, end: number]> = {
  watermark: [0, 0.01],
  pages: [0.01, 0.6],
  content: [0.6, 0.95],
  trim: [0.95, 1],
};

export async function collectGarbage(db: DatabaseRef, options: GcOptions = {}): Promise<GcReport> {
  const { dryRun = false, onProgress } = validate(options);
  const now = options.now?.getTime() ?? Date.now();
  const grace = options.contentGraceMs ?? DEFAULT_CONTENT_GRACE_MS;
  const report = (phase: Exclude<GcPhase, 'done'>) => (fraction: number) => {
    const [start, end] = PHASES[phase];
    onProgress?.({ phase, fraction: start + (end - start) * fraction });
  };

  report('watermark')(0);
  const move = await advanceWatermark(db, now, dryRun);
  // Commits after this head are caught up with by the content step (it reads the changelog from here).
  const refs = await startReferences(db);
  report('pages')(0);
  const pages = await dropSupersededPages(db, move.to, { dryRun, referenced: refs.hashes, onProgress: report('pages') });
  const uploadedBefore = Date.now() - grace;
  report('content')(0);
  const content = await dropUnreferencedContent(db, refs, { dryRun, uploadedBefore, onProgress: report('content') });
  report('trim')(0);
  const trimmed = await trimHistory(db, move.to, dryRun);
  onProgress?.({ phase: 'done', fraction: 1 });
  return {
    dryRun,
    watermark: { from: move.from, to: move.to },
    ...(move.heldBy ? { heldBy: move.heldBy } : {}),
    versions: trimmed.items,
    pageVersions: pages.items,
    contents: content.items,
    bytes: pages.bytes + content.bytes + trimmed.bytes,
  };
}

function validate(options: GcOptions): GcOptions {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('gc options', 'expected an object');
  if (options.dryRun !== undefined && typeof options.dryRun !== 'boolean') {
    throw new InvalidOptionError('dryRun', `${String(options.dryRun)}; dryRun is true or false`);
  }
  if (options.now !== undefined && (!(options.now instanceof Date) || Number.isNaN(options.now.getTime()))) {
    throw new InvalidOptionError('now', `${String(options.now)}; expected a valid Date`);
  }
  const grace = options.contentGraceMs;
  if (grace !== undefined && (typeof grace !== 'number' || !Number.isInteger(grace) || grace < 0)) {
    throw new InvalidOptionError('contentGraceMs', `${String(grace)}; a whole number of milliseconds >= 0`);
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new InvalidOptionError('onProgress', 'expected a function (progress) => void');
  }
  return options;
}

/**
 * History management for the Database: retention durations, tags as points in time, what a database
 * keeps (retention, oldest readable version, tags, forks), automatic GC, and restore (which needs the
 * page count of the version restored to, from its page 1).
 */

import {
  databaseInfo,
  emptyPageOne,
  headerPageCount,
  listForks,
  listTags,
  readPages,
  restoreTo,
  type DatabaseRef,
  type ForkInfo,
  type GcOptions,
  type GcReport,
  type RestoreResult,
  type TagInfo,
  type Version,
} from '../../vfs/index.ts';
import { ArgumentError } from './errors.ts';
import { UNIT_MS } from './time.ts';

/** Points in time may name a tag: "tag:<name>". */
export const TAG_PREFIX = 'tag:';

export const DURATION_FORMS = 'a number of milliseconds, or text such as "7 days", "12h", "30 minutes", "2 weeks"';

const DURATION = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i;

/** A duration in ms from a number of ms or text ("7 days", "12h", "0"). */
export function parseDuration(input: number | string, what: string): number {
  if (typeof input === 'number') {
    if (Number.isInteger(input) && input >= 0) return input;
    throw new ArgumentError(`${what} must be a whole number of milliseconds >= 0, got ${input}; accepted: ${DURATION_FORMS}`);
  }
  if (typeof input !== 'string') throw new ArgumentError(`${what} must be ${DURATION_FORMS}; got ${typeof input}`);
  const match = DURATION.exec(input.trim());
  const unit = match?.[2] === '' ? 1 : UNIT_MS[match?.[2]?.toLowerCase() ?? ''];
  if (match === null || unit === undefined || (match[2] === '' && Number(match[1]) !== 0)) {
    throw new ArgumentError(
      `cannot read ${what} from "${input}"; accepted: ${DURATION_FORMS} (units: seconds, minutes, hours, days, weeks or s, m, h, d, w)`,
    );
  }
  return Math.round(Number(match[1]) * unit);
}

export interface HistoryInfo {
  /** How long history stays readable before GC may drop it (ms). */
  retentionMs: number;
  /** The oldest version still readable: the creation version until GC drops history. */
  oldestVersion: Version;
  createdVersion: Version;
  /** The database this one was forked from, and the version it starts from. */
  forkOf: { name: string; version: Version } | null;
  tags: TagInfo[];
  /** Forks of this database (each keeps its base version readable here). */
  forks: ForkInfo[];
}

export async function historyOf(ref: DatabaseRef): Promise<HistoryInfo> {
  const [info, tags, forks] = await Promise.all([databaseInfo(ref), listTags(ref), listForks(ref)]);
  return {
    retentionMs: info.retentionMs,
    oldestVersion: info.truncatedBefore > info.createdVersion ? info.truncatedBefore : info.createdVersion,
    createdVersion: info.createdVersion,
    forkOf: info.forkOf,
    tags,
    forks,
  };
}

/**
 * A commit that makes the database's content equal to `version`: every page that differs, up to the page
 * count of `version` (page 1 included, so the count matches). A version before the first commit is the
 * empty database: its page 1 is SQLite's empty page 1.
 */
export async function restoreVersion(ref: DatabaseRef, version: Version, clientTag: string | undefined): Promise<RestoreResult> {
  const [pageOne] = await readPages(ref, [1], version);
  return restoreTo(ref, version, {
    pageCount: pageOne === undefined ? 1 : headerPageCount(pageOne),
    unwritten: (page) => (page === 1 ? emptyPageOne(ref.pageSize) : new Uint8Array(ref.pageSize)),
    ...(clientTag !== undefined ? { clientTag } : {}),
  });
}

export interface AutoGcOptions {
  /** Called with each run's report. */
  onResult?: (report: GcReport) => void;
  /** Called when a run fails (the timer keeps going). Default: the error is dropped. */
  onError?: (error: unknown) => void;
}

/**
 * Runs `gc` every `intervalMs` until the returned function is called; runs never overlap. The timer does
 * not keep the process alive.
 */
export function scheduleGc(gc: (options?: GcOptions) => Promise<GcReport>, intervalMs: number, options: AutoGcOptions = {}): () => void {
  if (!Number.isInteger(intervalMs) || intervalMs < 1) {
    throw new ArgumentError(`the GC interval must be a whole number of milliseconds >= 1, got ${String(intervalMs)}`);
  }
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    try {
      const report = await gc();
      options.onResult?.(report);
    } catch (error) {
      options.onError?.(error);
    }
    if (!stopped) schedule();
  };
  const schedule = () => {
    timer = setTimeout(() => void tick(), intervalMs);
    timer.unref();
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

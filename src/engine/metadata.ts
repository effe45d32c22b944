/** Per-database metadata (fixed at creation unless said otherwise) and the validation of its options. */

import { InvalidOptionError, UnsupportedFormatError } from './errors.ts';

export const DEFAULT_PAGE_SIZE = 4096;
export const MIN_PAGE_SIZE = 4096;
export const MAX_PAGE_SIZE = 65536;
export const DEFAULT_RETENTION_MS = 7 * 24 * 3600 * 1000;
/** A hundred years: anything longer is a typo. */
const MAX_RETENTION_MS = 100 * 365 * 24 * 3600 * 1000;

export interface DatabaseMetadata {
  pageSize: number;
  /** Wall-clock creation time, ms since the epoch. */
  createdAt: number;
  /** How long history stays readable before GC may drop it (GC may move the watermark up to now - retention). */
  retentionMs: number;
  /** A fork's base: reads of pages the fork never wrote fall through to it (set by forkDatabase). */
  forkOf: ForkBase | null;
  /** Where the base itself falls through (a fork of a fork), nearest first; empty otherwise. */
  ancestors: FallThrough[];
}

/** A namespace (id, 20 hex) read as of a version (20 hex). */
export interface FallThrough {
  id: string;
  version: string;
}

export interface ForkBase extends FallThrough {
  /** The source database's name (names never move to another namespace while a fork lives). */
  name: string;
}

export function validatePageSize(pageSize: unknown): number {
  if (
    typeof pageSize !== 'number' ||
    !Number.isInteger(pageSize) ||
    pageSize < MIN_PAGE_SIZE ||
    pageSize > MAX_PAGE_SIZE ||
    (pageSize & (pageSize - 1)) !== 0
  ) {
    throw new InvalidOptionError(
      'page size',
      `${String(pageSize)}; a page size is a power of two from ${MIN_PAGE_SIZE} to ${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE})`,
    );
  }
  return pageSize;
}

export function validateRetention(retentionMs: unknown): number {
  if (
    typeof retentionMs !== 'number' ||
    !Number.isInteger(retentionMs) ||
    retentionMs < 0 ||
    retentionMs > MAX_RETENTION_MS
  ) {
    throw new InvalidOptionError(
      'retention',
      `${String(retentionMs)}; retention is a whole number of milliseconds from 0 to ${MAX_RETENTION_MS} (default ${DEFAULT_RETENTION_MS}, 7 days)`,
    );
  }
  return retentionMs;
}

const FORMAT = 1;

export function encodeMetadata(m: DatabaseMetadata): Uint8Array {
  return Buffer.from(JSON.stringify({ format: FORMAT, ...m }), 'utf8');
}

export function decodeMetadata(bytes: Uint8Array): DatabaseMetadata {
  const raw = JSON.parse(Buffer.from(bytes).toString('utf8')) as DatabaseMetadata & { format: number };
  if (raw.format !== FORMAT) throw new UnsupportedFormatError(raw.format, FORMAT);
  return {
    pageSize: raw.pageSize,
    createdAt: raw.createdAt,
    retentionMs: raw.retentionMs,
    forkOf: raw.forkOf ?? null,
    ancestors: raw.ancestors ?? [],
  };
}

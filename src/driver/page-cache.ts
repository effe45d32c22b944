/** The process-wide page cache budget, as the public API sets it. */
import { DEFAULT_PAGE_CACHE_BYTES, processPageCacheBudget } from '../../vfs/index.ts';
import { ArgumentError } from './errors.ts';

export { DEFAULT_PAGE_CACHE_BYTES };

/**
 * Sets the memory the page caches of all connections in this process share, in bytes (default 256 MiB;
 * each cached page counts its size plus 640 bytes, about what it takes in memory). Pages past a smaller limit are dropped at once.
 */
export function setPageCacheBytes(bytes: number): void {
  if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0) {
    throw new ArgumentError(
      `the page cache size must be a whole number of bytes >= 0 (e.g. ${DEFAULT_PAGE_CACHE_BYTES} for 256 MiB, the default), got ${describe(bytes)}`,
    );
  }
  processPageCacheBudget.setMaxBytes(bytes);
}

/** The page cache size in bytes set for this process, and how much of it cached pages use now. */
export function pageCacheUsage(): { maxBytes: number; usedBytes: number } {
  return { maxBytes: processPageCacheBudget.maxBytes, usedBytes: processPageCacheBudget.usedBytes };
}

function describe(value: unknown): string {
  return typeof value === 'number' ? String(value) : `${typeof value} ${JSON.stringify(value) ?? String(value)}`;
}

/**
 * Restore: a new commit whose pages equal those of an earlier version. Nothing is destroyed: the previous
 * head stays in history, so a restore is undone by restoring to it.
 */

import { commitPages } from './commit.ts';
import { differingPages } from './compare.ts';
import { head, type DatabaseRef } from './databases.ts';
import { ConflictError } from './errors.ts';
import { readPages } from './read.ts';
import { parseVersion, type Version } from './version.ts';

export interface RestoreOptions {
  /** Pages 1..pageCount are restored (the caller knows the page count of `target`, e.g. from page 1). */
  pageCount: number;
  /** The bytes of a page that was never written at `target` (default: zeros). */
  unwritten?: (page: number) => Uint8Array;
  clientTag?: string;
  /** Attempts when another commit lands between reading the head and committing (default 10). */
  attempts?: number;
}

export interface RestoreResult {
  /** The new head: the restoring commit (the previous head when nothing differed). */
  version: Version;
  /** The head before the restore: restore to it to undo. */
  previous: Version;
  /** Pages the restoring commit wrote. */
  pages: number;
}

export async function restoreTo(db: DatabaseRef, target: Version, options: RestoreOptions): Promise<RestoreResult> {
  const at = parseVersion(target);
  const attempts = options.attempts ?? 10;
  for (let attempt = 1; ; attempt++) {
    const previous = await head(db);
    const pages = await differingPages(db, at, previous, options.pageCount);
    if (pages.length === 0) return { version: previous, previous, pages: 0 };
    const contents = await readPages(db, pages, at);
    const writes = new Map(pages.map((page, i) => [page, contents[i] ?? options.unwritten?.(page) ?? new Uint8Array(db.pageSize)]));
    try {
      // No read set: a database-level check, so any commit since `previous` makes this one start over.
      const version = await commitPages(db, {
        snapshot: previous,
        pages: writes,
        ...(options.clientTag !== undefined ? { clientTag: options.clientTag } : {}),
      });
      return { version, previous, pages: writes.size };
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt >= attempts) throw err;
    }
  }
}

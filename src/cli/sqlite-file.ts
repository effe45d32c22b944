/**
 * Ordinary SQLite files on disk, for import and export: checking a file's
 * header before its pages are copied, and writing pages out atomically.
 * (Header layout: https://www.sqlite.org/fileformat2.html#the_database_header.)
 */

import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { headerPageCount, headerPageSize, isWalHeader, normalizePageOne } from '../../vfs/page-one.ts';
import { CliError } from './errors.ts';

const MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const HEADER_BYTES = 100;

export interface SqliteFileLayout {
  pageSize: number;
  pageCount: number;
}

/**
 * The page size and page count of an SQLite file, from its first 100 bytes
 * and its size; a clear error for anything that is not a whole, readable file.
 */
export function fileLayout(header: Uint8Array, fileSize: number, file: string): SqliteFileLayout {
  if (fileSize === 0) return { pageSize: 0, pageCount: 0 }; // SQLite's empty database
  if (header.length < HEADER_BYTES || !Buffer.from(header.subarray(0, MAGIC.length)).equals(MAGIC)) {
    throw new CliError(`${file} is not an SQLite database: it does not start with the "SQLite format 3" header`);
  }
  const pageSize = headerPageSize(header);
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
    throw new CliError(`${file} has an invalid page size (${pageSize}) in its header: the file is damaged`);
  }
  if (fileSize % pageSize !== 0) {
    throw new CliError(`${file} is ${fileSize} bytes, not a whole number of ${pageSize}-byte pages: the file is truncated or damaged`);
  }
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  // As in SQLite: the header's page count holds only when version-valid-for equals the change counter.
  const countValid = view.getUint32(24) === view.getUint32(92) && headerPageCount(header) > 0;
  const pageCount = countValid ? headerPageCount(header) : fileSize / pageSize;
  if (pageCount * pageSize > fileSize) {
    throw new CliError(`${file} has ${fileSize / pageSize} pages but its header says ${pageCount}: the file is truncated`);
  }
  return { pageSize, pageCount };
}

/**
 * Page 1 as mvdb stores it: rollback-journal mode (mvdb has no WAL), the
 * page count in the header, and the change counter in the VFS's stored form.
 */
export function importedPageOne(page: Uint8Array, pageCount: number): Uint8Array {
  const copy = normalizePageOne(page);
  if (isWalHeader(copy)) {
    copy[18] = 1;
    copy[19] = 1;
  }
  new DataView(copy.buffer).setUint32(28, pageCount);
  return copy;
}

/** Refuses a file SQLite would first have to recover: a hot journal or an unmerged WAL next to it. */
export async function checkNoSidecars(file: string): Promise<void> {
  for (const [suffix, advice] of [
    ['-wal', `checkpoint it first: sqlite3 ${file} "PRAGMA wal_checkpoint(TRUNCATE)"`],
    ['-journal', `open it once with sqlite3 to roll the interrupted transaction back`],
  ] as const) {
    const size = await stat(`${file}${suffix}`).then(
      (s) => s.size,
      () => 0,
    );
    if (size > 0) {
      throw new CliError(`${file} has a non-empty ${basename(file)}${suffix} next to it (changes not yet in the file); ${advice}`);
    }
  }
}

/** Reads an SQLite file page by page. */
export async function readSqliteFile(
  file: string,
  onPage: (pageNumber: number, page: Uint8Array) => void | Promise<void>,
  layoutFound?: (layout: SqliteFileLayout) => void,
): Promise<SqliteFileLayout> {
  const handle = await open(file, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new CliError(err.code === 'ENOENT' ? `${file} does not exist` : `cannot read ${file}: ${err.message}`);
  });
  try {
    const { size } = await handle.stat();
    const header = new Uint8Array(Math.min(size, HEADER_BYTES));
    await handle.read(header, 0, header.length, 0);
    const layout = fileLayout(header, size, file);
    layoutFound?.(layout);
    for (let n = 1; n <= layout.pageCount; n++) {
      const page = new Uint8Array(layout.pageSize);
      const { bytesRead } = await handle.read(page, 0, layout.pageSize, (n - 1) * layout.pageSize);
      if (bytesRead !== layout.pageSize) throw new CliError(`${file} changed while it was being read`);
      await onPage(n, page);
    }
    return layout;
  } finally {
    await handle.close();
  }
}

/**
 * Writes a file through a temporary name and renames it into place, so a
 * failed export never leaves a partial file where the database should be.
 */
export async function writeFileAtomically(
  file: string,
  write: (append: (bytes: Uint8Array) => Promise<void>) => Promise<void>,
): Promise<void> {
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  const handle = await open(temp, 'wx').catch((err: NodeJS.ErrnoException) => {
    throw new CliError(`cannot write ${file}: ${err.message}`);
  });
  let ok = false;
  try {
    await write(async (bytes) => {
      await handle.write(bytes);
    });
    await handle.sync();
    ok = true;
  } finally {
    await handle.close();
    if (!ok) await rm(temp, { force: true });
  }
  await rename(temp, file);
}

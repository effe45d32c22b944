/**
 * A database as an ordinary SQLite file image. An SQLite database is its
 * pages, so a file's pages become a new database's first commit as they are
 * (schema, rowids, free pages and all), and a version's pages are a file
 * that sqlite3 opens; only page 1's header is kept in the form the VFS
 * stores it. (Header layout: https://www.sqlite.org/fileformat2.html#the_database_header.)
 */

import {
  commitPages,
  createDatabase,
  deleteDatabase,
  head,
  MAX_COMMIT_PAGES,
  MIN_PAGE_SIZE,
  MvdbError,
  readPages,
  type DatabaseRef,
  type Kv,
  type Version,
} from '../src/engine/index.ts';
import { headerChangeCounter, headerPageCount, headerPageSize, headerVersionValidFor, isWalHeader, normalizePageOne } from './page-one.ts';

/** Bytes that are not an SQLite database mvdb can take in (each message names the source and the problem). */
export class InvalidImageError extends MvdbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_IMAGE', message);
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

const MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const HEADER_BYTES = 100;
/** Pages read per round trip when writing an image out. */
const WRITE_BATCH_PAGES = 256;

export interface ImageLayout {
  /** 0 for the empty image (SQLite's empty database is the empty file). */
  pageSize: number;
  pageCount: number;
}

/** Where an image's bytes come from: a file, a buffer. */
export interface ImageSource {
  /** Names the source in messages (a file's path). */
  label: string;
  /** A file path, for advice that runs sqlite3 on it. */
  path?: string;
  size: number;
  /** Up to `length` bytes from `position` (fewer only if the source shrank meanwhile). */
  read(position: number, length: number): Promise<Uint8Array>;
}

export interface FileImage extends ImageLayout {
  /** Page number (1..pageCount) -> the page as in the source. */
  pages: Map<number, Uint8Array>;
}

/**
 * The page size and page count of an image, from its first 100 bytes and its
 * size; InvalidImageError for anything that is not a whole SQLite database.
 */
function imageLayout(header: Uint8Array, size: number, label: string): ImageLayout {
  if (size === 0) return { pageSize: 0, pageCount: 0 };
  if (header.length < HEADER_BYTES || !Buffer.from(header.subarray(0, MAGIC.length)).equals(MAGIC)) {
    throw new InvalidImageError(`${label} is not an SQLite database: it does not start with the "SQLite format 3" header`);
  }
  const pageSize = headerPageSize(header);
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
    throw new InvalidImageError(`${label} has an invalid page size (${pageSize}) in its header: the file is damaged`);
  }
  if (size % pageSize !== 0) {
    throw new InvalidImageError(`${label} is ${size} bytes, not a whole number of ${pageSize}-byte pages: the file is truncated or damaged`);
  }
  // As in SQLite: the header's page count holds only when version-valid-for equals the change counter.
  const countValid = headerChangeCounter(header) === headerVersionValidFor(header) && headerPageCount(header) > 0;
  const pageCount = countValid ? headerPageCount(header) : size / pageSize;
  if (pageCount * pageSize > size) {
    throw new InvalidImageError(`${label} has ${size / pageSize} pages but its header says ${pageCount}: the file is truncated`);
  }
  return { pageSize, pageCount };
}

/** Refuses what one new database cannot hold, saying how to convert the file. */
function checkImportable(layout: ImageLayout, source: ImageSource): void {
  const sqlite3 = (sql: string) => (source.path === undefined ? `"${sql}" in sqlite3` : `sqlite3 ${source.path} "${sql}"`);
  if (layout.pageCount > 0 && layout.pageSize < MIN_PAGE_SIZE) {
    throw new InvalidImageError(
      `${source.label} uses ${layout.pageSize}-byte pages; mvdb needs at least ${MIN_PAGE_SIZE}: ` +
        `convert it first with ${sqlite3(`PRAGMA page_size=${MIN_PAGE_SIZE}; VACUUM`)}`,
    );
  }
  if (layout.pageCount > MAX_COMMIT_PAGES) {
    throw new InvalidImageError(
      `${source.label} has ${layout.pageCount} pages; one import commits at most ${MAX_COMMIT_PAGES} ` +
        `(a larger page size holds more: ${sqlite3('PRAGMA page_size=65536; VACUUM')})`,
    );
  }
}

/**
 * The pages of an image, after checking its header and that one new database
 * can hold it (before any page past the header is read). `onProgress` gets
 * pages read so far.
 */
export async function readImage(source: ImageSource, onProgress?: (done: number, total: number) => void): Promise<FileImage> {
  const header = await source.read(0, Math.min(source.size, HEADER_BYTES));
  const layout = imageLayout(header, source.size, source.label);
  checkImportable(layout, source);
  onProgress?.(0, layout.pageCount);
  const pages = new Map<number, Uint8Array>();
  for (let n = 1; n <= layout.pageCount; n++) {
    const page = await source.read((n - 1) * layout.pageSize, layout.pageSize);
    if (page.length !== layout.pageSize) throw new InvalidImageError(`${source.label} changed while it was being read`);
    pages.set(n, page);
    onProgress?.(n, layout.pageCount);
  }
  return { ...layout, pages };
}

/**
 * Page 1 as the VFS stores it: rollback-journal mode (mvdb has no WAL), the
 * page count in the header, and the change counter in its stored form.
 */
function storedPageOne(page: Uint8Array, pageCount: number): Uint8Array {
  const copy = normalizePageOne(page);
  if (isWalHeader(copy)) {
    copy[18] = 1;
    copy[19] = 1;
  }
  new DataView(copy.buffer, copy.byteOffset, copy.byteLength).setUint32(28, pageCount);
  return copy;
}

/**
 * Creates database `name` with the image as its content, in one commit, and
 * returns it with its version. Refuses a taken name (DatabaseExistsError); a
 * failed commit deletes the new database again.
 */
export async function createFromImage(
  kv: Kv,
  name: string,
  image: FileImage,
  options: { clientTag?: string } = {},
): Promise<{ ref: DatabaseRef; version: Version }> {
  const ref = await createDatabase(kv, name, image.pageCount > 0 ? { pageSize: image.pageSize } : {});
  if (image.pageCount === 0) return { ref, version: await head(ref) };
  const pages = new Map(image.pages);
  pages.set(1, storedPageOne(image.pages.get(1)!, image.pageCount));
  try {
    const version = await commitPages(ref, { snapshot: await head(ref), pages, clientTag: options.clientTag });
    return { ref, version };
  } catch (error) {
    await deleteDatabase(kv, name);
    throw error;
  }
}

/**
 * Hands the pages of `db` at `version` to `write` as a file image, in order,
 * a batch at a time; a page never written is zeros, as in a sparse file.
 * Returns the image's layout (0 pages for a database nothing was written to).
 */
export async function writeImage(
  db: DatabaseRef,
  version: Version,
  write: (bytes: Uint8Array) => Promise<void>,
  onProgress?: (done: number, total: number) => void,
): Promise<ImageLayout> {
  const [first] = await readPages(db, [1], version);
  const pageCount = first === undefined ? 0 : headerPageCount(first);
  onProgress?.(0, pageCount);
  for (let from = 1; from <= pageCount; from += WRITE_BATCH_PAGES) {
    const numbers = Array.from({ length: Math.min(WRITE_BATCH_PAGES, pageCount - from + 1) }, (_, i) => from + i);
    const pages = await readPages(db, numbers, version);
    await write(Buffer.concat(pages.map((p) => p ?? new Uint8Array(db.pageSize))));
    onProgress?.(from + numbers.length - 1, pageCount);
  }
  return { pageSize: db.pageSize, pageCount };
}

/**
 * Import and export: a new database from an ordinary SQLite file (or its
 * bytes), and one version of a database as such a file, for sqlite3 and every
 * other SQLite tool.
 */

import {
  createFromImage,
  deleteDatabase,
  head,
  InvalidImageError,
  openDatabase,
  readImage,
  writeImage,
  type DatabaseRef,
  type FileImage,
  type ImageSource,
  type Version,
} from '../../vfs/index.ts';
import { Database, type DatabaseSettings } from './database.ts';
import { ArgumentError, SqliteError, checkClientTag, checkOptionNames } from './errors.ts';
import type { StoreOptions } from './index.ts';
import { bytesSource, withFileSource, writeFileAtomically } from './sqlite-file.ts';
import { chooseSqliteBuild, sqliteBuildFromEnv } from './sqlite-build.ts';
import { withStore } from './store.ts';
import { parsePointInTime, type PointInTime } from './time.ts';

export interface TransferProgress {
  /**
   * 'read': pages read from the file; 'commit': the import's one commit (0, then all);
   * 'check': SQLite's quick_check of the import (0, then all); 'write': pages of an export written.
   */
  phase: 'read' | 'commit' | 'check' | 'write';
  done: number;
  total: number;
}

export interface ImportOptions extends StoreOptions {
  /** Stored with the import's commit in the database's log. */
  clientTag?: string;
  onProgress?: (progress: TransferProgress) => void;
}

export interface ImportResult {
  /** The version of the import's commit (the creation version for an empty file). */
  version: Version;
  pageSize: number;
  /** Pages imported (0 for SQLite's empty database, the empty file). */
  pages: number;
  /** Tables in the imported schema. */
  tables: number;
}

export interface ExportOptions extends StoreOptions {
  /** The version to export: a version, a Date, or text such as "3 days ago" (default: the head). */
  at?: PointInTime;
  /** Replace an existing file (default false: an existing file is an error). */
  replace?: boolean;
  onProgress?: (progress: TransferProgress) => void;
}

export interface ExportResult {
  version: Version;
  pageSize: number;
  /** Pages written (0 for a database nothing was written to: the empty file). */
  pages: number;
}

const IMPORT_OPTIONS = ['store', 'clientTag', 'onProgress'];
const EXPORT_OPTIONS = ['store', 'at', 'replace', 'onProgress'];

/** For the handles this module opens itself: reads only, no retries, the store's default build. */
function reader(ref: DatabaseRef): DatabaseSettings {
  return { bigint: false, cachePages: undefined, retries: 0, clientTag: undefined, sqliteBuild: chooseSqliteBuild(undefined, ref.kv) };
}

/**
 * Creates database `name` from an SQLite file (a path, or the file's bytes):
 * its pages are copied as they are, in one commit, and SQLite's quick_check
 * must pass. On any failure nothing is left behind: a file that is not an
 * SQLite database mvdb can hold, or that SQLite finds damaged, is an
 * InvalidImageError; a taken name a DatabaseExistsError.
 */
export async function importDatabase(name: string, source: string | Uint8Array, options: ImportOptions = {}): Promise<ImportResult> {
  checkOptions('importDatabase', options, IMPORT_OPTIONS);
  const { clientTag, onProgress } = options;
  checkClientTag(clientTag);
  sqliteBuildFromEnv(); // the check after the commit runs SQLite: a bad MVDB_SQLITE_BUILD fails before it
  const read = async (from: ImageSource) => ({
    label: from.label,
    image: await readImage(from, (done, total) => onProgress?.({ phase: 'read', done, total })),
  });
  let file: { label: string; image: FileImage };
  if (typeof source === 'string') file = await withFileSource(source, read);
  else if (source instanceof Uint8Array) file = await read(bytesSource(source));
  else throw new ArgumentError(`importDatabase() reads a file path or the file's bytes (a Uint8Array), got ${describe(source)}`);
  const { image, label } = file;

  return withStore(options, async (kv) => {
    const total = image.pageCount;
    onProgress?.({ phase: 'commit', done: 0, total });
    const { ref, version } = await createFromImage(kv, name, image, { clientTag });
    onProgress?.({ phase: 'commit', done: total, total });
    onProgress?.({ phase: 'check', done: 0, total });
    let tables: number;
    try {
      tables = await checkImported(ref, version, label);
    } catch (error) {
      await deleteDatabase(kv, name);
      throw error;
    }
    onProgress?.({ phase: 'check', done: total, total });
    return { version, pageSize: ref.pageSize, pages: total, tables };
  });
}

/** Runs SQLite's quick_check on an imported database; returns its number of tables. */
async function checkImported(ref: DatabaseRef, version: Version, label: string): Promise<number> {
  const damaged = (detail: string, cause?: unknown) =>
    new InvalidImageError(`${label} is damaged (${detail.replace(/\s*\n\s*/g, ' ')}); nothing was imported`, { cause });
  const db = new Database(ref, undefined, version, reader(ref));
  try {
    const problems = (await db.query('PRAGMA quick_check', [], { rowMode: 'array' })).map((r) => String(r[0])).filter((m) => m !== 'ok');
    if (problems.length > 0) throw damaged(`SQLite's quick_check: ${problems.slice(0, 3).join('; ')}`);
    const row = await db.get("SELECT count(*) FROM sqlite_schema WHERE type = 'table'", [], { rowMode: 'array' });
    return Number(row![0]);
  } catch (error) {
    throw error instanceof SqliteError ? damaged(error.message, error) : error;
  } finally {
    await db.close();
  }
}

/**
 * Writes one version of database `name` (default: the head) as an ordinary
 * SQLite file: to a path, through a temporary file renamed into place (a
 * failed export leaves no file), or to `target(bytes)` a batch of pages at a
 * time, in order.
 */
export async function exportDatabase(
  name: string,
  target: string | ((bytes: Uint8Array) => void | Promise<void>),
  options: ExportOptions = {},
): Promise<ExportResult> {
  checkOptions('exportDatabase', options, EXPORT_OPTIONS);
  const { at, replace = false, onProgress } = options;
  if (typeof target !== 'string' && typeof target !== 'function') {
    throw new ArgumentError(`exportDatabase() writes to a file path or a function (bytes) => ..., got ${describe(target)}`);
  }
  if (typeof replace !== 'boolean') throw new ArgumentError('replace must be true or false');
  if (at !== undefined) parsePointInTime(at); // a malformed point fails before anything is touched
  sqliteBuildFromEnv(); // so does a bad MVDB_SQLITE_BUILD (reading at a point runs SQLite)

  return withStore(options, async (kv) => {
    const write = async (append: (bytes: Uint8Array) => Promise<void>): Promise<ExportResult> => {
      const ref = await openDatabase(kv, name, { create: false });
      const version = at === undefined ? await head(ref) : await checkedVersion(ref, at);
      const layout = await writeImage(ref, version, append, (done, total) => onProgress?.({ phase: 'write', done, total }));
      return { version, pageSize: layout.pageSize, pages: layout.pageCount };
    };
    if (typeof target === 'string') return writeFileAtomically(target, replace, write);
    return write(async (bytes) => {
      await target(bytes);
    });
  });
}

/** The version `at` names, checked as at() checks it: not in the future, not before creation or the GC watermark. */
async function checkedVersion(ref: DatabaseRef, at: PointInTime): Promise<Version> {
  const db = new Database(ref, undefined, await head(ref), reader(ref));
  try {
    const snapshot = await db.at(at);
    await snapshot.close();
    return snapshot.version;
  } finally {
    await db.close();
  }
}

function checkOptions(fn: string, options: object, accepted: string[]): void {
  checkOptionNames(fn, options, accepted);
  const { onProgress } = options as { onProgress?: unknown };
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new ArgumentError('onProgress must be a function (progress) => ...');
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

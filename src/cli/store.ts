/**
 * The CLI's view of a store and its databases: the few operations the
 * commands need, in the shapes they print. The implementation over the
 * driver is in connect.ts; commands depend only on these types.
 */

import type { PointInTime } from './args.ts';
import type { ResultSet } from './format.ts';

export interface CommitEntry {
  version: string;
  time: Date;
  /** Pages the commit wrote. */
  pages: number;
  /** Bytes of page data the commit wrote. */
  bytes: number;
  clientTag?: string;
}

export interface DatabaseSummary {
  name: string;
  /** Newest version (the creation version before the first commit). */
  head: string;
  pageSize: number;
  createdAt: Date;
}

export interface CliDatabase {
  readonly name: string;
  /** The version of a read-only snapshot; undefined for a connection at the head. */
  readonly snapshot: string | undefined;
  /** The version the connection last read or wrote at. */
  version(): Promise<string>;
  /** Runs one statement; `columns` is empty for statements that return no rows. */
  execute(sql: string): Promise<ResultSet>;
  /** A read-only view of the database as of `point`; close it when done. */
  at(point: PointInTime): Promise<CliDatabase>;
  /** Commits, newest first. */
  log(limit: number): Promise<CommitEntry[]>;
  close(): Promise<void>;
}

/** The pages of one version of a database, for export. */
export interface PageSnapshot {
  version: string;
  pageSize: number;
  /** Pages in the file at this version (0 for a database nothing was written to). */
  pageCount: number;
  /** Pages first..first+count-1; a page never written reads as zeros, as in a sparse file. */
  read(first: number, count: number): Promise<Uint8Array[]>;
}

export interface CliStore {
  /** The store URL as given (for messages). */
  readonly url: string;
  /** Opens a database; with create: false a missing one is an error that says how to list them. */
  open(name: string, options: { create: boolean }): Promise<CliDatabase>;
  list(): Promise<DatabaseSummary[]>;
  /**
   * Creates database `name` with `pages` (1..n, whole SQLite pages of
   * `pageSize` bytes) as its content, in one commit; returns its version.
   * Refuses a name that exists.
   */
  importPages(name: string, pageSize: number, pages: Map<number, Uint8Array>, clientTag: string): Promise<string>;
  /** Deletes a database and its whole history. */
  deleteDatabase(name: string): Promise<void>;
  /** The pages of `name` at `point`. */
  pagesAt(name: string, point: PointInTime): Promise<PageSnapshot>;
  close(): Promise<void>;
}

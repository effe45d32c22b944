/**
 * The CLI's view of a store and its databases: the few operations the
 * commands need, in the shapes they print. The implementation over the
 * driver is in connect.ts; commands depend only on these types.
 */

import type { ExportResult, ImportResult, TransferProgress } from '../index.ts';
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

export interface CliStore {
  /** The store URL as given (for messages). */
  readonly url: string;
  /** Opens a database; with create: false a missing one is an error that says how to list them. */
  open(name: string, options: { create: boolean }): Promise<CliDatabase>;
  list(): Promise<DatabaseSummary[]>;
  /** Creates database `name` from the SQLite file `file` (checked by SQLite); refuses a name that exists. */
  importFile(name: string, file: string, options: { clientTag: string; onProgress: (progress: TransferProgress) => void }): Promise<ImportResult>;
  /** Writes `name` at `at` to the SQLite file `file`; `replace` lets it replace an existing file. */
  exportFile(
    name: string,
    file: string,
    options: { at: PointInTime; replace: boolean; onProgress: (progress: TransferProgress) => void },
  ): Promise<ExportResult>;
  close(): Promise<void>;
}

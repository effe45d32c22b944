/**
 * The CLI's store (store.ts) over the driver's public API: databases and
 * snapshots are driver Databases; listing, import and export are the
 * driver's store-wide calls on the same store URL.
 */

import { existsSync } from 'node:fs';
import {
  DatabaseExistsError,
  DatabaseNotFoundError,
  exportDatabase,
  importDatabase,
  listDatabases,
  normalizeStoreUrl,
  open,
  type Database,
  type ExportResult,
  type ImportResult,
  type PointInTime as DriverPointInTime,
  type TransferProgress,
} from '../index.ts';
import type { PointInTime } from './args.ts';
import { CliError } from './errors.ts';
import type { ResultSet } from './format.ts';
import type { CliDatabase, CliStore, CommitEntry, DatabaseSummary } from './store.ts';

/** Every commit the CLI makes says so in the log. */
export const CLIENT_TAG = 'mvdb-cli';

class DriverDatabase implements CliDatabase {
  constructor(private readonly db: Database) {}

  get name(): string {
    return this.db.name;
  }

  get snapshot(): string | undefined {
    return this.db.snapshot;
  }

  version(): Promise<string> {
    return this.db.head();
  }

  async execute(sql: string): Promise<ResultSet> {
    const { columns, rows } = await this.db.execute(sql);
    return { columns, rows };
  }

  async at(point: PointInTime): Promise<CliDatabase> {
    return new DriverDatabase(await this.db.at(driverPoint(point) ?? (await this.db.head())));
  }

  async log(limit: number): Promise<CommitEntry[]> {
    return this.db.log({ limit });
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

/** A missing database, with where to look. */
export function notFound(err: unknown, url: string): unknown {
  return err instanceof DatabaseNotFoundError
    ? new CliError(`${err.message} in ${url} (mvdb ls lists the databases there)`, { cause: err })
    : err;
}

/** The driver's form of a point (undefined for the head). */
export function driverPoint(point: PointInTime): DriverPointInTime | undefined {
  if (point.kind === 'head') return undefined;
  if (point.kind === 'tag') return `tag:${point.tag}`;
  return point.kind === 'version' ? point.version : point.time;
}

class DriverStore implements CliStore {
  constructor(readonly url: string) {}

  async open(name: string, options: { create: boolean }): Promise<CliDatabase> {
    try {
      return new DriverDatabase(await open(name, { store: this.url, create: options.create, clientTag: CLIENT_TAG }));
    } catch (err) {
      throw notFound(err, this.url);
    }
  }

  async list(): Promise<DatabaseSummary[]> {
    const databases = await listDatabases({ store: this.url });
    return databases.map(({ name, head, pageSize, createdAt }) => ({ name, head, pageSize, createdAt }));
  }

  importFile(
    name: string,
    file: string,
    options: { clientTag: string; onProgress: (progress: TransferProgress) => void },
  ): Promise<ImportResult> {
    return importDatabase(name, file, { store: this.url, ...options }).catch((err: unknown) => {
      throw err instanceof DatabaseExistsError
        ? new CliError(`${err.message} in ${this.url}: import into a new name (mvdb ls lists the taken ones)`, { cause: err })
        : err;
    });
  }

  exportFile(
    name: string,
    file: string,
    options: { at: PointInTime; replace: boolean; onProgress: (progress: TransferProgress) => void },
  ): Promise<ExportResult> {
    const at = driverPoint(options.at);
    return exportDatabase(name, file, {
      store: this.url,
      replace: options.replace,
      onProgress: options.onProgress,
      ...(at !== undefined ? { at } : {}),
    }).catch((err: unknown) => {
      throw notFound(err, this.url);
    });
  }

  /** Nothing to release: each driver call and Database holds the store while it needs it. */
  async close(): Promise<void> {}
}

/** The store at `url`; without `create`, a store directory that does not exist is an error, not a new store. */
export async function openStore(url: string, options: { create: boolean }): Promise<CliStore> {
  const normalized = normalizeStoreUrl(url);
  if (!options.create && normalized.startsWith('lmdb:') && !existsSync(normalized.slice('lmdb:'.length))) {
    throw new CliError(`no store at ${url}: --store or MVDB_STORE names another; mvdb sql, shell and import create one`);
  }
  return new DriverStore(url);
}

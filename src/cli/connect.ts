/**
 * The CLI's store (store.ts) over the driver. Databases and snapshots are
 * driver Databases; the store-wide operations the driver has no call for
 * (listing databases, importing and exporting whole files page by page) go to
 * the engine, on the driver's shared Kv for the same store URL, so every
 * handle in this process sees one store.
 */

import { existsSync } from 'node:fs';
import { open, type Database } from '../index.ts';
import { acquireStore, normalizeStoreUrl, releaseStore } from '../driver/store.ts';
import {
  commitPages,
  createDatabase,
  DatabaseExistsError,
  DatabaseNotFoundError,
  deleteDatabase,
  head,
  listDatabases,
  openDatabase,
  readPages,
} from '../engine/index.ts';
import type { Kv } from '../kv/types.ts';
import { headerPageCount } from '../../vfs/page-one.ts';
import type { PointInTime } from './args.ts';
import { CliError } from './errors.ts';
import type { ResultSet } from './format.ts';
import type { CliDatabase, CliStore, CommitEntry, DatabaseSummary, PageSnapshot } from './store.ts';

/** Every commit the CLI makes says so in the log. */
const CLIENT_TAG = 'mvdb-cli';

class DriverDatabase implements CliDatabase {
  constructor(readonly db: Database) {}

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
    return new DriverDatabase(await this.db.at(await pinnedVersion(this.db, point)));
  }

  async log(limit: number): Promise<CommitEntry[]> {
    return this.db.log({ limit });
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

/** The version `point` names in `db` (the head, a version, or the newest version at or before a time). */
function pinnedVersion(db: Database, point: PointInTime): Promise<string> {
  if (point.kind === 'head') return db.head();
  return db.versionAt(point.kind === 'version' ? point.version : point.time);
}

/** A missing database, with where to look. */
function notFound(err: unknown, url: string): unknown {
  return err instanceof DatabaseNotFoundError
    ? new CliError(`${err.message} in ${url} (mvdb ls lists the databases there)`, { cause: err })
    : err;
}

class DriverStore implements CliStore {
  constructor(
    readonly url: string,
    private readonly key: string,
    private readonly kv: Kv,
  ) {}

  async open(name: string, options: { create: boolean }): Promise<CliDatabase> {
    try {
      return new DriverDatabase(await open(name, { store: this.url, create: options.create, clientTag: CLIENT_TAG }));
    } catch (err) {
      throw notFound(err, this.url);
    }
  }

  async list(): Promise<DatabaseSummary[]> {
    const infos = await listDatabases(this.kv);
    return Promise.all(
      infos.map(async (info) => ({
        name: info.name,
        head: await head(await openDatabase(this.kv, info.name)),
        pageSize: info.pageSize,
        createdAt: info.createdAt,
      })),
    );
  }

  async importPages(name: string, pageSize: number, pages: Map<number, Uint8Array>, clientTag: string): Promise<string> {
    const ref = await createDatabase(this.kv, name, pageSize > 0 ? { pageSize } : {}).catch((err: unknown) => {
      throw err instanceof DatabaseExistsError
        ? new CliError(`${err.message} in ${this.url}: import into a new name (mvdb ls lists the taken ones)`, { cause: err })
        : err;
    });
    if (pages.size === 0) return head(ref);
    try {
      return await commitPages(ref, { snapshot: await head(ref), pages, clientTag });
    } catch (err) {
      await deleteDatabase(this.kv, name);
      throw err;
    }
  }

  deleteDatabase(name: string): Promise<void> {
    return deleteDatabase(this.kv, name);
  }

  async pagesAt(name: string, point: PointInTime): Promise<PageSnapshot> {
    // The driver resolves and checks the version (not in the future, not before creation or GC).
    const cli = (await this.open(name, { create: false })) as DriverDatabase;
    let version: string;
    try {
      const snapshot = await cli.db.at(await pinnedVersion(cli.db, point));
      version = snapshot.version;
      await snapshot.close();
    } finally {
      await cli.close();
    }
    const ref = await openDatabase(this.kv, name);
    const [first] = await readPages(ref, [1], version);
    // Never written: SQLite's empty database is the empty file.
    const pageCount = first === undefined ? 0 : headerPageCount(first);
    return {
      version,
      pageSize: ref.pageSize,
      pageCount,
      async read(from, count) {
        const numbers = Array.from({ length: count }, (_, i) => from + i);
        const pages = await readPages(ref, numbers, version);
        return pages.map((p) => p ?? new Uint8Array(ref.pageSize));
      },
    };
  }

  close(): Promise<void> {
    return releaseStore(this.key);
  }
}

/** Opens the store at `url`; without `create`, a store directory that does not exist is an error, not a new store. */
export async function openStore(url: string, options: { create: boolean }): Promise<CliStore> {
  const normalized = normalizeStoreUrl(url);
  if (!options.create && normalized.startsWith('lmdb:') && !existsSync(normalized.slice('lmdb:'.length))) {
    throw new CliError(`no store at ${url}: --store or MVDB_STORE names another; mvdb sql, shell and import create one`);
  }
  const { key, kv } = await acquireStore(url);
  return new DriverStore(url, key, kv);
}

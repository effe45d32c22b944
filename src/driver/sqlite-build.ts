/**
 * Which wa-sqlite build a Database's connections run (vfs/wasm.ts): 'sync' on stores whose transactions
 * can complete synchronously (memory, LMDB), 'asyncify' on any store (FoundationDB has only asynchronous
 * transactions). The open() option `sqliteBuild` chooses; MVDB_SQLITE_BUILD changes the default.
 */
import { SQLITE_BUILDS, type Kv, type SqliteBuild } from '../../vfs/index.ts';
import { ArgumentError } from './errors.ts';

/** The environment variable that changes the default build ('sync' still needs a store that has it). */
export const SQLITE_BUILD_ENV = 'MVDB_SQLITE_BUILD';

/** Checks the `sqliteBuild` option's value. */
export function checkSqliteBuild(value: unknown): asserts value is SqliteBuild | undefined {
  if (value !== undefined && !SQLITE_BUILDS.includes(value as SqliteBuild)) {
    throw new ArgumentError(`sqliteBuild must be ${quotedBuilds()}, got ${JSON.stringify(value)}`);
  }
}

/** Whether a store has synchronous transactions: an open Kv says; a URL by its scheme (FoundationDB has none). */
function storeRunsSync(store: string | Kv): boolean {
  if (typeof store !== 'string') return typeof store.createTransactionSync === 'function';
  return !/^fdb:/i.test(store);
}

/**
 * The build for a store: `requested` if given (an error for 'sync' on a store without synchronous
 * transactions), else MVDB_SQLITE_BUILD's where the store allows it, else 'sync' where it does.
 */
export function chooseSqliteBuild(requested: SqliteBuild | undefined, store: string | Kv): SqliteBuild {
  const sync = storeRunsSync(store);
  if (requested !== undefined) {
    if (requested === 'sync' && !sync) {
      throw new ArgumentError(
        `sqliteBuild 'sync' needs a store with synchronous transactions (memory:, lmdb:); ${describe(store)} has none: use 'asyncify' or leave sqliteBuild unset`,
      );
    }
    return requested;
  }
  // MVDB_SQLITE_BUILD=sync changes nothing: it is already the default wherever the store allows it.
  if (sqliteBuildFromEnv() === 'asyncify') return 'asyncify';
  return sync ? 'sync' : 'asyncify';
}

/**
 * MVDB_SQLITE_BUILD's build, undefined when unset; an ArgumentError for any other value. Calls that only
 * use the build after writing (importDatabase's check) call this first, so a bad value changes nothing.
 */
export function sqliteBuildFromEnv(): SqliteBuild | undefined {
  const fromEnv = process.env[SQLITE_BUILD_ENV];
  if (fromEnv === undefined || fromEnv === '') return undefined;
  if (!SQLITE_BUILDS.includes(fromEnv as SqliteBuild)) {
    throw new ArgumentError(`${SQLITE_BUILD_ENV} must be ${quotedBuilds()} (or unset), got ${JSON.stringify(fromEnv)}`);
  }
  return fromEnv as SqliteBuild;
}

function quotedBuilds(): string {
  return SQLITE_BUILDS.map((b) => `'${b}'`).join(' or ');
}

function describe(store: string | Kv): string {
  return JSON.stringify(typeof store === 'string' ? store : store.url);
}

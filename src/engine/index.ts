/** The multi-version page store: the engine's public surface (see notes/engine-api.md). */

export {
  parseVersion,
  versionToBytes,
  versionFromBytes,
  compareVersions,
  versionOfReadVersion,
  ZERO_VERSION,
  type Version,
} from './version.ts';
export {
  createDatabase,
  openDatabase,
  listDatabases,
  deleteDatabase,
  databaseInfo,
  head,
  type DatabaseRef,
  type DatabaseInfo,
  type StoreOptions,
  type CreateOptions,
  type OpenOptions,
} from './databases.ts';
export { readPage, readPages, MAX_PAGE_NUMBER } from './read.ts';
export {
  commitPages,
  PAGE_CONFLICT_CHECK_LIMIT,
  INLINE_CONTENT_BYTES,
  MAX_COMMIT_PAGES,
  type CommitRequest,
} from './commit.ts';
export {
  changes,
  log,
  versionAt,
  MAX_CHANGED_PAGES,
  MAX_CHANGED_COMMITS,
  type CommitInfo,
  type LogOptions,
} from './history.ts';
export { DEFAULT_PAGE_SIZE, MIN_PAGE_SIZE, MAX_PAGE_SIZE, DEFAULT_RETENTION_MS } from './metadata.ts';
export {
  MvdbError,
  ConflictError,
  VersionFormatError,
  FutureVersionError,
  VersionTooOldError,
  DatabaseNotFoundError,
  DatabaseExistsError,
  InvalidNameError,
  InvalidOptionError,
  InvalidPageError,
  NoVersionAtTimeError,
  PageCorruptError,
  CommitTooLargeError,
  CommitInterruptedError,
  type ConflictKind,
} from './errors.ts';

/** The multi-version page store: the engine's public surface, used by vfs/ (see README "How it works"). */

// The kv names the layers above need: each imports only the layer below it.
export { openKv, KvError, type Kv } from '../kv/index.ts';

export {
  parseVersion,
  versionToBytes,
  versionFromBytes,
  versionOfReadVersion,
  ZERO_VERSION,
  type Version,
} from './version.ts';
// Operations written once as steps (steps.ts): the VFS composes the *Steps forms with `yield*` and runs them
// synchronously (runSync, embedded stores) or asynchronously (runEager); the plain forms are runAsync of them.
export { all, runAsync, runEager, runSync, wait, SyncUnavailableError, type Steps } from './steps.ts';

export {
  createDatabase,
  openDatabase,
  openDatabaseSteps,
  openDatabaseSync,
  listDatabases,
  deleteDatabase,
  databaseInfo,
  head,
  headSteps,
  type DatabaseRef,
  type DatabaseInfo,
  type StoreOptions,
  type CreateOptions,
  type OpenOptions,
} from './databases.ts';
export { readPage, readPages, readPagesSteps, MAX_PAGE_NUMBER } from './read.ts';
export {
  commitPages,
  commitPagesSteps,
  PAGE_CONFLICT_CHECK_LIMIT,
  INLINE_CONTENT_BYTES,
  MAX_COMMIT_PAGES,
  type CommitRequest,
} from './commit.ts';
export {
  changes,
  changesSteps,
  headAndChanges,
  headAndChangesSteps,
  storeVersionSync,
  log,
  versionAt,
  MAX_CHANGED_PAGES,
  MAX_CHANGED_COMMITS,
  type CommitInfo,
  type LogOptions,
} from './history.ts';
export { DEFAULT_PAGE_SIZE, MIN_PAGE_SIZE, MAX_PAGE_SIZE, DEFAULT_RETENTION_MS } from './metadata.ts';
export { setRetention } from './retention.ts';
export { collectGarbage, type GcOptions, type GcReport, type GcProgress, type GcPhase } from './gc.ts';
export { DEFAULT_CONTENT_GRACE_MS } from './gc-content.ts';
export type { Pin } from './watermark.ts';
export { createTag, listTags, deleteTag, resolveTag, type TagInfo } from './tags.ts';
export { forkDatabase, listForks, type ForkOptions, type ForkInfo } from './forks.ts';
export { differingPages } from './compare.ts';
export { restoreTo, type RestoreOptions, type RestoreResult } from './restore.ts';
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
  DatabaseHasForksError,
  TagNotFoundError,
  TagExistsError,
  UnsupportedFormatError,
  type ConflictKind,
} from './errors.ts';

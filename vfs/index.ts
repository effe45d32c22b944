/**
 * The vfs layer: SQLite (wa-sqlite, sync or Asyncify build) on the page store. The
 * driver uses this module only; the engine names it needs pass through here
 * so that it does not reach past the layer below it.
 */
export {
  createSqliteModule,
  prepareFirstSqliteModule,
  releaseSqliteModule,
  sqliteModuleStats,
  compiledWasm,
  SQLITE_BUILDS,
  type SqliteBuild,
  type SqliteModule,
  type EmscriptenModule,
} from './wasm.ts';
export { Serializer } from './serializer.ts';
export { PageStoreVfs, VFS_NAME, type PageStoreVfsOptions, type VfsStats } from './page-store-vfs.ts';
export { UnsupportedError, ReadOnlyError } from './errors.ts';
export { InvalidImageError, readImage, createFromImage, writeImage, type ImageSource, type FileImage, type ImageLayout } from './file-image.ts';
export {
  openDatabase,
  openDatabaseSync,
  listDatabases,
  deleteDatabase,
  head,
  log,
  versionAt,
  parseVersion,
  databaseInfo,
  MvdbError,
  ConflictError,
  VersionFormatError,
  FutureVersionError,
  VersionTooOldError,
  DatabaseNotFoundError,
  DatabaseExistsError,
  InvalidNameError,
  InvalidOptionError,
  NoVersionAtTimeError,
  openKv,
  KvError,
  type Kv,
  type DatabaseRef,
  type DatabaseInfo,
  type Version,
  type CommitInfo,
  type LogOptions,
} from '../src/engine/index.ts';
// History management (retention, GC, tags, forks, restore, diff) for the driver.
export {
  readPages,
  setRetention,
  collectGarbage,
  createTag,
  listTags,
  deleteTag,
  resolveTag,
  forkDatabase,
  listForks,
  restoreTo,
  differingPages,
  DEFAULT_RETENTION_MS,
  DatabaseHasForksError,
  TagNotFoundError,
  TagExistsError,
  UnsupportedFormatError,
  PageCorruptError,
  type GcOptions,
  type GcReport,
  type GcProgress,
  type GcPhase,
  type Pin,
  type TagInfo,
  type ForkInfo,
  type RestoreResult,
} from '../src/engine/index.ts';
export { emptyPageOne, headerPageCount } from './page-one.ts';
export { PageCacheBudget, processPageCacheBudget, DEFAULT_PAGE_CACHE_BYTES } from './page-cache.ts';

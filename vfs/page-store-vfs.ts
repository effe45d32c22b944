/**
 * A wa-sqlite VFS whose main database files are databases of the page store.
 *
 * One storage idea: SQLite's file is the database's pages at one version.
 * - xLock(SHARED) starts a snapshot at the database's head (or at the pinned
 *   version of a read-only connection) and brings the page cache up to it.
 * - xRead serves pages from the write buffer, the page cache or the store, and
 *   records every page read (the read set of the optimistic conflict check).
 * - xWrite buffers; the buffer is committed when SQLite commits: at
 *   COMMIT_ATOMIC_WRITE (batch-atomic path) or at COMMIT_PHASETWO (journal
 *   path). A conflict makes the commit return SQLITE_BUSY.
 * - Higher locks succeed at once: writers are optimistic.
 * - Journals and temp files live in memory.
 *
 * Methods never throw (on the Asyncify build a rejected promise hangs SQLite):
 * they return an error code and keep the error for the driver (takeError()).
 * The methods that may need the store are engine operations written as steps
 * (src/engine/steps.ts), run one of two ways:
 * - `synchronous` (wa-sqlite's sync build, embedded stores): to the end, with the
 *   store's synchronous transactions; every method returns its code.
 * - otherwise (Asyncify build, any store): with asynchronous transactions; a
 *   method answers `ready(code)` when no store I/O was needed, so SQLite does not
 *   suspend (sync-result.ts), and a Promise only for store round trips.
 */
import { FacadeVFS } from '@journeyapps/wa-sqlite/src/FacadeVFS.js';
import * as VFS from '@journeyapps/wa-sqlite/src/VFS.js';
import {
  ConflictError,
  changesSteps,
  commitPagesSteps,
  headSteps,
  headAndChangesSteps,
  readPagesSteps,
  runEager,
  runSync,
  storeVersionSync,
  wait,
  type DatabaseRef,
  type Steps,
  type Version,
} from '../src/engine/index.ts';
import { ReadOnlyError, UnsupportedError } from './errors.ts';
import { MemoryFile } from './memory-file.ts';
import { PageCache, type PageCacheBudget } from './page-cache.ts';
import {
  emptyPageOne,
  headerChangeCounter,
  headerPageCount,
  headerPageSize,
  isWalHeader,
  normalizePageOne,
  writeChangeCounter,
} from './page-one.ts';
import { SequentialPrefetch } from './prefetch.ts';
import { ready, type Answer } from './sync-result.ts';
import type { EmscriptenModule } from './wasm.ts';

export const VFS_NAME = 'mvdb';

/**
 * Longest file name SQLite may hand this VFS: a database name (up to 128 characters) plus a suffix
 * such as "-journal". wa-sqlite's default of 64 made names over 55 characters fail to open.
 */
const MAX_PATHNAME = 512;

export interface PageStoreVfsOptions {
  /**
   * The database a main-file name stands for (the connection's own, or an ATTACHed one); at once when
   * `synchronous`.
   */
  resolve(name: string, create: boolean): DatabaseRef | Promise<DatabaseRef>;
  /**
   * Answer every call before returning, with the store's synchronous transactions: for wa-sqlite's sync
   * build, on stores that have them (memory, lmdb). Default false: the Asyncify build, any store.
   */
  synchronous?: boolean;
  /** Pin every file at this version: a read-only snapshot connection. */
  pinned?: Version;
  /** Most pages the cache of one database file keeps (default: no cap of its own; the budget applies). */
  cachePages?: number;
  /** The byte budget the page caches share (default: the process's, see setPageCacheBytes). */
  cacheBudget?: PageCacheBudget;
  /** Largest prefetch window on sequential misses, in pages (default 64). */
  prefetchPages?: number;
  /** Stored with each commit in the changelog. */
  clientTag?: string;
}

/** Counters for tests and benchmarks. */
export interface VfsStats {
  /** readPages round trips. */
  fetches: number;
  /** Pages those round trips returned. */
  pagesFetched: number;
  /** Page reads served by the page cache. */
  cacheHits: number;
  /** Snapshots started (xLock SHARED). */
  snapshots: number;
  /** commitPages calls that committed. */
  commits: number;
  /** Of those, commits on the journal path (at COMMIT_PHASETWO rather than COMMIT_ATOMIC_WRITE). */
  journalCommits: number;
  /** Commits refused with a conflict. */
  conflicts: number;
}

interface MainFile {
  readonly kind: 'main';
  readonly ref: DatabaseRef;
  readonly cache: PageCache;
  readonly prefetch: SequentialPrefetch;
  /** Page 1 at cache.version, kept out of the LRU: every transaction needs it. */
  pageOne: Uint8Array | undefined;
  lock: number;
  /** The version this transaction reads at; set while lock >= SHARED. */
  snapshot: Version | undefined;
  readSet: Set<number>;
  /**
   * Whether readSet holds every page the transaction used. False when SQLite kept its own page cache
   * (pages it serves itself never reach xRead): the commit then checks conflicts database-wide.
   */
  readSetComplete: boolean;
  /** A write is coming (SQLite's write hint, or the driver's): the next snapshot records a complete read set. */
  writeHint: boolean;
  /**
   * The version SQLite's own page cache matches while page 1 shows sqliteCounter; undefined when unknown.
   * Reads at that version may keep SQLite's cache (no counter change, no xRead per page).
   */
  sqliteValidAt: Version | undefined;
  /** The kv read version of the last head check: cache.version was the head then. */
  headReadVersion: bigint | undefined;
  /** Pages SQLite wrote in this transaction, not committed yet. */
  dirty: Map<number, Uint8Array>;
  /** File size while this transaction has written or truncated; otherwise it comes from page 1. */
  txSize: number | undefined;
  /** The change counter SQLite is shown (bytes 24..28 and 92..96 of page 1). */
  counter: number;
  /** The change counter SQLite last read or wrote: it keeps its page cache while page 1 shows this value. */
  sqliteCounter: number;
  /** Our last commit, not yet folded into a new snapshot: its pages are current at `version`. */
  ownCommit: { version: Version; pages: Set<number> } | undefined;
  /** A failed commit: the transaction can never commit, whatever SQLite retries, until it ends. */
  failedCommit: { code: number; error: unknown } | undefined;
}

interface TempFile {
  readonly kind: 'memory';
  readonly name: string | null;
  readonly file: MemoryFile;
  readonly deleteOnClose: boolean;
}

type OpenFile = MainFile | TempFile;

/** SQLite 3.53 sends this FCNTL_PRAGMA before a write statement's (or BEGIN IMMEDIATE's) first lock. */
const WRITE_HINT_PRAGMA = 'experimental_pragma_20251114';

const ASYNC_METHODS = new Set(['xOpen', 'xRead', 'xLock', 'xFileControl']);

/** Returned for failures other than conflicts: not an IOERR, so SQLite does not retry the commit on the journal path. */
const SQLITE_FAILED = VFS.SQLITE_ERROR;

export class PageStoreVfs extends FacadeVFS {
  readonly options: PageStoreVfsOptions;
  readonly stats: VfsStats = {
    fetches: 0,
    pagesFetched: 0,
    cacheHits: 0,
    snapshots: 0,
    commits: 0,
    journalCommits: 0,
    conflicts: 0,
  };
  #files = new Map<number, OpenFile>();
  /** Named memory files (journals) by name, so xDelete and reopen find them. */
  #memoryFiles = new Map<string, MemoryFile>();
  #lastError: unknown;
  /** Per database name: the newest version this connection read at or committed. */
  #lastVersions = new Map<string, Version>();
  #writeIntent = false;

  constructor(module: EmscriptenModule, options: PageStoreVfsOptions) {
    super(VFS_NAME, module);
    this.mxPathname = MAX_PATHNAME;
    this.options = options;
  }

  override hasAsyncMethod(methodName: string): boolean {
    return this.options.synchronous !== true && ASYNC_METHODS.has(methodName);
  }

  /**
   * Runs a method's steps (which catch their own errors) as this VFS answers: to the end when synchronous,
   * else up to the first store wait.
   */
  #answer(steps: Steps<number>): Answer<number> | number {
    if (this.options.synchronous === true) return runSync(steps);
    const code = runEager(steps);
    return typeof code === 'number' ? ready(code) : code;
  }

  /** A code known at once, as this VFS answers. */
  #settled(code: number): Answer<number> | number {
    return this.options.synchronous === true ? code : ready(code);
  }

  // ---- SQLite's calls with raw pointers ------------------------------------
  // FacadeVFS wraps each pointer in a proxy object (three allocations per call, and a fresh heap view
  // on first use) and decodes names these methods never look at. The calls made on every statement
  // use the heap directly instead (jWrite gets a plain view: it copies at once).

  xRead(pFile: number, pData: number, iAmt: number, iOffsetLo: number, iOffsetHi: number): Answer<number> | number {
    return this.#read(pFile, pData, iAmt, int64(iOffsetLo, iOffsetHi));
  }

  xWrite(pFile: number, pData: number, iAmt: number, iOffsetLo: number, iOffsetHi: number): number {
    return this.jWrite(pFile, this.#heap().subarray(pData, pData + iAmt), int64(iOffsetLo, iOffsetHi));
  }

  xFileSize(pFile: number, pSize: number): number {
    try {
      const file = this.#files.get(pFile);
      if (file === undefined) return VFS.SQLITE_IOERR_FSTAT;
      const size = file.kind === 'memory' ? file.file.size : this.#fileSize(file);
      // An sqlite3_int64, little-endian: the low 32 bits, then the high (the glue exports only HEAP32 of the 32-bit views).
      const heap32 = this.#heap32();
      heap32[pSize >>> 2] = size | 0;
      heap32[(pSize >>> 2) + 1] = Math.floor(size / 0x1_0000_0000);
      return VFS.SQLITE_OK;
    } catch (error) {
      return this.#fail(error, VFS.SQLITE_IOERR_FSTAT);
    }
  }

  /** Nothing but the store holds state: there is never a journal to recover (or a WAL file to open). */
  xAccess(_pVfs: number, _zName: number, _flags: number, pResOut: number): number {
    this.#heap32()[pResOut >>> 2] = 0;
    return VFS.SQLITE_OK;
  }

  /** Writers never block each other here; the commit's conflict check decides. */
  xCheckReservedLock(_pFile: number, pResOut: number): number {
    this.#heap32()[pResOut >>> 2] = 0;
    return VFS.SQLITE_OK;
  }

  #heap(): Uint8Array {
    return (this._module as EmscriptenModule).HEAPU8 as Uint8Array;
  }

  /** The heap as 32-bit words (the glue exports no 64-bit view). */
  #heap32(): Int32Array {
    return (this._module as EmscriptenModule).HEAP32 as Int32Array;
  }

  /**
   * While on, every new snapshot records a complete read set, so a commit checks conflicts page by page.
   * For transactions that read before they write (SQLite hints only at a write statement's first lock).
   */
  setWriteIntent(on: boolean): void {
    this.#writeIntent = on;
  }

  /** The first error behind a failed SQLite call since the last take, and forget it. */
  takeError(): unknown {
    const error = this.#lastError;
    this.#lastError = undefined;
    return error;
  }

  /** The newest version this connection read database `name` at, or committed to it. */
  lastVersion(name: string): Version | undefined {
    return this.#lastVersions.get(name);
  }

  /**
   * Whether every snapshot open now (a main file locked at SHARED or above) still reads what a new
   * snapshot would: it is pinned, or it is the head found by a check at the store version the store is
   * still at (no commit to any database since). False once a transaction may write, and whenever the
   * store cannot tell its version synchronously. The driver keeps a read transaction open across
   * statements only while this holds (connection.ts).
   */
  snapshotsCurrent(): boolean {
    try {
      for (const file of this.#files.values()) {
        if (file.kind !== 'main' || file.snapshot === undefined) continue;
        if (file.lock >= VFS.SQLITE_LOCK_RESERVED) return false;
        if (this.options.pinned !== undefined) continue;
        if (file.snapshot !== file.cache.version || !this.#headUnmoved(file)) return false;
      }
      return true;
    } catch {
      return false; // a closed store: the next snapshot reports it
    }
  }

  /** Whether snapshotsCurrent() can answer true: pinned, or every open database's store tells its version synchronously. */
  canTellSnapshotsCurrent(): boolean {
    if (this.options.pinned !== undefined) return true;
    try {
      for (const file of this.#files.values()) {
        if (file.kind === 'main' && storeVersionSync(file.ref) === undefined) return false;
      }
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The last head check read at headReadVersion and found the cache's version as the head. A store still
   * at that version has had no commit at all since (to any database, in any process): the head is unchanged.
   */
  #headUnmoved(file: MainFile): boolean {
    return file.headReadVersion !== undefined && storeVersionSync(file.ref) === file.headReadVersion;
  }

  #noteVersion(name: string, version: Version): void {
    const seen = this.#lastVersions.get(name);
    if (seen === undefined || version > seen) this.#lastVersions.set(name, version);
  }

  // ---- open / close -------------------------------------------------------

  jOpen(name: string | null, fileId: number, flags: number, pOutFlags: DataView): Answer<number> | number {
    return this.#answer(this.#open(name, fileId, flags, pOutFlags));
  }

  *#open(name: string | null, fileId: number, flags: number, pOutFlags: DataView): Steps<number> {
    try {
      if (flags & VFS.SQLITE_OPEN_WAL) {
        return this.#fail(unsupportedWal(), VFS.SQLITE_CANTOPEN);
      }
      if (flags & VFS.SQLITE_OPEN_SUPER_JOURNAL) {
        return this.#fail(multiDatabaseWrite(), VFS.SQLITE_CANTOPEN);
      }
      if (flags & VFS.SQLITE_OPEN_MAIN_DB && name !== null) {
        const create = (flags & VFS.SQLITE_OPEN_CREATE) !== 0 && this.options.pinned === undefined;
        const ref = yield* wait(this.options.resolve(name, create));
        const file: MainFile = {
          kind: 'main',
          ref,
          cache: new PageCache({
            ...(this.options.cachePages !== undefined ? { capacity: this.options.cachePages } : {}),
            ...(this.options.cacheBudget !== undefined ? { budget: this.options.cacheBudget } : {}),
          }),
          prefetch: new SequentialPrefetch(this.options.prefetchPages ?? 64),
          pageOne: undefined,
          lock: VFS.SQLITE_LOCK_NONE,
          snapshot: undefined,
          readSet: new Set(),
          readSetComplete: true,
          writeHint: false,
          sqliteValidAt: undefined,
          headReadVersion: undefined,
          dirty: new Map(),
          txSize: undefined,
          counter: 0,
          sqliteCounter: 0,
          ownCommit: undefined,
          failedCommit: undefined,
        };
        // SQLite reads the header before taking any lock: have page 1 of a current version ready.
        yield* this.#moveCacheTo(file, this.options.pinned ?? (yield* headSteps(ref)));
        this.#files.set(fileId, file);
        const readOnly = this.options.pinned !== undefined;
        pOutFlags.setInt32(0, readOnly ? (flags & ~VFS.SQLITE_OPEN_READWRITE) | VFS.SQLITE_OPEN_READONLY : flags, true);
        return VFS.SQLITE_OK;
      }
      let file: MemoryFile;
      if (name !== null && this.#memoryFiles.has(name)) {
        file = this.#memoryFiles.get(name)!;
      } else {
        file = new MemoryFile();
        if (name !== null) this.#memoryFiles.set(name, file);
      }
      this.#files.set(fileId, { kind: 'memory', name, file, deleteOnClose: (flags & VFS.SQLITE_OPEN_DELETEONCLOSE) !== 0 });
      pOutFlags.setInt32(0, flags, true);
      return VFS.SQLITE_OK;
    } catch (error) {
      return this.#fail(error, VFS.SQLITE_CANTOPEN);
    }
  }

  jClose(fileId: number): number {
    try {
      const file = this.#files.get(fileId);
      this.#files.delete(fileId);
      // Its pages leave the shared budget now rather than when other caches push them out.
      if (file?.kind === 'main') file.cache.clear();
      if (file?.kind === 'memory' && file.deleteOnClose && file.name !== null) this.#memoryFiles.delete(file.name);
      return VFS.SQLITE_OK;
    } catch (error) {
      return this.#fail(error, VFS.SQLITE_IOERR_CLOSE);
    }
  }

  jDelete(name: string, _syncDir: number): number {
    this.#memoryFiles.delete(name);
    return VFS.SQLITE_OK;
  }

  // ---- read / write -------------------------------------------------------

  /** Reads `length` bytes at file `offset` into the heap at `ptr`. */
  #read(fileId: number, ptr: number, length: number, offset: number): Answer<number> | number {
    try {
      const file = this.#files.get(fileId);
      if (file === undefined) return this.#settled(VFS.SQLITE_IOERR_READ);
      if (file.kind === 'memory') {
        const out = this.#heap().subarray(ptr, ptr + length);
        const n = file.file.read(out, offset);
        if (n < length) {
          out.fill(0, n);
          return this.#settled(VFS.SQLITE_IOERR_SHORT_READ);
        }
        return this.#settled(VFS.SQLITE_OK);
      }
      const end = Math.min(offset + length, this.#fileSize(file));
      for (let at = offset; at < end; ) {
        const page = Math.floor(at / file.ref.pageSize) + 1;
        const bytes = this.#pageAt(file, page);
        // A miss: the rest of the read needs the store.
        if (bytes === undefined) return this.#answer(this.#readFrom(file, ptr, length, offset, at, end));
        at = this.#copyPage(file, ptr, offset, at, end, page, bytes);
      }
      return this.#settled(this.#endRead(ptr, length, offset, end));
    } catch (error) {
      return this.#settled(this.#fail(error, VFS.SQLITE_IOERR_READ));
    }
  }

  /** #read from `at` on, after a miss on the page at `at`. */
  *#readFrom(file: MainFile, ptr: number, length: number, offset: number, at: number, end: number): Steps<number> {
    try {
      while (at < end) {
        const page = Math.floor(at / file.ref.pageSize) + 1;
        const bytes = this.#pageAt(file, page) ?? (yield* this.#fetch(file, page));
        at = this.#copyPage(file, ptr, offset, at, end, page, bytes);
      }
      return this.#endRead(ptr, length, offset, end);
    } catch (error) {
      return this.#fail(error, VFS.SQLITE_IOERR_READ);
    }
  }

  /**
   * Copies the part of `page` in [at, end) to the heap at `ptr` (which stands for file offset `offset`);
   * returns where the page ends. The heap is looked up each time: it may have grown across a store wait.
   */
  #copyPage(file: MainFile, ptr: number, offset: number, at: number, end: number, page: number, bytes: Uint8Array): number {
    const heap = this.#heap();
    const pageStart = (page - 1) * file.ref.pageSize;
    const upto = Math.min(end, pageStart + file.ref.pageSize);
    const to = ptr + (at - offset);
    if (at === pageStart && upto - at === bytes.length) heap.set(bytes, to);
    else heap.set(bytes.subarray(at - pageStart, upto - pageStart), to);
    // Stored page 1 has no counter: show this snapshot's in the bytes just copied (no page copy).
    if (bytes === file.pageOne) writeChangeCounter(heap, at - pageStart, file.counter, to, to + (upto - at));
    return upto;
  }

  /** A read that stopped at the end of the file is short: zeros for the rest. */
  #endRead(ptr: number, length: number, offset: number, end: number): number {
    if (end - offset < length) {
      this.#heap().fill(0, ptr + Math.max(0, end - offset), ptr + length);
      return VFS.SQLITE_IOERR_SHORT_READ;
    }
    return VFS.SQLITE_OK;
  }

  jWrite(fileId: number, pData: Uint8Array, offset: number): number {
    try {
      const file = this.#files.get(fileId);
      if (file === undefined) return VFS.SQLITE_IOERR_WRITE;
      if (file.kind === 'memory') {
        file.file.write(pData.slice(), offset);
        return VFS.SQLITE_OK;
      }
      if (this.options.pinned !== undefined) {
        return this.#fail(new ReadOnlyError(file.ref.name, this.options.pinned), VFS.SQLITE_READONLY);
      }
      const pageSize = file.ref.pageSize;
      if (offset % pageSize !== 0 || pData.length !== pageSize) {
        return this.#fail(
          new Error(`unaligned write of ${pData.length} bytes at ${offset} (pages are ${pageSize} bytes)`),
          VFS.SQLITE_IOERR_WRITE,
        );
      }
      const page = offset / pageSize + 1;
      const bytes = pData.slice();
      if (page === 1) {
        if (headerPageSize(bytes) !== pageSize) return this.#fail(pageSizeChange(file.ref, headerPageSize(bytes)), VFS.SQLITE_IOERR_WRITE);
        if (isWalHeader(bytes)) return this.#fail(unsupportedWal(), VFS.SQLITE_IOERR_WRITE);
        file.sqliteCounter = headerChangeCounter(bytes);
      }
      file.dirty.set(page, bytes);
      file.txSize = Math.max(this.#fileSize(file), offset + pageSize);
      return VFS.SQLITE_OK;
    } catch (error) {
      return this.#fail(error, VFS.SQLITE_IOERR_WRITE);
    }
  }

  jTruncate(fileId: number, size: number): number {
    try {
      const file = this.#files.get(fileId);
      if (file === undefined) return VFS.SQLITE_IOERR_TRUNCATE;
      if (file.kind === 'memory') {
        file.file.truncate(size);
        return VFS.SQLITE_OK;
      }
      const pages = Math.ceil(size / file.ref.pageSize);
      for (const page of file.dirty.keys()) if (page > pages) file.dirty.delete(page);
      file.txSize = pages * file.ref.pageSize;
      return VFS.SQLITE_OK;
    } catch (error) {
      return this.#fail(error, VFS.SQLITE_IOERR_TRUNCATE);
    }
  }

  jSync(_fileId: number, _flags: number): number {
    return VFS.SQLITE_OK;
  }

  // ---- locks: snapshots and optimistic writers ----------------------------

  jLock(fileId: number, lockType: number): Answer<number> | number {
    const file = this.#files.get(fileId);
    if (file?.kind !== 'main') return this.#settled(VFS.SQLITE_OK);
    if (file.lock === VFS.SQLITE_LOCK_NONE && lockType >= VFS.SQLITE_LOCK_SHARED) {
      return this.#answer(this.#lockShared(file, lockType));
    }
    return this.#settled(this.#raiseLock(file, lockType));
  }

  /** The first lock of a transaction: its snapshot, then the lock. */
  *#lockShared(file: MainFile, lockType: number): Steps<number> {
    try {
      yield* this.#beginSnapshot(file);
    } catch (error) {
      return this.#fail(error, VFS.SQLITE_IOERR_LOCK);
    }
    return this.#raiseLock(file, lockType);
  }

  /** Takes `lockType` once any snapshot is in place: higher locks only check what may write. Never throws. */
  #raiseLock(file: MainFile, lockType: number): number {
    try {
      if (lockType >= VFS.SQLITE_LOCK_RESERVED && file.lock < VFS.SQLITE_LOCK_RESERVED) {
        if (this.options.pinned !== undefined) {
          return this.#fail(new ReadOnlyError(file.ref.name, this.options.pinned), VFS.SQLITE_READONLY);
        }
        // One commit is atomic for one database: a transaction writing two attached databases could half-commit.
        for (const other of this.#files.values()) {
          if (other !== file && other.kind === 'main' && other.lock >= VFS.SQLITE_LOCK_RESERVED) {
            return this.#fail(multiDatabaseWrite(other.ref.name, file.ref.name), VFS.SQLITE_BUSY);
          }
        }
      }
      file.lock = Math.max(file.lock, lockType);
      return VFS.SQLITE_OK;
    } catch (error) {
      return this.#fail(error, VFS.SQLITE_IOERR_LOCK);
    }
  }

  jUnlock(fileId: number, lockType: number): number {
    const file = this.#files.get(fileId);
    if (file?.kind !== 'main') return VFS.SQLITE_OK;
    try {
      if (lockType < VFS.SQLITE_LOCK_RESERVED && file.lock >= VFS.SQLITE_LOCK_RESERVED) {
        // Anything still buffered was never committed: a rollback.
        this.#discardWrites(file);
      }
      if (lockType === VFS.SQLITE_LOCK_NONE) {
        file.snapshot = undefined;
        file.readSet.clear();
        file.failedCommit = undefined;
        file.prefetch.reset();
      }
      file.lock = Math.min(file.lock, lockType);
      return VFS.SQLITE_OK;
    } catch (error) {
      return this.#fail(error, VFS.SQLITE_IOERR_UNLOCK);
    }
  }

  // ---- file controls: commit points and refused pragmas ------------------

  jFileControl(fileId: number, op: number, pArg: DataView): Answer<number> | number {
    const file = this.#files.get(fileId);
    if (file?.kind !== 'main') return this.#settled(VFS.SQLITE_NOTFOUND);
    try {
      switch (op) {
        case VFS.SQLITE_FCNTL_PRAGMA:
          return this.#settled(this.#pragma(file, pArg));
        case VFS.SQLITE_FCNTL_BEGIN_ATOMIC_WRITE:
          return this.#settled(VFS.SQLITE_OK);
        case VFS.SQLITE_FCNTL_COMMIT_ATOMIC_WRITE:
          return this.#commit(file, 'batch');
        case VFS.SQLITE_FCNTL_ROLLBACK_ATOMIC_WRITE:
          this.#discardWrites(file);
          return this.#settled(VFS.SQLITE_OK);
        case VFS.SQLITE_FCNTL_COMMIT_PHASETWO:
          // The journal path's commit point: SQLite sends it only when it commits, never during a rollback.
          return this.#commit(file, 'journal');
        default:
          return this.#settled(VFS.SQLITE_NOTFOUND);
      }
    } catch (error) {
      return this.#settled(this.#fail(error, SQLITE_FAILED));
    }
  }

  jSectorSize(_fileId: number): number {
    return 512;
  }

  jDeviceCharacteristics(_fileId: number): number {
    return (
      VFS.SQLITE_IOCAP_BATCH_ATOMIC |
      VFS.SQLITE_IOCAP_SAFE_APPEND |
      VFS.SQLITE_IOCAP_UNDELETABLE_WHEN_OPEN |
      VFS.SQLITE_IOCAP_POWERSAFE_OVERWRITE
    );
  }

  // ---- internals ----------------------------------------------------------

  /** A new snapshot: the head (or the pinned version), the cache brought up to it, a fresh read set. */
  *#beginSnapshot(file: MainFile): Steps<void> {
    if (this.options.pinned !== undefined) return yield* this.#startSnapshot(file, this.options.pinned);
    const since = file.cache.version;
    if (since !== undefined && this.#headUnmoved(file)) return yield* this.#startSnapshot(file, since, []);
    const check = yield* headAndChangesSteps(file.ref, since, file.headReadVersion);
    file.headReadVersion = check.readVersion;
    yield* this.#startSnapshot(file, check.head, check.changed);
  }

  *#startSnapshot(file: MainFile, version: Version, changed?: number[] | 'all'): Steps<void> {
    const unchanged = yield* this.#moveCacheTo(file, version, changed);
    this.#snapshotAt(file, version, unchanged);
  }

  /** The transaction reads at `version`; `unchanged`: SQLite's own cache still matches it (#moveCacheTo). */
  #snapshotAt(file: MainFile, version: Version, unchanged: boolean): void {
    file.snapshot = version;
    file.readSet.clear();
    file.failedCommit = undefined;
    this.#noteVersion(file.ref.name, version);
    this.stats.snapshots++;
    // SQLite keeps its own page cache while page 1 shows the change counter it last read or wrote
    // (it writes +1 per commit), and drops it when the counter differs.
    // - A pinned snapshot never changes and never commits: SQLite may always keep its cache.
    // - Otherwise SQLite may keep it when the database is as SQLite last saw it; pages SQLite then
    //   serves itself never reach xRead, so the read set is incomplete and a commit (if any) checks
    //   conflicts database-wide: sound, since that fails on any commit after the snapshot.
    // - A write transaction (hinted) gets a counter SQLite does not hold: it drops its cache, every
    //   page read lands in the read set, and the commit checks conflicts page by page.
    const keep = unchanged && !file.writeHint && !this.#writeIntent && file.counter !== 0;
    file.writeHint = false;
    if (this.options.pinned !== undefined) {
      if (file.counter === 0) file.counter = (file.sqliteCounter + 1) >>> 0 || 1;
    } else if (keep) {
      file.counter = file.sqliteCounter;
      file.readSetComplete = false;
    } else {
      file.counter = (file.sqliteCounter + 1) >>> 0 || 1;
      file.readSetComplete = true;
    }
    file.sqliteValidAt = version;
  }

  /**
   * Evicts what changed between the cache's version and `version` (our own last commit excepted);
   * `knownChanges`: those changes when the caller already read them.
   * True when SQLite's own cache still matches `version`: it matched the cache's version, and
   * nothing changed since but pages of our own last commit (SQLite wrote those itself).
   */
  *#moveCacheTo(file: MainFile, version: Version, knownChanges?: number[] | 'all'): Steps<boolean> {
    const { cache } = file;
    if (cache.version !== undefined && cache.version !== version && knownChanges === undefined) {
      knownChanges = yield* changesSteps(file.ref, cache.version, version);
    }
    let sqliteValid = file.sqliteValidAt !== undefined && file.sqliteValidAt === cache.version;
    if (cache.version !== version) {
      if (cache.version !== undefined) {
        const own = file.ownCommit?.version === version ? file.ownCommit.pages : undefined;
        if (knownChanges === 'all') {
          cache.clear();
          file.pageOne = undefined;
          sqliteValid = false;
        } else {
          for (const page of knownChanges!) {
            if (own?.has(page)) continue;
            sqliteValid = false;
            cache.evict([page]);
            if (page === 1) file.pageOne = undefined;
          }
        }
      } else {
        sqliteValid = false;
      }
      cache.version = version;
    }
    file.ownCommit = undefined;
    if (file.pageOne === undefined) yield* this.#loadPageOne(file, version);
    return sqliteValid;
  }

  *#loadPageOne(file: MainFile, version: Version): Steps<void> {
    const [bytes] = yield* readPagesSteps(file.ref, [1], version);
    this.stats.fetches++;
    this.stats.pagesFetched++;
    file.pageOne = bytes ?? emptyPageOne(file.ref.pageSize);
  }

  /**
   * One page as this transaction sees it, when memory has it: its own writes, page 1, zeros past
   * the end, the cache. Undefined on a cache miss (then #fetch it). Records the read either way.
   */
  #pageAt(file: MainFile, page: number): Uint8Array | undefined {
    // An incomplete read set is never used (the commit checks conflicts database-wide): not kept.
    if (file.snapshot !== undefined && file.readSetComplete) file.readSet.add(page);
    const written = file.dirty.get(page);
    if (written !== undefined) return written;
    if (page === 1) {
      file.sqliteCounter = file.counter;
      return file.pageOne!; // jRead writes the counter into what it copies
    }
    // Past the committed end of the file: zeros, whatever an old, longer version left in the store.
    if (page > headerPageCount(file.pageOne!)) return new Uint8Array(file.ref.pageSize);
    const cached = file.cache.get(page);
    if (cached !== undefined) {
      this.stats.cacheHits++;
      return cached;
    }
    return undefined;
  }

  /** A cache miss: the page and, on a sequential run, the next uncached pages, in one round trip. */
  *#fetch(file: MainFile, page: number): Steps<Uint8Array> {
    const lastPage = headerPageCount(file.pageOne!);
    const window = file.prefetch.windowFor(page);
    const pages = [page];
    for (let next = page + 1; next < page + window && next <= lastPage; next++) {
      if (!file.cache.has(next) && !file.dirty.has(next)) pages.push(next);
    }
    const version = file.cache.version!;
    const found = yield* readPagesSteps(file.ref, pages, version);
    this.stats.fetches++;
    this.stats.pagesFetched += pages.length;
    let result: Uint8Array | undefined;
    pages.forEach((p, i) => {
      // A page never written at this version reads as zeros, as past the end of a file.
      const bytes = found[i] ?? new Uint8Array(file.ref.pageSize);
      // The cache may have moved on while the round trip ran only if SQLite misbehaved; do not poison it.
      if (file.cache.version === version) {
        if (p === page) file.cache.set(p, bytes);
        else file.cache.setPrefetched(p, bytes);
      }
      if (p === page) result = bytes;
    });
    return result!;
  }

  /** Bytes in the file as this transaction sees it: what it wrote, else the header's page count. */
  #fileSize(file: MainFile): number {
    return file.txSize ?? headerPageCount(file.pageOne!) * file.ref.pageSize;
  }

  /** SQLite's commit point: the store is needed only when there is something to commit. */
  #commit(file: MainFile, path: 'batch' | 'journal'): Answer<number> | number {
    if (file.failedCommit !== undefined) {
      this.#discardWrites(file);
      return this.#settled(this.#fail(file.failedCommit.error, file.failedCommit.code));
    }
    if (file.dirty.size === 0) return this.#settled(VFS.SQLITE_OK);
    const pages = this.#changedPages(file);
    if (pages.size === 0) {
      this.#endWrites(file);
      return this.#settled(VFS.SQLITE_OK);
    }
    return this.#answer(this.#commitPages(file, pages, path));
  }

  *#commitPages(file: MainFile, pages: Map<number, Uint8Array>, path: 'batch' | 'journal'): Steps<number> {
    try {
      const version = yield* commitPagesSteps(file.ref, {
        snapshot: file.snapshot!,
        pages,
        ...(file.readSetComplete ? { readSet: file.readSet } : {}),
        ...(this.options.clientTag !== undefined ? { clientTag: this.options.clientTag } : {}),
      });
      this.stats.commits++;
      if (path === 'journal') this.stats.journalCommits++;
      for (const [page, bytes] of pages) {
        if (page === 1) file.pageOne = bytes;
        else file.cache.set(page, bytes);
      }
      file.ownCommit = { version, pages: new Set(pages.keys()) };
      this.#noteVersion(file.ref.name, version);
      this.#endWrites(file);
      return VFS.SQLITE_OK;
    } catch (error) {
      const code = error instanceof ConflictError ? VFS.SQLITE_BUSY : SQLITE_FAILED;
      if (code === VFS.SQLITE_BUSY) this.stats.conflicts++;
      file.failedCommit = { code, error };
      this.#discardWrites(file);
      return this.#fail(error, code);
    }
  }

  /** The transaction's writes are in the store (or changed nothing). */
  #endWrites(file: MainFile): void {
    file.dirty.clear();
    file.txSize = undefined;
  }

  /** The buffered pages that differ from the snapshot; page 1 compared and stored without its counter. */
  #changedPages(file: MainFile): Map<number, Uint8Array> {
    const pages = new Map<number, Uint8Array>();
    for (const [page, bytes] of file.dirty) {
      const stored = page === 1 ? normalizePageOne(bytes) : bytes;
      const base = page === 1 ? normalizePageOne(file.pageOne!) : file.cache.peek(page);
      if (base !== undefined && sameBytes(base, stored)) continue;
      pages.set(page, stored);
    }
    return pages;
  }

  #discardWrites(file: MainFile): void {
    // SQLite wrote pages the store never got: whatever its cache holds now, do not let it keep it.
    if (file.dirty.size > 0 || file.txSize !== undefined) file.sqliteValidAt = undefined;
    file.dirty.clear();
    file.txSize = undefined;
  }

  /** Refuses the pragmas that cannot work on the page store; SQLite handles every other one. */
  #pragma(file: MainFile, pArg: DataView): number {
    const module = this._module as EmscriptenModule;
    const namePtr = pArg.getUint32(4, true);
    const valuePtr = pArg.getUint32(8, true);
    const name = String(module.UTF8ToString(namePtr)).toLowerCase();
    // SQLite's hint that a write statement (or BEGIN IMMEDIATE) is about to take its first lock.
    if (name === WRITE_HINT_PRAGMA) {
      if (file.lock === VFS.SQLITE_LOCK_NONE) file.writeHint = true;
      return VFS.SQLITE_NOTFOUND;
    }
    const value = valuePtr ? String(module.UTF8ToString(valuePtr)).trim().replace(/^['"]|['"]$/g, '').toLowerCase() : undefined;
    let refusal: UnsupportedError | undefined;
    if (name === 'journal_mode' && value === 'wal') refusal = unsupportedWal();
    else if (name === 'locking_mode' && value === 'exclusive') refusal = unsupportedExclusive();
    else if (name === 'page_size' && value !== undefined && Number(value) !== file.ref.pageSize) {
      refusal = pageSizeChange(file.ref, value);
    }
    if (refusal === undefined) return VFS.SQLITE_NOTFOUND;
    // SQLite reports the string at pArg[0] (sqlite3_malloc'd) as the statement's error message.
    const bytes = new TextEncoder().encode(refusal.message);
    const message = module._sqlite3_malloc(bytes.length + 1);
    module.HEAPU8.set(bytes, message);
    module.HEAPU8[message + bytes.length] = 0;
    // malloc may have grown the heap and detached pArg's buffer: write through the fresh view.
    new DataView(module.HEAPU8.buffer).setUint32(pArg.byteOffset, message, true);
    return this.#fail(refusal, VFS.SQLITE_ERROR);
  }

  /** Keeps the first error behind a failing call for the driver, and returns the code to give SQLite. */
  #fail(error: unknown, code: number): number {
    this.#lastError ??= error;
    return code;
  }
}

/** A 64-bit argument, which the wasm build passes as two 32-bit halves. */
function int64(lo: number, hi: number): number {
  return hi * 0x1_0000_0000 + (lo >>> 0);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

function unsupportedWal(): UnsupportedError {
  return new UnsupportedError(
    'journal_mode=WAL',
    'journal_mode=WAL is not supported: mvdb keeps every version in the page store; ' +
      'use a rollback journal mode (DELETE, the default, TRUNCATE, PERSIST, MEMORY or OFF)',
  );
}

function unsupportedExclusive(): UnsupportedError {
  return new UnsupportedError(
    'locking_mode=EXCLUSIVE',
    'locking_mode=EXCLUSIVE is not supported: every mvdb transaction starts from a fresh snapshot ' +
      'so other writers are seen; keep locking_mode=NORMAL',
  );
}

function pageSizeChange(ref: DatabaseRef, requested: string | number): UnsupportedError {
  return new UnsupportedError(
    'page_size',
    `page_size cannot change to ${requested}: database ${JSON.stringify(ref.name)} has ${ref.pageSize}-byte pages, ` +
      'fixed when it was created (create a new database with the page size you need)',
  );
}

function multiDatabaseWrite(first?: string, second?: string): UnsupportedError {
  const which = first !== undefined ? ` (this transaction writes ${JSON.stringify(first)} and tried to write ${JSON.stringify(second)})` : '';
  return new UnsupportedError(
    'multi-database write',
    `one transaction cannot write to more than one database${which}: each commit is atomic for one database; ` +
      'commit the first before writing the other (and use BEGIN, not BEGIN IMMEDIATE, with attached databases)',
  );
}

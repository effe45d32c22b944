/**
 * Would a synchronous path pay off on the embedded store? An experiment for issue 7, not a product path.
 *
 * The same read-only VFS (pages read synchronously from mvdb's LMDB store: page-index seek, content read,
 * hash check, a head check per transaction) runs on wa-sqlite's Asyncify build, which mvdb uses, and on its
 * sync build, which a synchronous path would use. With the VFS held equal, the difference is the build.
 * wa-sqlite's own :memory: on both builds gives each build's ceiling.
 *
 * Usage: npx tsx bench/sync-path.ts [--reps 3] [--rows 100000] [--cache-kib 65536] [--setups store-async,memory-async]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import * as SQLite from '@journeyapps/wa-sqlite';
import { MemoryVFS } from '@journeyapps/wa-sqlite/src/examples/MemoryVFS.js';
import * as VFS from '@journeyapps/wa-sqlite/src/VFS.js';
import { bytesEqual, concatBytes, u64be } from '../src/kv/bytes.ts';
import { LmdbStorage } from '../src/kv/lmdb.ts';
import type { StorageSnapshot } from '../src/kv/storage.ts';
import { openDatabase, openKv } from '../src/engine/index.ts';
import { hashPage } from '../src/engine/content.ts';
import { contentKey, pageRangeAt } from '../src/engine/keys.ts';
import { machineHeader, machineInfo } from './lib/machine.ts';
import { makeRng, randInt } from './lib/rng.ts';
import { buildRows } from './lib/table.ts';
import { median, perSecond, timed } from './lib/time.ts';
import type { Conn } from './lib/types.ts';
import { mvdbLmdb } from './systems/mvdb.ts';
import { newModule, wrap, type Build } from './systems/wa-sqlite.ts';

const MAIN_DB = '/bench.db';

/** Where the store keeps the database: namespace prefix and page size (read once with the engine). */
interface Located {
  prefix: Uint8Array;
  pageSize: number;
}

/** The part of wa-sqlite's MemoryVFS used here (the package's typings for the examples are stale). */
interface MemoryFiles {
  jOpen(filename: string | null, fileId: number, flags: number, pOutFlags: DataView): number;
  jClose(fileId: number): number;
  jRead(fileId: number, pData: Uint8Array, iOffset: number): number;
  jWrite(fileId: number, pData: Uint8Array, iOffset: number): number;
  jFileSize(fileId: number, pSize64: DataView): number;
}
const MemoryFilesVfs = MemoryVFS as unknown as new (name: string, module: object) => MemoryFiles;

/**
 * MemoryVFS for SQLite's temporary files; the main database file's pages come from the store, as of the
 * head found at the last SHARED lock. Read-only: a write to the main file is refused.
 */
class StorePagesVfs extends MemoryFilesVfs {
  #snapshot: StorageSnapshot | undefined;
  #headBytes: Uint8Array = new Uint8Array(10);
  #mainId = -1;
  #pageCount = 0;
  /** Page 1 as of the snapshot: SQLite reads its change counter at the start of every transaction. */
  #pageOne: Uint8Array | undefined;

  constructor(
    module: unknown,
    private readonly storage: LmdbStorage,
    private readonly db: Located,
  ) {
    super('store-pages', module as object);
  }

  override jOpen(filename: string | null, fileId: number, flags: number, pOutFlags: DataView): number {
    if (filename === MAIN_DB) {
      this.#mainId = fileId;
      this.#refresh();
      pOutFlags.setInt32(0, flags, true);
      return VFS.SQLITE_OK;
    }
    return super.jOpen(filename, fileId, flags, pOutFlags);
  }

  override jRead(fileId: number, pData: Uint8Array, iOffset: number): number {
    if (fileId !== this.#mainId) return super.jRead(fileId, pData, iOffset);
    const { pageSize } = this.db;
    const page = Math.floor(iOffset / pageSize) + 1;
    const bytes = page === 1 ? this.#pageOne : this.#readPage(page);
    if (bytes === undefined) {
      pData.fill(0);
      return VFS.SQLITE_IOERR_SHORT_READ;
    }
    const at = iOffset % pageSize;
    pData.set(bytes.subarray(at, at + pData.byteLength));
    return VFS.SQLITE_OK;
  }

  override jWrite(fileId: number, pData: Uint8Array, iOffset: number): number {
    if (fileId === this.#mainId) return VFS.SQLITE_READONLY;
    return super.jWrite(fileId, pData, iOffset);
  }

  override jFileSize(fileId: number, pSize64: DataView): number {
    if (fileId !== this.#mainId) return super.jFileSize(fileId, pSize64);
    pSize64.setBigInt64(0, BigInt(this.#pageCount * this.db.pageSize), true);
    return VFS.SQLITE_OK;
  }

  jLock(fileId: number, lockType: number): number {
    // mvdb checks the head once per transaction; so does this VFS (a new snapshot only if the store moved).
    if (fileId === this.#mainId && lockType === VFS.SQLITE_LOCK_SHARED && this.storage.latestVersion() !== this.#snapshot?.version) {
      this.#refresh();
    }
    return VFS.SQLITE_OK;
  }

  override jClose(fileId: number): number {
    if (fileId !== this.#mainId) return super.jClose(fileId);
    this.#snapshot?.release();
    this.#snapshot = undefined;
    return VFS.SQLITE_OK;
  }

  #refresh(): void {
    this.#snapshot?.release();
    this.#snapshot = this.storage.snapshot();
    // The newest version at or before the head: the commit version, then the largest batch order.
    this.#headBytes = concatBytes(u64be(this.#snapshot.version), Uint8Array.of(0xff, 0xff));
    this.#pageOne = this.#readPage(1);
    this.#pageCount = this.#pageOne ? new DataView(this.#pageOne.buffer, this.#pageOne.byteOffset).getUint32(28) : 0;
  }

  #readPage(page: number): Uint8Array | undefined {
    const snapshot = this.#snapshot!;
    const range = pageRangeAt(this.db.prefix, page, this.#headBytes);
    const [entry] = snapshot.getRange(range.begin, range.end, { limit: 1, reverse: true });
    if (entry === undefined) return undefined;
    const value = snapshot.get(contentKey(this.db.prefix, entry[1]));
    const bytes = value?.subarray(1);
    if (bytes === undefined || !bytesEqual(hashPage(bytes), entry[1])) {
      throw new Error(`page ${page}: content missing or corrupt`);
    }
    return bytes;
  }
}

interface Setup {
  id: string;
  name: string;
  open(): Promise<Conn>;
}

function storeSetup(build: Build, storage: LmdbStorage, db: Located, cacheKib: number): Setup {
  return {
    id: `store-${build}`,
    name: `store VFS, ${build} build`,
    async open() {
      const { sqlite3, module } = await newModule(build);
      sqlite3.vfs_register(new StorePagesVfs(module, storage, db) as unknown as SQLiteVFS, false);
      const handle = await sqlite3.open_v2(MAIN_DB, SQLite.SQLITE_OPEN_READONLY, 'store-pages');
      await sqlite3.exec(handle, `PRAGMA cache_size = -${cacheKib}`);
      return wrap(sqlite3, handle);
    },
  };
}

function memorySetup(build: Build, rows: number): Setup {
  return {
    id: `memory-${build}`,
    name: `:memory:, ${build} build`,
    async open() {
      const { sqlite3 } = await newModule(build);
      const conn = wrap(sqlite3, await sqlite3.open_v2(':memory:'));
      await buildRows(conn, rows);
      return conn;
    },
  };
}

const SELECT = 'SELECT id, name, score, payload FROM t WHERE id = ?';
const FULL_SCAN = 'SELECT count(*), sum(score), sum(length(payload)) FROM t';

async function measure(conn: Conn, rows: number, rep: number): Promise<{ selects: number; scanRows: number }> {
  const rng = makeRng(1000 + rep);
  const select = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      const id = randInt(rng, 1, rows);
      const row = await conn.get(SELECT, [id]);
      if (row?.[0] !== id) throw new Error(`row ${id} not found`);
    }
  };
  await conn.all(FULL_SCAN); // brings every page into SQLite's cache, as a long-running reader would have
  await select(2_000);
  const [, selectMs] = await timed(() => select(20_000));
  const [, scanMs] = await timed(async () => {
    for (let i = 0; i < 5; i++) await conn.all(FULL_SCAN);
  });
  return { selects: perSecond(20_000, selectMs), scanRows: perSecond(5 * rows, scanMs) };
}

const opts = new Command()
  .option('--reps <n>', 'alternating repetitions (median reported)', (v) => Number.parseInt(v, 10), 3)
  .option('--rows <n>', 'table rows', (v) => Number.parseInt(v, 10), 100_000)
  .option('--setups <ids>', 'comma-separated: store-async, store-sync, memory-async, memory-sync (default all)')
  .option('--cache-kib <n>', "SQLite's page cache per connection, KiB", (v) => Number.parseInt(v, 10), 65_536)
  .parse()
  .opts<{ reps: number; rows: number; cacheKib: number; setups?: string }>();

const dir = mkdtempSync(join(tmpdir(), 'mvdb-sync-path-'));
try {
  console.log(machineHeader('sync-path', machineInfo()));
  const loc = { dir, name: 'rows' };
  const writer = await mvdbLmdb.open(loc);
  await buildRows(writer, opts.rows);
  await writer.close();
  const storeDir = join(dir, 'store');
  const kv = await openKv(`lmdb:${storeDir}`);
  const ref = await openDatabase(kv, loc.name);
  const located = { prefix: ref.prefix, pageSize: ref.pageSize };
  await kv.close();

  const storage = new LmdbStorage(storeDir);
  const setups = [
    storeSetup('async', storage, located, opts.cacheKib),
    storeSetup('sync', storage, located, opts.cacheKib),
    memorySetup('async', opts.rows),
    memorySetup('sync', opts.rows),
  ].filter((s) => opts.setups === undefined || opts.setups.split(',').includes(s.id));
  const results = new Map(setups.map((s) => [s.name, { selects: [] as number[], scanRows: [] as number[] }]));
  for (let rep = 0; rep < opts.reps; rep++) {
    for (const setup of setups) {
      const conn = await setup.open();
      const r = await measure(conn, opts.rows, rep);
      await conn.close();
      results.get(setup.name)!.selects.push(r.selects);
      results.get(setup.name)!.scanRows.push(r.scanRows);
      console.log(`rep ${rep + 1} ${setup.name}: ${Math.round(r.selects)} selects/s, ${Math.round(r.scanRows)} full-scan rows/s`);
    }
  }
  await storage.close();
  console.log(`\n| setup | point selects/s | full-scan rows/s |\n|---|---:|---:|`);
  for (const [name, r] of results) console.log(`| ${name} | ${Math.round(median(r.selects))} | ${Math.round(median(r.scanRows))} |`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

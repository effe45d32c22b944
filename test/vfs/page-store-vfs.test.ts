import * as SQLite from '@journeyapps/wa-sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, head, log } from '../../src/engine/index.ts';
import { KvError, openKv } from '../../src/kv/index.ts';
import type { Kv, KvTransaction, KvTransactionSync } from '../../src/kv/types.ts';
import { PageCacheBudget, UnsupportedError } from '../../vfs/index.ts';
import { connect, type Harness } from './harness.ts';

const FILL = `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 2000)
  INSERT INTO t(id, v) SELECT i, printf('%0500d', i) FROM s`;

let kv: Kv;
let open: Harness[];

beforeEach(async () => {
  kv = await openKv('memory:');
  open = [];
});
afterEach(async () => {
  for (const h of open) await h.close();
  await kv.close();
});

let synchronous = false;

async function conn(name = 'db', options: Parameters<typeof connect>[2] = {}): Promise<Harness> {
  const h = await connect(kv, name, { synchronous, ...options });
  open.push(h);
  return h;
}

// Every test runs on both builds: Asyncify (any store) and the sync build (the VFS answering synchronously).
describe.each(['asyncify', 'sync'] as const)('%s build', (build) => {
  beforeEach(() => {
    synchronous = build === 'sync';
  });

  describe('reads and writes', () => {
    it.each([4096, 65536])('a %i-byte-page database reads back the same from a fresh module, integrity ok', async (pageSize) => {
      const a = await conn('db', { pageSize });
      await a.all(`CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); ${FILL}; CREATE INDEX tv ON t(v)`);
      const b = await conn('db');
      expect(await b.all(`SELECT count(*), sum(length(v)), max(id) FROM t`)).toEqual([[2000, 1_000_000, 2000]]);
      expect(await b.all(`PRAGMA page_size`)).toEqual([[pageSize]]);
      expect(await b.all(`PRAGMA integrity_check`)).toEqual([['ok']]);
      expect(b.vfs.stats.commits).toBe(0);
    });

    it('a cold full scan fetches its pages in few round trips (sequential prefetch)', async () => {
      const a = await conn();
      await a.all(`CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); ${FILL}`);
      const b = await conn();
      await b.all(`SELECT sum(length(v)) FROM t`);
      const [[pages]] = (await b.all(`PRAGMA page_count`)) as [[number]];
      expect(pages).toBeGreaterThan(200);
      expect(b.vfs.stats.pagesFetched).toBeLessThanOrEqual(pages);
      expect(b.vfs.stats.fetches).toBeLessThan(pages / 10);
    });

    it('a scan larger than the page cache, repeated, fetches fewer pages the second time (and reads the same)', async () => {
      const a = await conn();
      await a.all(`CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); ${FILL}`);
      const b = await conn('db', { cachePages: 200 });
      await b.all(`PRAGMA cache_size = 10`); // SQLite's own cache out of the way
      const scan = `SELECT count(*), sum(length(v)) FROM t`;
      expect(await b.all(scan)).toEqual([[2000, 1_000_000]]);
      const first = b.vfs.stats.pagesFetched;
      expect(first).toBeGreaterThan(200);
      expect(await b.all(scan)).toEqual([[2000, 1_000_000]]);
      const second = b.vfs.stats.pagesFetched - first;
      expect(second).toBeLessThan(first - 100); // pages kept from the first scan (plain LRU keeps none)
    });

    it("one database's scan through a small shared budget keeps another database's cached pages", async () => {
      // ~140 pages for both connections: the hot table (~30 pages) fits in a scan's quarter, the big one (~270) not at all.
      const budget = new PageCacheBudget(160 * 4096);
      const hot = await conn('hot', { cacheBudget: budget });
      await hot.all(`CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); ${FILL.replace('i < 2000', 'i < 200')}`);
      const big = await conn('big', { cacheBudget: budget });
      await big.all(`CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); ${FILL}`);
      const reader = await conn('hot', { cacheBudget: budget });
      // Read twice through the VFS (SQLite's own cache kept small): pages in use, not pages of a passing scan.
      await reader.all(`PRAGMA cache_size = 5`);
      for (let i = 0; i < 2; i++) expect(await reader.all(`SELECT sum(length(v)) FROM t`)).toEqual([[100_000]]);
      const [[pages]] = (await reader.all(`PRAGMA page_count`)) as [[number]];
      expect(pages).toBeGreaterThan(25);
      const warm = reader.vfs.stats.pagesFetched;

      await big.all(`PRAGMA cache_size = 10`);
      expect(await big.all(`SELECT count(*), sum(length(v)) FROM t`)).toEqual([[2000, 1_000_000]]);
      expect(budget.usedBytes).toBeLessThanOrEqual(budget.maxBytes);

      // Another writer changes one row: the reader's SQLite drops its own cache and reads every page again
      // through the VFS, which still holds all but the changed ones.
      const writer = await conn('hot');
      await writer.all(`UPDATE t SET v = 'changed' WHERE id = 100`);
      expect(await reader.all(`SELECT sum(length(v)) FROM t`)).toEqual([[100_000 - 500 + 7]]);
      // The changed leaf and the few pages the reader itself had read only once; a plain LRU refetches them all.
      expect(reader.vfs.stats.pagesFetched - warm).toBeLessThan(pages / 3);
    });

    it('the page cache survives transactions and drops only what other writers changed', async () => {
      const a = await conn();
      await a.all(`CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); ${FILL}`);
      const b = await conn();
      await b.all(`SELECT sum(length(v)) FROM t`);
      const warm = b.vfs.stats.fetches;
      expect(await b.all(`SELECT sum(length(v)) FROM t`)).toEqual([[1_000_000]]);
      expect(b.vfs.stats.fetches).toBe(warm); // nothing fetched again

      await a.all(`UPDATE t SET v = 'changed' WHERE id = 1000`);
      expect(await b.all(`SELECT v FROM t WHERE id = 1000`)).toEqual([['changed']]);
      expect(b.vfs.stats.fetches - warm).toBeLessThanOrEqual(2); // the changed leaf (and page 1 if it changed)
    });

    it('an update inside one page commits that page alone: page 1 is not rewritten for its change counter', async () => {
      const a = await conn();
      await a.all(`CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); ${FILL}`);
      await a.all(`UPDATE t SET v = 'x' || substr(v, 2) WHERE id = 7`);
      const [newest] = await log(a.ref, { limit: 1 });
      expect(newest!.pages).toBe(1);
    });

    it('VACUUM after a large delete shrinks the file and keeps the data', async () => {
      const a = await conn();
      await a.all(`CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); ${FILL}`);
      const [[before]] = (await a.all(`PRAGMA page_count`)) as [[number]];
      await a.all(`DELETE FROM t WHERE id > 100; VACUUM`);
      const b = await conn();
      const [[after]] = (await b.all(`PRAGMA page_count`)) as [[number]];
      expect(after).toBeLessThan(before / 5);
      expect(await b.all(`SELECT count(*), sum(id) FROM t`)).toEqual([[100, 5050]]);
      expect(await b.all(`PRAGMA integrity_check`)).toEqual([['ok']]);
    });
  });

  describe('the journal path (a transaction larger than SQLite cache)', () => {
    it('commits at COMMIT_PHASETWO, and a rollback after a cache spill commits nothing', async () => {
      const a = await conn();
      await a.all(`PRAGMA cache_size = 5; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)`);
      await a.all(`BEGIN; ${FILL}; COMMIT`);
      expect(a.vfs.stats.journalCommits).toBe(1);
      const commits = (await log(a.ref)).length;
      await a.all(`BEGIN; UPDATE t SET v = 'gone'; DELETE FROM t WHERE id % 3 = 0; ROLLBACK`);
      expect((await log(a.ref)).length).toBe(commits);
      const b = await conn();
      expect(await b.all(`SELECT count(*), sum(length(v)) FROM t WHERE v <> 'gone'`)).toEqual([[2000, 1_000_000]]);
      expect(await b.all(`PRAGMA integrity_check`)).toEqual([['ok']]);
    });

    it('a conflict fails COMMIT with SQLITE_BUSY, keeps failing on retry, and ROLLBACK leaves the winner', async () => {
      const a = await conn();
      await a.all(`CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); ${FILL}`);
      const b = await conn();
      await b.all(`PRAGMA cache_size = 5`);
      await b.all(`BEGIN; UPDATE t SET v = 'b'`); // spills: the journal path
      await a.all(`UPDATE t SET v = 'a' WHERE id = 1`);
      const conflicts = b.vfs.stats.conflicts;
      const winner = await head(a.ref);
      const failed = await b.fails(`COMMIT`);
      expect(failed.code).toBe(SQLite.SQLITE_BUSY);
      expect(failed.cause).toBeInstanceOf(ConflictError);
      expect((failed.cause as ConflictError).winningVersion).toBe(winner);
      expect(b.vfs.stats.conflicts).toBe(conflicts + 1);
      expect(b.vfs.stats.journalCommits + b.vfs.stats.commits).toBe(0);
      expect((await b.fails(`COMMIT`)).code).toBe(SQLite.SQLITE_BUSY); // never a silent success
      await b.all(`ROLLBACK`);
      expect(await b.all(`SELECT count(*) FROM t WHERE v = 'b'`)).toEqual([[0]]);
      expect(await b.all(`SELECT v FROM t WHERE id = 1`)).toEqual([['a']]);
      expect(await head(a.ref)).toBe(winner);
    });
  });

  describe('every rollback journal mode', () => {
    const modes = ['DELETE', 'TRUNCATE', 'PERSIST', 'MEMORY', 'OFF'].flatMap((mode) =>
      ['FULL', 'OFF'].flatMap((sync) => [2000, 5].map((cache) => [mode, sync, cache] as const)),
    );
    it.each(modes)('journal_mode=%s synchronous=%s cache_size=%i: commits, and a rollback leaves no trace', async (mode, sync, cache) => {
      const a = await conn();
      await a.all(`PRAGMA journal_mode=${mode}; PRAGMA synchronous=${sync}; PRAGMA cache_size=${cache}`);
      await a.all(`CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)`);
      await a.all(`BEGIN; ${FILL}; COMMIT`);
      await a.all(`BEGIN; UPDATE t SET v = 'x'; DELETE FROM t WHERE id % 2 = 0; ROLLBACK`);
      const expected = [[2000, 0]];
      expect(await a.all(`SELECT count(*), count(*) FILTER (WHERE v = 'x') FROM t`)).toEqual(expected);
      expect(await (await conn()).all(`SELECT count(*), count(*) FILTER (WHERE v = 'x') FROM t`)).toEqual(expected);
      expect(await a.all(`PRAGMA integrity_check`)).toEqual([['ok']]);
    });
  });

  describe('optimistic writers', () => {
    it('two connections writing rows in different pages both commit', async () => {
      const a = await conn();
      await a.all(`CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); ${FILL}`);
      const b = await conn();
      await a.all(`BEGIN; UPDATE t SET v = 'a' WHERE id = 10`);
      await b.all(`BEGIN; UPDATE t SET v = 'b' WHERE id = 1990`);
      await a.all(`COMMIT`);
      await b.all(`COMMIT`);
      expect(await a.all(`SELECT id, v FROM t WHERE id IN (10, 1990) ORDER BY id`)).toEqual([
        [10, 'a'],
        [1990, 'b'],
      ]);
      expect(a.vfs.stats.conflicts + b.vfs.stats.conflicts).toBe(0);
    });

    it('reads of an unchanged database stay in SQLite\'s own cache (no page reads through the VFS)', async () => {
      const a = await conn();
      await a.all(`CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); ${FILL}`);
      await a.all(`SELECT v FROM t WHERE id = 1000`);
      const { cacheHits, fetches } = a.vfs.stats;
      expect(await a.all(`SELECT length(v) FROM t WHERE id = 1000`)).toEqual([[500]]);
      expect([a.vfs.stats.cacheHits, a.vfs.stats.fetches]).toEqual([cacheHits, fetches]);
    });

    it('a transaction whose reads SQLite served from its own cache still conflicts with a newer commit of what it read', async () => {
      const a = await conn();
      await a.all(`CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); ${FILL}`);
      await a.all(`SELECT v FROM t WHERE id = 10`); // SQLite caches the page of row 10
      const b = await conn();
      await a.all(`BEGIN; SELECT v FROM t WHERE id = 10`);
      await b.all(`UPDATE t SET v = 'b' WHERE id = 10`);
      // Write skew if this committed: a decided on row 10 as it was before b's commit.
      await a.all(`UPDATE t SET v = 'a' WHERE id = 1990`);
      const failed = await a.fails(`COMMIT`);
      expect(failed.code).toBe(SQLite.SQLITE_BUSY);
      expect(failed.cause).toBeInstanceOf(ConflictError);
      await a.all(`ROLLBACK`);
      expect(await a.all(`SELECT id, v FROM t WHERE id IN (10, 1990) ORDER BY id`)).toEqual([
        [10, 'b'],
        [1990, '0'.repeat(496) + '1990'],
      ]);
    });

    it('the second writer of a page a transaction read gets SQLITE_BUSY with the ConflictError, on the batch path', async () => {
      const a = await conn();
      await a.all(`CREATE TABLE t(id INTEGER PRIMARY KEY, n INTEGER); INSERT INTO t VALUES (1, 0)`);
      const b = await conn();
      await a.all(`BEGIN; UPDATE t SET n = n + 1`);
      await b.all(`BEGIN; UPDATE t SET n = n + 10`);
      await a.all(`COMMIT`);
      const failed = await b.fails(`COMMIT`);
      expect(failed.code).toBe(SQLite.SQLITE_BUSY);
      expect(failed.cause).toBeInstanceOf(ConflictError);
      expect((failed.cause as ConflictError).pages).toContain(2);
      expect((await b.fails(`COMMIT`)).code).toBe(SQLite.SQLITE_BUSY);
      await b.all(`ROLLBACK`);
      await b.all(`UPDATE t SET n = n + 10`);
      expect(await a.all(`SELECT n FROM t`)).toEqual([[11]]);
    });
  });

  describe('refusals', () => {
    async function seeded(): Promise<Harness> {
      const a = await conn();
      await a.all(`CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'kept')`);
      return a;
    }

    it.each([
      ['PRAGMA journal_mode = WAL', /journal_mode=WAL is not supported/],
      ['PRAGMA main.journal_mode = wal', /journal_mode=WAL is not supported/],
      ['PRAGMA page_size = 8192', /page_size cannot change to 8192: .*4096-byte pages/],
      ['PRAGMA locking_mode = EXCLUSIVE', /locking_mode=EXCLUSIVE is not supported/],
    ])('%s fails with a clear error and changes nothing', async (sql, message) => {
      const a = await seeded();
      const commits = (await log(a.ref)).length;
      const failed = await a.fails(sql);
      expect(failed.message).toMatch(message);
      expect(failed.cause).toBeInstanceOf(UnsupportedError);
      expect(await a.all(`PRAGMA journal_mode; PRAGMA page_size; PRAGMA locking_mode`)).toEqual([['delete'], [4096], ['normal']]);
      expect(await a.all(`SELECT * FROM t`)).toEqual([[1, 'kept']]);
      expect((await log(a.ref)).length).toBe(commits);
    });

    it('the same page size, and the other journal modes, are accepted', async () => {
      const a = await seeded();
      expect(await a.all(`PRAGMA page_size = 4096; PRAGMA journal_mode = MEMORY`)).toEqual([['memory']]);
      await a.all(`INSERT INTO t VALUES (2, 'memory journal')`);
      expect(await (await conn()).all(`SELECT count(*) FROM t`)).toEqual([[2]]);
    });

    it('a transaction writing two attached databases is refused at the second; the first can still commit', async () => {
      const a = await seeded();
      await a.all(`ATTACH 'other' AS o; CREATE TABLE o.u(x)`);
      await a.all(`BEGIN; INSERT INTO t VALUES (2, 'main')`);
      const failed = await a.fails(`INSERT INTO o.u VALUES (1)`);
      expect(failed.cause).toBeInstanceOf(UnsupportedError);
      expect((failed.cause as Error).message).toMatch(/cannot write to more than one database.*"db".*"other"/);
      await a.all(`COMMIT`);
      expect(await a.all(`SELECT count(*) FROM t; SELECT count(*) FROM o.u`)).toEqual([[2], [0]]);
      await a.all(`INSERT INTO o.u VALUES (1)`); // alone, it is fine
      expect(await (await conn('other')).all(`SELECT x FROM u`)).toEqual([[1]]);
    });

    it('a connection pinned at a version reads that version and refuses every write', async () => {
      const a = await seeded();
      const pinned = await head(a.ref);
      await a.all(`UPDATE t SET v = 'later'`);
      const p = await conn('db', { pinned });
      expect(await p.all(`SELECT v FROM t`)).toEqual([['kept']]);
      const failed = await p.fails(`UPDATE t SET v = 'nope'`);
      expect(failed.code & 0xff).toBe(SQLite.SQLITE_READONLY);
      expect(await p.all(`SELECT v FROM t`)).toEqual([['kept']]);
      expect(await a.all(`SELECT v FROM t`)).toEqual([['later']]);
    });
  });

  describe('answers', () => {
    it('every call that may need the store answers as the build needs: a code on the sync build, a code or a Promise on Asyncify', async () => {
      const methods = ['jOpen', 'xRead', 'jLock', 'jFileControl'] as const;
      const answers = new Set<string>();
      const spy = (h: Harness) => {
        const vfs = h.vfs as unknown as Record<string, (...args: unknown[]) => unknown>;
        for (const name of methods) {
          const method = vfs[name]!.bind(vfs);
          vfs[name] = (...args) => {
            const answer = method(...args);
            answers.add(typeof answer === 'number' ? 'code' : answer instanceof Promise ? 'promise' : 'ready');
            return answer;
          };
        }
      };
      const a = await conn();
      spy(a);
      await a.all(`CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); ${FILL}`);
      const b = await conn();
      spy(b);
      await b.all(`ATTACH 'other' AS o; CREATE TABLE o.u(x); SELECT count(*) FROM t; UPDATE t SET v = 'x' WHERE id = 5`);
      if (build === 'sync') expect([...answers]).toEqual(['code']);
      else expect([...answers].sort()).toEqual(['promise', 'ready']);
    });
  });

  describe('store failures', () => {
    /** A Kv whose transactions fail while `broken` is set. */
    function breakable(inner: Kv): Kv & { broken: boolean } {
      const wrapper = {
        broken: false,
        get url() {
          return inner.url;
        },
        createTransaction(options?: Parameters<Kv['createTransaction']>[0]): KvTransaction {
          if (wrapper.broken) throw new KvError(1031, 'store unreachable (test)');
          return inner.createTransaction(options);
        },
        createTransactionSync(options?: Parameters<Kv['createTransaction']>[0]): KvTransactionSync {
          if (wrapper.broken) throw new KvError(1031, 'store unreachable (test)');
          return inner.createTransactionSync!(options);
        },
        run<T>(body: (tx: KvTransaction) => Promise<T>, options?: Parameters<Kv['run']>[1]): Promise<T> {
          if (wrapper.broken) return Promise.reject(new KvError(1031, 'store unreachable (test)'));
          return inner.run(body, options);
        },
        close: () => inner.close(),
      };
      return wrapper as unknown as Kv & { broken: boolean };
    }

    it('a failing store fails the statement with its error; the connection works again afterwards', async () => {
      const a = await conn();
      await a.all(`CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); ${FILL}`);
      const store = breakable(kv);
      const b = await connect(store, 'db', { synchronous });
      open.push(b);
      store.broken = true;
      const read = await b.fails(`SELECT count(*) FROM t`);
      expect(read.cause).toBeInstanceOf(KvError);
      const write = await b.fails(`INSERT INTO t VALUES (5000, 'x')`);
      expect(write.cause).toBeInstanceOf(KvError);
      store.broken = false;
      expect(await b.all(`SELECT count(*) FROM t`)).toEqual([[2000]]);
      await b.all(`INSERT INTO t VALUES (5000, 'x')`);
      expect(await a.all(`SELECT count(*) FROM t`)).toEqual([[2001]]);
    });
  });
});

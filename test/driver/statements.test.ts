import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_PAGE_CACHE_BYTES, open, setPageCacheBytes, type Database } from '../../src/index.ts';
import { uniqueName, onEachBuild } from './helpers.ts';

const dbs: Database[] = [];
afterEach(async () => {
  for (const db of dbs.splice(0)) await db.close();
});

async function fresh(): Promise<Database> {
  const db = await open(uniqueName('stmt'), { store: 'memory:' });
  dbs.push(db);
  return db;
}

onEachBuild(() => {
  describe('cached statements', () => {
    it('a cached SELECT * shows the columns of the schema it runs against, after a change by this or another connection', async () => {
      const db = await fresh();
      await db.exec(`CREATE TABLE t(a, b); INSERT INTO t VALUES (1, 2)`);
      expect(await db.query(`SELECT * FROM t`)).toEqual([{ a: 1, b: 2 }]);
      await db.exec(`ALTER TABLE t RENAME COLUMN a TO x; ALTER TABLE t ADD COLUMN c DEFAULT 3`);
      expect(await db.query(`SELECT * FROM t`)).toEqual([{ x: 1, b: 2, c: 3 }]);
      expect((await db.execute(`SELECT * FROM t`)).columns).toEqual(['x', 'b', 'c']);

      const other = await open(db.name, { store: 'memory:' });
      dbs.push(other);
      await other.exec(`DROP TABLE t; CREATE TABLE t(only)`);
      await other.run(`INSERT INTO t VALUES ('z')`);
      expect(await db.query(`SELECT * FROM t`)).toEqual([{ only: 'z' }]);
      expect(await db.query(`SELECT * FROM t WHERE 0`, [], { rowMode: 'array' })).toEqual([]);
      expect(await db.columns(`SELECT * FROM t`)).toEqual(['only']);
    });

    it('column names handed out are the caller’s own: changing them changes nothing later', async () => {
      const db = await fresh();
      await db.exec(`CREATE TABLE t(a); INSERT INTO t VALUES (1)`);
      const first = await db.execute(`SELECT a FROM t`);
      first.columns[0] = 'mutated';
      first.columns.push('extra');
      expect(await db.execute(`SELECT a FROM t`)).toMatchObject({ columns: ['a'], rows: [[1]] });
      expect(await db.get(`SELECT a FROM t`)).toEqual({ a: 1 });
    });

    it('changes counts only what this statement changed, and a SELECT reports none', async () => {
      const db = await fresh();
      await db.exec(`CREATE TABLE t(a)`);
      expect((await db.run(`INSERT INTO t VALUES (1), (2), (3)`)).changes).toBe(3);
      expect((await db.run(`SELECT * FROM t`)).changes).toBe(0);
      expect((await db.run(`UPDATE t SET a = a + 1 WHERE a > 1`)).changes).toBe(2);
      expect((await db.run(`DELETE FROM t WHERE a > 100`)).changes).toBe(0);
    });
  });

  describe('statements of one transaction', () => {
    it('started together, they run one at a time in call order, also while SQLite waits for the store', async () => {
      const name = uniqueName('order');
      const setup = await open(name, { store: 'memory:' });
      dbs.push(setup);
      await setup.exec(`CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)`);
      await setup.transaction(async (tx) => {
        for (let id = 1; id <= 2000; id++) await tx.run(`INSERT INTO t VALUES (?, ?)`, [id, `v${id}`.padEnd(200, '.')]);
      });
      // No page cache: the new connection's first reads of each page wait for the store (SQLite suspends),
      // while its later statements run without waiting: both kinds interleave below.
      setPageCacheBytes(0);
      try {
        const db = await open(name, { store: 'memory:' });
        dbs.push(db);
        const results = await db.transaction((tx) =>
          Promise.all([
            tx.get(`SELECT count(*) AS n FROM t`),
            tx.run(`INSERT INTO t VALUES (2001, 'new')`),
            tx.get(`SELECT count(*) AS n FROM t`),
            tx.get(`SELECT substr(v, 1, 5) AS v FROM t WHERE id = 1500`),
            tx.run(`DELETE FROM t WHERE id <= 10`),
            tx.query(`SELECT id FROM t WHERE id > 1998 ORDER BY id`),
            db.get(`SELECT count(*) AS n FROM t`),
          ]),
        );
        expect(results).toEqual([
          { n: 2000 },
          { changes: 1, lastInsertRowid: 2001 },
          { n: 2001 },
          { v: 'v1500' },
          { changes: 10, lastInsertRowid: 2001 },
          [{ id: 1999 }, { id: 2000 }, { id: 2001 }],
          { n: 1991 },
        ]);
        expect(await setup.get(`SELECT count(*) AS n FROM t`)).toEqual({ n: 1991 });
      } finally {
        setPageCacheBytes(DEFAULT_PAGE_CACHE_BYTES);
      }
    });

    it('a statement that fails inside a transaction leaves the statement reusable and the transaction usable', async () => {
      const db = await fresh();
      await db.exec(`CREATE TABLE t(id INTEGER PRIMARY KEY, v NOT NULL)`);
      const insert = db.prepare(`INSERT INTO t VALUES (?, ?)`);
      await db.transaction(async (tx) => {
        await tx.run(`INSERT INTO t VALUES (?, ?)`, [1, 'a']);
        await expect(tx.run(`INSERT INTO t VALUES (?, ?)`, [1, 'dup'])).rejects.toThrow(/UNIQUE/);
        await expect(tx.run(`INSERT INTO t VALUES (?, ?)`, [2])).rejects.toThrow(/2 parameter\(s\); 1 value/);
        await expect(tx.run(`INSERT INTO t VALUES (?, ?)`, [2, undefined as never])).rejects.toThrow(/undefined/);
        await tx.run(`INSERT INTO t VALUES (?, ?)`, [2, 'b']);
        await insert.run([3, 'c']);
      });
      expect(await db.query(`SELECT * FROM t ORDER BY id`)).toEqual([
        { id: 1, v: 'a' },
        { id: 2, v: 'b' },
        { id: 3, v: 'c' },
      ]);
    });
  });
});

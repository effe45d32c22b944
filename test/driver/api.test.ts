import { afterEach, describe, expect, it } from 'vitest';
import {
  ArgumentError,
  ClosedError,
  Database,
  DatabaseNotFoundError,
  InvalidNameError,
  SqliteError,
  deleteDatabase,
  listDatabases,
  open,
} from '../../src/index.ts';
import { uniqueName, onEachBuild } from './helpers.ts';

const STORE = 'memory:';
const opened: Database[] = [];
afterEach(async () => {
  for (const db of opened.splice(0)) await db.close();
});
async function fresh(options: Parameters<typeof open>[1] = {}): Promise<Database> {
  const db = await open(uniqueName(), { store: STORE, ...options });
  opened.push(db);
  return db;
}

onEachBuild(() => {
  describe('parameters', () => {
    it('binds positional and named (:a, @a, $a) parameters, with keys with or without the prefix', async () => {
      const db = await fresh();
      expect(await db.get(`SELECT ? AS a, ?2 AS b, ?1 AS c`, [1, 'two'])).toEqual({ a: 1, b: 'two', c: 1 });
      expect(await db.get(`SELECT :x AS x, @y AS y, $z AS z`, { x: 1, y: 'y', $z: null })).toEqual({ x: 1, y: 'y', z: null });
    });

    it('binds every accepted type and reads each back as stored', async () => {
      const db = await fresh();
      await db.exec(`CREATE TABLE v(x)`);
      const blob = new Uint8Array([0, 1, 2, 255]);
      const values = [null, 42, -7.25, 2n ** 62n, 'text with \u0000 a NUL', true, blob, Buffer.from('buf'), blob.buffer.slice(1, 3)];
      for (const value of values) await db.run(`INSERT INTO v VALUES (?)`, [value as never]);
      const rows = await db.query(`SELECT x, typeof(x) AS t FROM v ORDER BY rowid`);
      expect(rows.map((r) => r.t)).toEqual(['null', 'integer', 'real', 'integer', 'text', 'integer', 'blob', 'blob', 'blob']);
      expect(rows.map((r) => r.x)).toEqual([
        null,
        42,
        -7.25,
        2n ** 62n,
        'text with \u0000 a NUL',
        1,
        blob,
        new Uint8Array(Buffer.from('buf')),
        new Uint8Array([1, 2]),
      ]);
      expect(rows[6]!.x).toBeInstanceOf(Uint8Array);
    });

    it('keeps 64-bit integers exact: numbers when safe, bigints beyond, bigints always with { bigint: true }', async () => {
      const db = await fresh();
      const extremes = [0n, 2n ** 53n - 1n, 2n ** 53n, -(2n ** 53n) + 1n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 63n)];
      const rows = await db.query(`SELECT ? AS v`, [0]); // warm
      expect(rows).toEqual([{ v: 0 }]);
      for (const n of extremes) {
        const safe = n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER);
        expect((await db.get(`SELECT ? AS v`, [n]))!.v).toEqual(safe ? Number(n) : n);
        expect((await db.get(`SELECT ? AS v`, [n], { bigint: true }))!.v).toEqual(n);
      }
      const big = await fresh({ bigint: true });
      expect(await big.get(`SELECT 1 AS one, 1.5 AS half`)).toEqual({ one: 1n, half: 1.5 });
      expect((await big.run(`SELECT 1`)).lastInsertRowid).toBe(0n);
    });

    it.each([
      [`SELECT ?`, undefined, /has 1 parameter\(s\) and none were given/],
      [`SELECT ?`, [1, 2], /has 1 parameter\(s\); 2 value\(s\) were given/],
      [`SELECT :a`, {}, /no value for parameter :a/],
      [`SELECT ?`, { a: 1 }, /parameter \?1 is positional/],
      [`SELECT ?`, [undefined], /parameter 1 is undefined \(use null/],
      [`SELECT ?`, [{}], /cannot bind Object; accepted: null, number, bigint/],
      [`SELECT ?`, [2n ** 64n], /does not fit in a 64-bit signed integer/],
      [`SELECT ?`, 5, /parameters must be an array \(positional\) or an object \(named\)/],
    ])('%s with %o is refused with a clear error', async (sql, params, message) => {
      const db = await fresh();
      await expect(db.query(sql, params as never)).rejects.toThrow(message);
      await expect(db.query(sql, params as never)).rejects.toBeInstanceOf(ArgumentError);
      expect(await db.get(`SELECT 1 AS ok`)).toEqual({ ok: 1 }); // the connection is unharmed
    });
  });

  describe('results', () => {
    it('returns object rows, or array rows that keep column order and duplicate names', async () => {
      const db = await fresh();
      await db.exec(`CREATE TABLE t(a, b); INSERT INTO t VALUES (1, 'x'), (2, 'y')`);
      expect(await db.query(`SELECT b, a FROM t ORDER BY a`)).toEqual([{ b: 'x', a: 1 }, { b: 'y', a: 2 }]);
      expect(await db.query(`SELECT a, b, a AS b FROM t ORDER BY a`, [], { rowMode: 'array' })).toEqual([
        [1, 'x', 1],
        [2, 'y', 2],
      ]);
      const result = await db.execute(`SELECT a, b, a AS b FROM t ORDER BY a LIMIT 1`);
      expect(result.columns).toEqual(['a', 'b', 'b']);
      expect(await db.columns(`SELECT a AS first, b FROM t`)).toEqual(['first', 'b']);
      expect(await db.get(`SELECT * FROM t WHERE a = 99`)).toBeUndefined();
    });

    it('run() reports changes and the last rowid; statements that change nothing report 0', async () => {
      const db = await fresh();
      await db.exec(`CREATE TABLE t(id INTEGER PRIMARY KEY, v)`);
      expect(await db.run(`INSERT INTO t(v) VALUES (1), (2), (3)`)).toEqual({ changes: 3, lastInsertRowid: 3 });
      expect((await db.run(`UPDATE t SET v = v + 1 WHERE id >= 2`)).changes).toBe(2);
      expect((await db.run(`CREATE TABLE u(x)`)).changes).toBe(0);
      expect((await db.run(`INSERT INTO t(id, v) VALUES (9007199254740993, 0)`)).lastInsertRowid).toBe(9007199254740993n);
    });

    it('prepare() gives a reusable statement', async () => {
      const db = await fresh();
      await db.exec(`CREATE TABLE t(id INTEGER PRIMARY KEY, v)`);
      const insert = db.prepare(`INSERT INTO t(v) VALUES (:v)`);
      for (let i = 0; i < 5; i++) await insert.run({ v: i * i });
      const byId = db.prepare(`SELECT v FROM t WHERE id = ?`);
      expect(await byId.get([3])).toEqual({ v: 4 });
      expect(await byId.get([3], { rowMode: 'array' })).toEqual([4]);
      expect(await db.prepare(`SELECT count(*) AS n FROM t`).query()).toEqual([{ n: 5 }]);
      expect(await byId.columns()).toEqual(['v']);
    });

    it('exec() runs several statements; query() takes exactly one', async () => {
      const db = await fresh();
      await db.exec(`CREATE TABLE t(x); INSERT INTO t VALUES (1); -- a comment
        INSERT INTO t VALUES (2);`);
      expect(await db.get(`SELECT sum(x) AS s FROM t;  `)).toEqual({ s: 3 });
      await expect(db.query(`SELECT 1; SELECT 2`)).rejects.toThrow(/more than one statement: use exec\(\)/);
      await expect(db.exec(`SELECT ?`)).rejects.toThrow(/exec\(\) takes no parameters/);
      await expect(db.query(`  -- nothing`)).rejects.toThrow(/no SQL statement/);
    });
  });

  describe('errors', () => {
    it("carry SQLite's message and result code", async () => {
      const db = await fresh();
      await db.exec(`CREATE TABLE t(id INTEGER PRIMARY KEY, u UNIQUE, n NOT NULL)`);
      await db.run(`INSERT INTO t VALUES (1, 'a', 0)`);
      const cases: [string, string, number, RegExp][] = [
        [`INSERT INTO t VALUES (2, 'a', 0)`, 'SQLITE_CONSTRAINT_UNIQUE', 2067, /UNIQUE constraint failed: t.u/],
        [`INSERT INTO t VALUES (1, 'b', 0)`, 'SQLITE_CONSTRAINT_PRIMARYKEY', 1555, /UNIQUE constraint failed: t.id/],
        [`INSERT INTO t VALUES (3, 'c', NULL)`, 'SQLITE_CONSTRAINT_NOTNULL', 1299, /NOT NULL constraint failed: t.n/],
        [`SELECT * FROM missing`, 'SQLITE_ERROR', 1, /no such table: missing/],
        [`SELEC 1`, 'SQLITE_ERROR', 1, /syntax error/],
      ];
      for (const [sql, code, errno, message] of cases) {
        const error = await db.run(sql).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(SqliteError);
        expect(error).toMatchObject({ code, errno });
        expect((error as Error).message).toMatch(message);
      }
      expect(await db.get(`SELECT count(*) AS n FROM t`)).toEqual({ n: 1 });
    });

    it('open() refuses bad names and options, and a missing database without create', async () => {
      await expect(open('no/slashes', { store: STORE })).rejects.toBeInstanceOf(InvalidNameError);
      await expect(open(uniqueName(), { store: STORE, create: false })).rejects.toBeInstanceOf(DatabaseNotFoundError);
      await expect(open('x', { store: STORE, retries: -1 })).rejects.toThrow(/retries must be a whole number/);
      await expect(open('x', { store: STORE, cache: 5 } as never)).rejects.toThrow(/unknown open\(\) option "cache"; accepted: store/);
      await expect(open('x', { store: 'nope:x' })).rejects.toThrow(/unknown store URL scheme/);
    });

    it('a closed Database refuses calls', async () => {
      const db = await open(uniqueName(), { store: STORE });
      await db.close();
      await expect(db.query(`SELECT 1`)).rejects.toBeInstanceOf(ClosedError);
      await expect(db.at('now')).rejects.toBeInstanceOf(ClosedError);
    });
  });

  describe('transactions', () => {
    it('commit together, roll back together on an error, and route the Database itself into the transaction', async () => {
      const db = await fresh();
      await db.exec(`CREATE TABLE t(x)`);
      await db.transaction(async (tx) => {
        await tx.run(`INSERT INTO t VALUES (1)`);
        await db.run(`INSERT INTO t VALUES (2)`); // same transaction, no deadlock
        expect(await tx.get(`SELECT count(*) AS n FROM t`)).toEqual({ n: 2 });
      });
      await expect(
        db.transaction(async (tx) => {
          await tx.run(`INSERT INTO t VALUES (3)`);
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await db.query(`SELECT x FROM t ORDER BY x`)).toEqual([{ x: 1 }, { x: 2 }]);
    });

    it('a nested transaction is a savepoint', async () => {
      const db = await fresh();
      await db.exec(`CREATE TABLE t(x)`);
      await db.transaction(async (tx) => {
        await tx.run(`INSERT INTO t VALUES (1)`);
        await expect(
          db.transaction(async (inner) => {
            await inner.run(`INSERT INTO t VALUES (2)`);
            throw new Error('inner');
          }),
        ).rejects.toThrow('inner');
        await db.transaction(async (inner) => void (await inner.run(`INSERT INTO t VALUES (3)`)));
      });
      expect(await db.query(`SELECT x FROM t ORDER BY x`)).toEqual([{ x: 1 }, { x: 3 }]);
    });

    it('a transaction handle used after its transaction ended is refused', async () => {
      const db = await fresh();
      let leaked: { get(sql: string): Promise<unknown> } | undefined;
      await db.transaction(async (tx) => void (leaked = tx));
      await expect(leaked!.get(`SELECT 1`)).rejects.toThrow(/this transaction has ended/);
    });

    it('a transaction that is open but idle keeps other callers waiting, then lets them in', async () => {
      const db = await fresh();
      await db.exec(`CREATE TABLE t(x)`);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const tx = db.transaction(async (t) => {
        await t.run(`INSERT INTO t VALUES (1)`);
        await gate;
      });
      const outside = db.get(`SELECT count(*) AS n FROM t`);
      await new Promise((r) => setTimeout(r, 20));
      release();
      await tx;
      expect(await outside).toEqual({ n: 1 }); // ran after the commit, not inside the transaction
    });

    it('statements called without waiting run in call order, around a transaction and past failing ones', async () => {
      const db = await fresh();
      await db.exec(`CREATE TABLE t(n INTEGER)`);
      const count = `SELECT count(*) AS n FROM t`;
      const calls = [
        db.run(`INSERT INTO t VALUES (1)`),
        db.get(count),
        db.transaction(async (tx) => {
          await tx.run(`INSERT INTO t VALUES (2)`);
          await new Promise((r) => setTimeout(r, 10));
          await tx.run(`INSERT INTO t VALUES (3)`);
        }),
        db.get(count),
        db.run(`INSERT INTO missing VALUES (1)`),
        db.run(`INSERT INTO t VALUES (?)`, [4, 5]),
        db.get(`SELECT group_concat(n) AS ns FROM t`),
      ];
      const settled = await Promise.allSettled(calls);
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled']);
      expect(settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : [])).slice(1)).toEqual([{ n: 1 }, undefined, { n: 3 }, { ns: '1,2,3' }]);
      expect(settled.flatMap((s) => (s.status === 'rejected' ? [(s.reason as Error).constructor] : []))).toEqual([SqliteError, ArgumentError]);
    });
  });

  describe('databases of a store', () => {
    it('listDatabases shows each with its head; deleteDatabase removes one and its history', async () => {
      const store = `memory:${uniqueName('store')}`;
      const a = await open('alpha', { store });
      const b = await open('beta', { store, pageSize: 8192 });
      await a.exec(`CREATE TABLE t(x)`);
      await b.close();
      const listed = await listDatabases({ store });
      expect(listed.map((d) => [d.name, d.pageSize, d.head])).toEqual([
        ['alpha', 4096, a.version],
        ['beta', 8192, b.version],
      ]);
      await a.close();
      await deleteDatabase('beta', { store });
      expect((await listDatabases({ store })).map((d) => d.name)).toEqual(['alpha']);
      await expect(open('beta', { store, create: false })).rejects.toBeInstanceOf(DatabaseNotFoundError);
    });
  });
});

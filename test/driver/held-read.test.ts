/**
 * The held read transaction (connection.ts): consecutive plain queries outside a user's transaction
 * share one SQLite read transaction while every snapshot is current. It must be invisible: each query
 * reads what a fresh autocommit statement would (every commit made before it starts), users see no
 * transaction, and everything that is not a plain query (writes, transaction control, ATTACH, PRAGMAs,
 * errors, close) runs exactly as before.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Connection, type StatementResult } from '../../src/driver/connection.ts';
import { ArgumentError, ReadOnlyError, SqliteError, open, type Database } from '../../src/index.ts';
import { openLmdbKv } from '../../src/kv/lmdb.ts';
import { openMemoryKv } from '../../src/kv/memory.ts';
import { chooseSqliteBuild } from '../../src/driver/sqlite-build.ts';
import { openDatabase, openDatabaseSync, sqliteModuleStats, type Kv, type Version } from '../../vfs/index.ts';
import { tempStoreDir, uniqueName, onEachBuild } from './helpers.ts';

const lmdb = tempStoreDir();
afterAll(() => lmdb.remove());

/** The next event-loop turn: a held read transaction has ended by then. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A connection as open() makes it, on the build open() would choose for `kv` (onEachBuild sets the default). */
async function connect(kv: Kv, name: string, pinned?: Version): Promise<Connection> {
  const ref = await openDatabase(kv, name, { create: pinned === undefined });
  const build = chooseSqliteBuild(undefined, kv);
  return Connection.open({
    ref,
    build,
    resolve: (other, create) => (other === name ? ref : build === 'sync' ? openDatabaseSync(kv, other, { create }) : openDatabase(kv, other, { create })),
    retry: { limit: 0, delay: () => 0 },
    ...(pinned !== undefined ? { pinned } : {}),
  });
}

async function rows(conn: Connection, sql: string, params?: unknown[]): Promise<unknown[][]> {
  const result: StatementResult = await conn.execute(sql, params as never, { bigint: false });
  return result.rows;
}

onEachBuild(() => {
  describe('held read transaction', () => {
    // First in the file: no idle module exists yet, so a reuse proves the closed connection gave its module back.
    it('close() right after held reads ends the transaction and gives the module back for reuse', async () => {
      const url = `memory:held-${randomUUID()}`;
      const a = await open('a', { store: url });
      await a.exec(`CREATE TABLE t(x TEXT); INSERT INTO t VALUES ('a1'), ('a2')`);
      await nextTurn();
      for (let i = 0; i < 3; i++) expect(await a.query('SELECT x FROM t ORDER BY x')).toEqual([{ x: 'a1' }, { x: 'a2' }]);
      await a.close(); // in the same turn: the held transaction is still open here
      const { reused, built } = sqliteModuleStats;
      const b = await open('b', { store: url });
      await b.exec(`CREATE TABLE t(x TEXT); INSERT INTO t VALUES ('b1')`);
      expect(sqliteModuleStats).toEqual({ reused: reused + 1, built });
      expect(await b.query('SELECT x FROM t')).toEqual([{ x: 'b1' }]);
      await b.close();
      const again = await open('a', { store: url });
      expect(await again.query('SELECT x FROM t ORDER BY x')).toEqual([{ x: 'a1' }, { x: 'a2' }]);
      await again.close();
    });

    it('consecutive queries share one snapshot; between them no transaction is reported; the next turn ends it', async () => {
      const a = await connect(openMemoryKv(), 'db');
      try {
        await a.exec(`CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'one'), (2, 'two')`);
        await nextTurn();
        const before = a.vfs.stats.snapshots;
        for (let i = 0; i < 6; i++) {
          const id = 1 + (i % 2);
          expect(await rows(a, 'SELECT v FROM t WHERE id = ?', [id])).toEqual([[id === 1 ? 'one' : 'two']]);
          expect(a.holdsRead).toBe(true);
          expect(a.autocommit).toBe(true);
          expect(await a.inTransaction()).toBe(false);
        }
        // Queries written other ways are plain queries too.
        expect(await rows(a, '/* c */ -- d\n  WITH x AS (SELECT v FROM t) SELECT count(*) FROM x')).toEqual([[2]]);
        expect(await rows(a, 'values (7)')).toEqual([[7]]);
        expect(a.vfs.stats.snapshots - before).toBe(1);
        await nextTurn();
        expect(a.holdsRead).toBe(false);
        expect(await rows(a, 'SELECT count(*) FROM t')).toEqual([[2]]);
        expect(a.vfs.stats.snapshots - before).toBe(2);
      } finally {
        await a.close();
      }
    });

    it('a commit by another connection of this process is seen by the very next query, schema changes included', async () => {
      const kv = openMemoryKv();
      const a = await connect(kv, 'db');
      const b = await connect(kv, 'db');
      try {
        await b.exec(`CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'one')`);
        await nextTurn();
        for (let id = 2; id <= 4; id++) {
          expect(await rows(a, 'SELECT count(*) FROM t')).toEqual([[id - 1]]);
          expect(await rows(a, 'SELECT * FROM t WHERE id = 1')).toEqual([[1, 'one']]);
          await b.execute('INSERT INTO t VALUES (?, ?)', [id, `v${id}`], { bigint: false });
          expect(a.holdsRead).toBe(true); // the memory store commits within this turn: the hold is still open
          expect(await rows(a, 'SELECT count(*) FROM t')).toEqual([[id]]);
        }
        // A new table: a query prepared after the commit must not be prepared against the old schema.
        await b.exec(`CREATE TABLE u(x); INSERT INTO u VALUES ('new')`);
        expect(a.holdsRead).toBe(true);
        expect(await rows(a, 'SELECT x FROM u')).toEqual([['new']]);
        // A changed table: a query prepared before the commit gets the new columns.
        await b.exec(`ALTER TABLE t ADD COLUMN w DEFAULT 'w'`);
        expect(await rows(a, 'SELECT * FROM t WHERE id = 1')).toEqual([[1, 'one', 'w']]);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('a commit by another process is seen by the very next query (lmdb, the hold open throughout)', async () => {
      const name = uniqueName('held-proc');
      const kv = await openLmdbKv(join(lmdb.dir, 'store'));
      const a = await connect(kv, name);
      try {
        await a.exec(`CREATE TABLE counter(id INTEGER PRIMARY KEY, n INTEGER); INSERT INTO counter VALUES (1, 0)`);
        await nextTurn();
        const fixture = join(import.meta.dirname, 'fixtures', 'increment.ts');
        for (let n = 1; n <= 2; n++) {
          expect(await rows(a, 'SELECT n FROM counter')).toEqual([[n - 1]]);
          expect(await rows(a, 'SELECT n FROM counter')).toEqual([[n - 1]]);
          // Synchronous: the event loop stays in this turn, so the hold cannot end on its own meanwhile.
          execFileSync(process.execPath, ['--import', 'tsx', fixture, lmdb.url, name, '1'], { timeout: 120_000 });
          expect(a.holdsRead).toBe(true);
          expect(await rows(a, 'SELECT n FROM counter')).toEqual([[n]]);
        }
      } finally {
        await a.close();
        await kv.close();
      }
    });

    it('statements that are not plain queries end it first: BEGIN ... COMMIT, ATTACH, DETACH, PRAGMAs, writes', async () => {
      const kv = openMemoryKv();
      const a = await connect(kv, 'db');
      const b = await connect(kv, 'db');
      try {
        await a.exec(`CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'one')`);
        await rows(a, 'SELECT * FROM t');
        expect(a.holdsRead).toBe(true);
        await a.execute('BEGIN', undefined, { bigint: false });
        expect(a.holdsRead).toBe(false);
        expect(await a.inTransaction()).toBe(true);
        await a.execute('INSERT INTO t VALUES (2, ?)', ['two'], { bigint: false });
        expect(await rows(a, 'SELECT count(*) FROM t')).toEqual([[2]]); // inside the user's transaction
        expect(a.holdsRead).toBe(false);
        expect(await rows(b, 'SELECT count(*) FROM t')).toEqual([[1]]); // not committed yet
        await a.execute('COMMIT', undefined, { bigint: false });
        expect(await a.inTransaction()).toBe(false);
        expect(await rows(b, 'SELECT count(*) FROM t')).toEqual([[2]]);

        // ATTACH and DETACH fail inside a transaction: after held reads they must still work.
        await rows(a, 'SELECT * FROM t');
        expect(a.holdsRead).toBe(true);
        await a.execute(`ATTACH 'other' AS other`, undefined, { bigint: false });
        await a.exec(`CREATE TABLE other.o(x); INSERT INTO other.o VALUES (1)`);
        expect(await rows(a, 'SELECT count(*) FROM other.o')).toEqual([[1]]);
        expect(a.holdsRead).toBe(true);
        await a.execute('DETACH other', undefined, { bigint: false });

        await rows(a, 'SELECT * FROM t');
        expect(a.holdsRead).toBe(true);
        await a.execute('PRAGMA user_version = 7', undefined, { bigint: false });
        expect(a.holdsRead).toBe(false);
        expect(await rows(b, 'PRAGMA user_version')).toEqual([[7]]);

        // An autocommit write after held reads commits, and the other connection's held reads see it next.
        expect(await rows(b, 'SELECT v FROM t WHERE id = 1')).toEqual([['one']]);
        await rows(a, 'SELECT * FROM t');
        await a.execute(`UPDATE t SET v = 'uno' WHERE id = 1`, undefined, { bigint: false });
        expect(b.holdsRead).toBe(true);
        expect(await rows(b, 'SELECT v FROM t WHERE id = 1')).toEqual([['uno']]);
        expect(a.vfs.stats.conflicts + b.vfs.stats.conflicts).toBe(0);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('an error in a held query ends it and leaves the connection usable', async () => {
      const kv = openMemoryKv();
      const a = await connect(kv, 'db');
      const b = await connect(kv, 'db');
      try {
        await a.exec(`CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER); INSERT INTO t VALUES (1, 10)`);
        await rows(a, 'SELECT * FROM t');
        expect(a.holdsRead).toBe(true);
        await expect(rows(a, 'SELECT abs(?) FROM t', [-9223372036854775808n])).rejects.toThrow(SqliteError);
        expect(a.holdsRead).toBe(false);
        expect(await a.inTransaction()).toBe(false);
        await rows(a, 'SELECT * FROM t');
        await expect(rows(a, 'SELECT v FROM t WHERE id = ?', [])).rejects.toThrow(ArgumentError);
        expect(a.holdsRead).toBe(false);
        await b.execute('INSERT INTO t VALUES (2, 20)', undefined, { bigint: false });
        expect(await rows(a, 'SELECT sum(v) FROM t')).toEqual([[30]]);
        await a.execute('UPDATE t SET v = v + 1', undefined, { bigint: false });
        expect(await rows(b, 'SELECT sum(v) FROM t')).toEqual([[32]]);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('is never held on a store that cannot tell its version without a round trip (as FoundationDB)', async () => {
      const { committedVersionSync: _, ...kv } = { ...openMemoryKv(), createTransactionSync: undefined };
      const a = await connect(kv, 'db');
      const b = await connect(kv, 'db');
      try {
        await a.exec(`CREATE TABLE t(id INTEGER PRIMARY KEY)`);
        await rows(a, 'SELECT count(*) FROM t');
        const before = a.vfs.stats.snapshots;
        for (let id = 1; id <= 3; id++) {
          expect(await rows(a, 'SELECT count(*) FROM t')).toEqual([[id - 1]]);
          expect(a.holdsRead).toBe(false);
          await b.execute('INSERT INTO t VALUES (?)', [id], { bigint: false });
        }
        expect(a.vfs.stats.snapshots - before).toBe(3); // one per statement, as without the hold
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('a time-travel connection holds across statements and keeps reading its version; writes are still refused', async () => {
      const kv = openMemoryKv();
      const w = await connect(kv, 'db');
      try {
        await w.exec(`CREATE TABLE t(id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1), (2)`);
        const version = w.vfs.lastVersion('db')!;
        const p = await connect(kv, 'db', version);
        try {
          await rows(p, 'SELECT id FROM t LIMIT 0'); // reads the schema
          await nextTurn();
          const before = p.vfs.stats.snapshots;
          expect(await rows(p, 'SELECT count(*) FROM t')).toEqual([[2]]);
          await w.execute('INSERT INTO t VALUES (3)', undefined, { bigint: false });
          expect(p.holdsRead).toBe(true);
          expect(await rows(p, 'SELECT count(*) FROM t')).toEqual([[2]]);
          expect(p.vfs.stats.snapshots - before).toBe(1);
          await expect(p.execute('INSERT INTO t VALUES (4)', undefined, { bigint: false })).rejects.toThrow(ReadOnlyError);
          expect(p.holdsRead).toBe(false);
          await nextTurn();
          expect(await rows(p, 'SELECT count(*) FROM t')).toEqual([[2]]);
          expect(await rows(w, 'SELECT count(*) FROM t')).toEqual([[3]]);
        } finally {
          await p.close();
        }
      } finally {
        await w.close();
      }
    });

    it('a transaction after held reads still checks conflicts page by page', async () => {
      const url = `memory:held-${randomUUID()}`;
      const a = await open('db', { store: url });
      const b = await open('db', { store: url });
      try {
        await a.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, pad TEXT)');
        // 1,000-byte rows: row 1 and row 200 are on different pages.
        await a.transaction(async (tx) => {
          for (let id = 1; id <= 200; id++) await tx.run('INSERT INTO t VALUES (?, ?)', [id, 'x'.repeat(1000)]);
        });
        const pad = async (db: Database, id: number): Promise<unknown> => (await db.get('SELECT substr(pad, 1, 4) AS p FROM t WHERE id = ?', [id]))?.p;
        const update = (db: { run: Database['run'] }, id: number, prefix: string): Promise<unknown> =>
          db.run(`UPDATE t SET pad = ? || substr(pad, 1, 996) WHERE id = ?`, [prefix, id]);

        // Another page changed meanwhile: commits at once.
        let attempts = 0;
        expect(await pad(a, 1)).toBe('xxxx');
        expect(await pad(b, 200)).toBe('xxxx');
        await a.transaction(async (tx) => {
          attempts++;
          await tx.get('SELECT pad FROM t WHERE id = 1');
          if (attempts === 1) await update(b, 200, 'b');
          await update(tx, 1, 'a');
        });
        expect(attempts).toBe(1);

        // The page it read changed meanwhile: a conflict, and the retry sees the other write.
        attempts = 0;
        expect(await pad(a, 1)).toBe('axxx');
        await a.transaction(async (tx) => {
          attempts++;
          await tx.get('SELECT pad FROM t WHERE id = 1');
          if (attempts === 1) await update(b, 1, 'B');
          await update(tx, 1, 'A');
        });
        expect(attempts).toBe(2);
        expect([await pad(b, 1), await pad(b, 200)]).toEqual(['ABax', 'bxxx']);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
});

type Op =
  | { kind: 'get' | 'del'; db: 0 | 1; id: number }
  | { kind: 'put'; db: 0 | 1; id: number; v: number }
  | { kind: 'sum' | 'txn' | 'pragma'; db: 0 | 1 }
  | { kind: 'turn' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('get' as const), db: fc.constantFrom(0 as const, 1 as const), id: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('sum' as const), db: fc.constantFrom(0 as const, 1 as const) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('put' as const),
      db: fc.constantFrom(0 as const, 1 as const),
      id: fc.integer({ min: 1, max: 8 }),
      v: fc.integer({ min: -1000, max: 1000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('del' as const), db: fc.constantFrom(0 as const, 1 as const), id: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('txn' as const, 'pragma' as const), db: fc.constantFrom(0 as const, 1 as const) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'turn' as const }) },
);

onEachBuild(() => {
  describe.each([
    ['memory', () => `memory:held-model-${randomUUID()}`, 25],
    ['lmdb', () => lmdb.url, 6],
  ])('held reads against a model (%s): two connections, reads and writes interleaved', (_backend, storeUrl, numRuns) => {
    it('every read returns the model’s state after every write before it', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 10, maxLength: 60 }), async (ops) => {
          const url = storeUrl();
          const name = uniqueName('held-model');
          const dbs = [await open(name, { store: url }), await open(name, { store: url })] as const;
          const model = new Map<number, number>();
          try {
            await dbs[0].exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER)');
            for (const op of ops) {
              if (op.kind === 'turn') {
                await nextTurn();
                continue;
              }
              const db = dbs[op.db];
              switch (op.kind) {
                case 'get':
                  expect(await db.get('SELECT v FROM t WHERE id = ?', [op.id])).toEqual(model.has(op.id) ? { v: model.get(op.id) } : undefined);
                  break;
                case 'sum': {
                  const values = [...model.values()];
                  expect(await db.get('SELECT count(*) AS n, sum(v) AS s FROM t')).toEqual({
                    n: values.length,
                    s: values.length === 0 ? null : values.reduce((x, y) => x + y, 0),
                  });
                  break;
                }
                case 'put':
                  await db.run('INSERT OR REPLACE INTO t VALUES (?, ?)', [op.id, op.v]);
                  model.set(op.id, op.v);
                  break;
                case 'del':
                  await db.run('DELETE FROM t WHERE id = ?', [op.id]);
                  model.delete(op.id);
                  break;
                case 'txn':
                  // Read-modify-write of every row: reads and a write in one user transaction.
                  await db.transaction(async (tx) => {
                    for (const row of (await tx.query('SELECT id, v FROM t')) as { id: number; v: number }[]) {
                      await tx.run('UPDATE t SET v = ? WHERE id = ?', [row.v + 1, row.id]);
                    }
                  });
                  for (const [id, v] of model) model.set(id, v + 1);
                  break;
                case 'pragma':
                  expect(await db.get('PRAGMA user_version')).toEqual({ user_version: 0 });
                  break;
              }
            }
          } finally {
            await dbs[0].close();
            await dbs[1].close();
          }
        }),
        { numRuns },
      );
    }, 120_000);
  });
});

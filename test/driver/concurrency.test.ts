/**
 * Optimistic writers: connections (each its own SQLite module) writing one
 * database in this process, and processes writing one LMDB store.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ConflictError, open, type Database } from '../../src/index.ts';
import { tempStoreDir, uniqueName, onEachBuild } from './helpers.ts';

const run = promisify(execFile);
const lmdb = tempStoreDir();
afterAll(() => lmdb.remove());
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function withConnections<T>(store: string, count: number, body: (dbs: Database[], name: string) => Promise<T>): Promise<T> {
  const name = uniqueName('cc');
  const dbs: Database[] = [];
  try {
    for (let i = 0; i < count; i++) dbs.push(await open(name, { store }));
    return await body(dbs, name);
  } finally {
    for (const db of dbs) await db.close();
  }
}

onEachBuild(() => {
  describe.each([
    ['memory', 'memory:'],
    ['lmdb', lmdb.url],
  ])('concurrent writers on %s', (_backend, store) => {
    it('two connections updating rows in different pages both commit, each on its first attempt', async () => {
      await withConnections(store, 2, async ([a, b]) => {
        // Rows of 1000 bytes: ids 1 and 60 are several leaf pages apart.
        await a!.exec(`CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, pad TEXT)`);
        await a!.transaction(async (tx) => {
          for (let id = 1; id <= 60; id++) await tx.run(`INSERT INTO t VALUES (?, 'init', printf('%01000d', 0))`, [id]);
        });
        const attempts = [0, 0];
        const update = (db: Database, slot: number, id: number) =>
          db.transaction(async (tx) => {
            attempts[slot]!++;
            await tx.get(`SELECT v FROM t WHERE id = ?`, [id]);
            await pause(30); // both transactions are open at once
            await tx.run(`UPDATE t SET v = ? WHERE id = ?`, [`by ${slot}`, id]);
          });
        await Promise.all([update(a!, 0, 1), update(b!, 1, 60)]);
        expect(attempts).toEqual([1, 1]);
        expect(await b!.query(`SELECT id, v FROM t WHERE v LIKE 'by%' ORDER BY id`)).toEqual([
          { id: 1, v: 'by 0' },
          { id: 60, v: 'by 1' },
        ]);
      });
    });

    it('conflicting read-modify-write transactions retry and end in the serial result', async () => {
      await withConnections(store, 3, async (dbs) => {
        await dbs[0]!.exec(`CREATE TABLE counter(id INTEGER PRIMARY KEY, n INTEGER); INSERT INTO counter VALUES (1, 0)`);
        let attempts = 0;
        const perConnection = 5;
        await Promise.all(
          dbs.map(async (db) => {
            for (let i = 0; i < perConnection; i++) {
              await db.transaction(
                async (tx) => {
                  attempts++;
                  const { n } = (await tx.get(`SELECT n FROM counter`)) as { n: number };
                  await pause(3);
                  await tx.run(`UPDATE counter SET n = ?`, [n + 1]);
                },
                { retries: 100 },
              );
            }
          }),
        );
        expect(await dbs[1]!.get(`SELECT n FROM counter`)).toEqual({ n: dbs.length * perConnection });
        expect(attempts).toBeGreaterThan(dbs.length * perConnection); // they did conflict, and retried
      });
    });

    it('autocommit statements that conflict are retried as a whole', async () => {
      await withConnections(store, 2, async (dbs) => {
        await dbs[0]!.exec(`CREATE TABLE counter(id INTEGER PRIMARY KEY, n INTEGER); INSERT INTO counter VALUES (1, 0)`);
        await Promise.all(dbs.map(async (db) => {
          for (let i = 0; i < 10; i++) await db.run(`UPDATE counter SET n = n + 1`);
        }));
        expect(await dbs[0]!.get(`SELECT n FROM counter`)).toEqual({ n: 20 });
      });
    });

    it('past the retry limit the last ConflictError is thrown, with the pages and the winning version', async () => {
      await withConnections(store, 2, async ([a, b]) => {
        await a!.exec(`CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'start')`);
        const error = await a!
          .transaction(
            async (tx) => {
              await tx.get(`SELECT v FROM t`);
              await b!.run(`UPDATE t SET v = 'winner'`); // commits while a's transaction is open
              await tx.run(`UPDATE t SET v = 'loser'`);
            },
            { retries: 0 },
          )
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(error).toBeInstanceOf(ConflictError);
        const conflict = error as ConflictError;
        expect(conflict.code).toBe('CONFLICT');
        expect(conflict.pages).toContain(2); // t's only page
        expect(conflict.winningVersion).toBe(b!.version);
        expect(await a!.query(`SELECT v FROM t`)).toEqual([{ v: 'winner' }]);
        expect(await a!.get(`SELECT 1 AS usable`)).toEqual({ usable: 1 }); // no transaction left open
      });
    });
  });

  describe('writers in several processes (lmdb)', () => {
    it('two processes incrementing one counter end in the serial result', async () => {
      const name = uniqueName('procs');
      const db = await open(name, { store: lmdb.url });
      try {
        await db.exec(`CREATE TABLE counter(id INTEGER PRIMARY KEY, n INTEGER); INSERT INTO counter VALUES (1, 0)`);
        const fixture = join(import.meta.dirname, 'fixtures', 'increment.ts');
        const each = 8;
        const outputs = await Promise.all(
          [0, 1].map(() => run(process.execPath, ['--import', 'tsx', fixture, lmdb.url, name, String(each)], { timeout: 120_000 })),
        );
        const attempts = outputs.map(({ stdout }) => (JSON.parse(stdout) as { attempts: number }).attempts);
        expect(attempts.every((n) => n >= each)).toBe(true);
        expect(await db.get(`SELECT n FROM counter`)).toEqual({ n: 2 * each });
      } finally {
        await db.close();
      }
    });
  });
});

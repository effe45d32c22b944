/** Everything mvdb refuses fails with a clear error and leaves the data as it was. */
import { afterAll, describe, expect, it } from 'vitest';
import { UnsupportedError, open, type Database } from '../../src/index.ts';
import { tempStoreDir, uniqueName, onEachBuild } from './helpers.ts';

const lmdb = tempStoreDir();
afterAll(() => lmdb.remove());

onEachBuild(() => {
  describe.each([
    ['memory', 'memory:'],
    ['lmdb', lmdb.url],
  ])('refusals on %s', (_backend, store) => {
    async function seeded(body: (db: Database) => Promise<void>): Promise<void> {
      const db = await open(uniqueName('refuse'), { store });
      try {
        await db.exec(`CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'kept')`);
        const commits = (await db.log()).length;
        await body(db);
        expect(await db.query(`SELECT * FROM t`)).toEqual([{ id: 1, v: 'kept' }]);
        expect(await db.query(`PRAGMA integrity_check`)).toEqual([{ integrity_check: 'ok' }]);
        expect((await db.log()).length).toBe(commits);
      } finally {
        await db.close();
      }
    }

    it.each([
      ['PRAGMA journal_mode = WAL', 'journal_mode=WAL', /journal_mode=WAL is not supported/],
      ['PRAGMA page_size = 16384', 'page_size', /page_size cannot change to 16384/],
      ['PRAGMA locking_mode = EXCLUSIVE', 'locking_mode=EXCLUSIVE', /locking_mode=EXCLUSIVE is not supported/],
    ])('%s', async (sql, feature, message) => {
      await seeded(async (db) => {
        const error = await db.exec(sql).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(UnsupportedError);
        expect(error).toMatchObject({ code: 'UNSUPPORTED', feature });
        expect((error as Error).message).toMatch(message);
        expect(await db.query(`PRAGMA journal_mode`)).toEqual([{ journal_mode: 'delete' }]);
      });
    });

    it('a transaction writing the database and an attached one is refused and rolled back', async () => {
      await seeded(async (db) => {
        const other = uniqueName('attached');
        await db.exec(`ATTACH '${other}' AS o; CREATE TABLE o.u(x)`);
        const error = await db
          .transaction(async (tx) => {
            await tx.run(`INSERT INTO t VALUES (2, 'main')`);
            await tx.run(`INSERT INTO o.u VALUES (1)`);
          })
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(error).toBeInstanceOf(UnsupportedError);
        expect((error as Error).message).toMatch(/one transaction cannot write to more than one database/);
        expect(await db.query(`SELECT count(*) AS n FROM o.u`)).toEqual([{ n: 0 }]);
        await db.exec(`DETACH o`);
      });
    });
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_OPEN_CONNECTIONS, open, setMaxOpenConnections, type Database } from '../../src/index.ts';
import { pool } from '../../src/driver/pool.ts';
import { uniqueName } from './helpers.ts';

afterEach(() => setMaxOpenConnections(DEFAULT_MAX_OPEN_CONNECTIONS));

describe('many databases in one process', () => {
  it('past the open-connection cap, idle connections close and reopen transparently', async () => {
    setMaxOpenConnections(2);
    const dbs: Database[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        const db = await open(uniqueName('many'), { store: 'memory:' });
        dbs.push(db);
        await db.exec(`CREATE TABLE t(x)`);
      }
      for (let round = 1; round <= 3; round++) {
        for (const [i, db] of dbs.entries()) await db.run(`INSERT INTO t VALUES (?)`, [i * 100 + round]);
        expect(pool.size).toBeLessThanOrEqual(2);
      }
      // A transaction keeps its connection even while others open and close.
      await dbs[0]!.transaction(async (tx) => {
        await tx.run(`INSERT INTO t VALUES (-1)`);
        for (const db of dbs.slice(1)) await db.get(`SELECT count(*) FROM t`);
        await tx.run(`INSERT INTO t VALUES (-2)`);
      });
      for (const [i, db] of dbs.entries()) {
        const expected = [1, 2, 3].map((r) => ({ x: i * 100 + r }));
        if (i === 0) expected.unshift({ x: -2 }, { x: -1 });
        expect(await db.query(`SELECT x FROM t ORDER BY x`)).toEqual(expected);
      }
    } finally {
      for (const db of dbs) await db.close();
    }
  });

  it.each(['sync', 'asyncify'] as const)('a connection with statements still running is not closed for another database (%s build)', async (sqliteBuild) => {
    setMaxOpenConnections(1);
    const x = await open(uniqueName('busy'), { store: 'memory:', sqliteBuild });
    const y = await open(uniqueName('other'), { store: 'memory:', sqliteBuild });
    try {
      await x.exec(`CREATE TABLE t(n)`);
      await y.exec(`CREATE TABLE t(n)`);
      await x.get(`SELECT 0`);
      // x's first statement waits (new SQL is prepared); y's then takes the one open slot while x still has work.
      const results = await Promise.all([
        x.get(`SELECT 1 AS a`),
        x.run(`INSERT INTO t VALUES (1)`),
        y.get(`SELECT 2 AS b`),
        x.get(`SELECT count(*) AS c FROM t`),
      ]);
      expect(results).toEqual([{ a: 1 }, { changes: 1, lastInsertRowid: 1 }, { b: 2 }, { c: 1 }]);
    } finally {
      await x.close();
      await y.close();
    }
  });

  it('refuses a cap that is not a positive whole number', () => {
    expect(() => setMaxOpenConnections(0)).toThrow(/positive integer/);
  });
});

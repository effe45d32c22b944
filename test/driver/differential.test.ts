/**
 * Differential: one random workload through mvdb and through better-sqlite3
 * (an ordinary SQLite file in memory). Every statement must have the same
 * outcome (rows, or the same error code), and the database must pass
 * integrity_check and read back the same from a fresh connection.
 */
import Sqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { open, type Database } from '../../src/index.ts';
import { canonical, tempStoreDir, uniqueName, onEachBuild } from './helpers.ts';
import { QUERIES, SCHEMA, workload, type Step } from './workload.ts';

type Outcome = { rows: unknown } | { error: string };

function reference(db: Sqlite3.Database, step: Step): Outcome {
  try {
    const stmt = db.prepare(step.sql);
    if (!stmt.reader) {
      stmt.run(...step.params);
      return { rows: [] };
    }
    return { rows: canonical(stmt.raw(true).safeIntegers(true).all(...step.params)) };
  } catch (error) {
    return { error: (error as { code: string }).code };
  }
}

async function ours(db: Database, step: Step): Promise<Outcome> {
  try {
    const result = await db.execute(step.sql, step.params, { bigint: true });
    return { rows: canonical(result.rows) };
  } catch (error) {
    return { error: (error as { code: string }).code };
  }
}

const lmdb = tempStoreDir();
afterAll(() => lmdb.remove());

onEachBuild(() => {
  describe.each([
    ['memory', 'memory:', [1, 2, 3], 250],
    ['lmdb', lmdb.url, [4], 70],
  ])('differential vs better-sqlite3 on %s', (_backend, store, seeds, steps) => {
    it.each(seeds)('seed %i: every statement has the same outcome; integrity ok; a fresh connection reads the same', async (seed) => {
      const name = uniqueName('diff');
      const db = await open(name, { store });
      const ref = new Sqlite3(':memory:');
      try {
        for (const sql of SCHEMA) {
          await db.exec(sql);
          ref.exec(sql);
        }
        const plan = workload(seed, steps);
        for (const [i, step] of plan.entries()) {
          const expected = reference(ref, step);
          const actual = await ours(db, step);
          if ('error' in expected || step.check) {
            expect(actual, `seed ${seed} step ${i}: ${step.sql}`).toEqual(expected);
          } else {
            expect(actual, `seed ${seed} step ${i}: ${step.sql}`).not.toHaveProperty('error');
          }
        }
        expect(await db.query(`PRAGMA integrity_check`)).toEqual([{ integrity_check: 'ok' }]);
        const again = await open(name, { store, create: false });
        try {
          for (const sql of QUERIES) {
            const step = { sql, params: [], check: true };
            expect(await ours(again, step), sql).toEqual(reference(ref, step));
          }
        } finally {
          await again.close();
        }
      } finally {
        ref.close();
        await db.close();
      }
    });
  });
});

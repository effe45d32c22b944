/**
 * Time travel: after every commit of a workload, record the version and what the
 * queries returned; then a snapshot at each version must return exactly that,
 * in this process and (on lmdb) in a fresh one.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ArgumentError, FutureVersionError, NoVersionAtTimeError, ReadOnlyError, open } from '../../src/index.ts';
import { canonical, tempStoreDir, uniqueName, onEachBuild } from './helpers.ts';
import { QUERIES, SCHEMA, workload } from './workload.ts';

const run = promisify(execFile);
const lmdb = tempStoreDir();
afterAll(() => lmdb.remove());

async function results(db: { execute(sql: string): Promise<{ rows: unknown[] }> }): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const sql of QUERIES) out.push(canonical((await db.execute(sql)).rows));
  return out;
}

onEachBuild(() => {
  describe.each([
    ['memory', 'memory:', false],
    ['lmdb', lmdb.url, true],
  ])('time travel on %s', (_backend, store, freshProcess) => {
    it('a snapshot at each commit returns what the queries returned right after that commit', async () => {
      const name = uniqueName('tt');
      const db = await open(name, { store, bigint: true });
      try {
        for (const sql of SCHEMA) await db.exec(sql);
        const history: { version: string; results: unknown[] }[] = [];
        // Autocommit writes only: each successful one is a commit.
        const writes = workload(7, 120).filter((s) => !s.check && !/^(BEGIN|COMMIT|ROLLBACK)/.test(s.sql));
        for (const step of writes.slice(0, 30)) {
          const before = db.version;
          try {
            await db.run(step.sql, step.params);
          } catch {
            continue; // a constraint error commits nothing
          }
          if (db.version === before) continue; // changed no page: no new version
          history.push({ version: db.version, results: await results(db) });
        }
        expect(history.length).toBeGreaterThan(15);
        expect(new Set(history.map((h) => h.version)).size).toBe(history.length);

        for (const { version, results: expected } of history) {
          const snapshot = await db.at(version);
          try {
            expect(snapshot.snapshot).toBe(version);
            expect(await results(snapshot), `at ${version}`).toEqual(expected);
          } finally {
            await snapshot.close();
          }
        }

        if (freshProcess) {
          const file = join(lmdb.dir, `${name}-versions.json`);
          writeFileSync(file, JSON.stringify(history.map((h) => h.version)));
          const fixture = join(import.meta.dirname, 'fixtures', 'read-at.ts');
          const { stdout } = await run(process.execPath, ['--import', 'tsx', fixture, store, name, file], { timeout: 120_000 });
          expect(JSON.parse(stdout)).toEqual(JSON.parse(JSON.stringify(history.map((h) => h.results))));
        }
      } finally {
        await db.close();
      }
    });
  });

  describe('versions and times', () => {
    it('version follows commits; log lists them newest first; at(time) and relative times find them', async () => {
      const db = await open(uniqueName('times'), { store: 'memory:' });
      try {
        const created = db.version;
        await db.exec(`CREATE TABLE t(x)`);
        const commits: { version: string; after: Date }[] = [];
        for (let i = 1; i <= 3; i++) {
          await new Promise((r) => setTimeout(r, 15));
          await db.run(`INSERT INTO t VALUES (?)`, [i]);
          commits.push({ version: db.version, after: new Date() });
          await new Promise((r) => setTimeout(r, 15));
        }
        expect(db.version > created).toBe(true);
        expect(await db.head()).toBe(db.version);
        const log = await db.log();
        expect(log.map((c) => c.version)).toEqual([...commits.map((c) => c.version).reverse(), log[3]!.version]);
        expect(log.every((c) => c.time instanceof Date && c.pages >= 1)).toBe(true);

        for (const [i, commit] of commits.entries()) {
          expect(await db.versionAt(commit.after)).toBe(commit.version);
          const snapshot = await db.at(commit.after);
          expect(await snapshot.query(`SELECT count(*) AS n FROM t`)).toEqual([{ n: i + 1 }]);
          await snapshot.close();
        }
        const justNow = await db.at('0.005 seconds ago');
        expect(justNow.snapshot).toBe(commits[2]!.version);
        await justNow.close();
        expect(await db.versionAt('now')).toBe(commits[2]!.version);
        expect(await db.versionAt(commits[0]!.version)).toBe(commits[0]!.version);
      } finally {
        await db.close();
      }
    });

    it('bad points in time and versions outside the history are refused clearly', async () => {
      const db = await open(uniqueName('bad'), { store: 'memory:' });
      try {
        await db.exec(`CREATE TABLE t(x)`);
        await expect(db.at('yesterday-ish')).rejects.toThrow(/cannot read a point in time from "yesterday-ish"; accepted: a version/);
        await expect(db.at('3 fortnights ago')).rejects.toThrow(/unknown time unit "fortnights"/);
        await expect(db.at('3 fortnights ago')).rejects.toBeInstanceOf(ArgumentError);
        await expect(db.at('1 day ago')).rejects.toBeInstanceOf(NoVersionAtTimeError);
        await expect(db.at('00000000000000010000')).rejects.toThrow(/did not exist at version 00000000000000010000/);
        await expect(db.at('ffffffffffffffff0000')).rejects.toBeInstanceOf(FutureVersionError);
        expect(await db.query(`SELECT count(*) AS n FROM t`)).toEqual([{ n: 0 }]);
      } finally {
        await db.close();
      }
    });

    it('a snapshot refuses every kind of write with ReadOnlyError, and nothing changes', async () => {
      const db = await open(uniqueName('ro'), { store: 'memory:' });
      try {
        await db.exec(`CREATE TABLE t(x); INSERT INTO t VALUES (1)`);
        const snapshot = await db.at(db.version);
        const commits = (await db.log()).length;
        for (const write of [
          () => snapshot.run(`INSERT INTO t VALUES (2)`),
          () => snapshot.exec(`DELETE FROM t`),
          () => snapshot.exec(`CREATE TABLE u(y)`),
          () => snapshot.transaction(async (tx) => void (await tx.run(`UPDATE t SET x = 9`))),
        ]) {
          const error = await write().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error).toBeInstanceOf(ReadOnlyError);
          expect((error as Error).message).toMatch(/is open read-only at version [0-9a-f]{20}/);
        }
        expect(await snapshot.query(`SELECT x FROM t`)).toEqual([{ x: 1 }]);
        expect(await db.query(`SELECT x FROM t`)).toEqual([{ x: 1 }]);
        expect((await db.log()).length).toBe(commits);
        await snapshot.close();
      } finally {
        await db.close();
      }
    });
  });
});

/**
 * Restore through the driver: a new commit whose content equals the version restored to (schema and rows,
 * page count, integrity), with nothing destroyed, so restoring to the previous head undoes it. Also to
 * the empty database, inside a fork, and the refusals.
 */

import { describe, expect, it } from 'vitest';
import { ArgumentError, open, TagNotFoundError, VersionTooOldError, type Database } from '../../src/index.ts';
import { uniqueName } from '../driver/helpers.ts';

/** Everything a user can see: every table's rows and the schema, plus the file's page count. */
async function snapshotOf(db: Database): Promise<unknown> {
  const schema = await db.query("SELECT type, name, sql FROM sqlite_schema ORDER BY name");
  const tables: Record<string, unknown> = {};
  for (const { name } of schema.filter((s) => s.type === 'table')) {
    tables[String(name)] = await db.query(`SELECT * FROM "${String(name)}" ORDER BY rowid`);
  }
  const [{ page_count }] = (await db.query('PRAGMA page_count')) as [{ page_count: number }];
  return { schema, tables, pageCount: page_count };
}

async function contentAt(db: Database, version: string): Promise<unknown> {
  const snapshot = await db.at(version);
  try {
    return await snapshotOf(snapshot);
  } finally {
    await snapshot.close();
  }
}

describe('restore', () => {
  it('restores an older version as a new commit, and restoring to the previous head undoes it', async () => {
    const db = await open(uniqueName('restore'), { store: 'memory:restore-tests' });
    try {
      await db.exec("CREATE TABLE note(id INTEGER PRIMARY KEY, body TEXT); INSERT INTO note VALUES (1, 'a'), (2, 'b')");
      const target = await db.head();
      const wanted = await snapshotOf(db);
      // Many changes, a new table, a dropped index, the file growing.
      await db.exec(
        "CREATE INDEX note_body ON note(body); UPDATE note SET body = 'B' WHERE id = 2; DELETE FROM note WHERE id = 1;" +
          "CREATE TABLE big(x); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) INSERT INTO big SELECT randomblob(300) FROM n;" +
          'DROP INDEX note_body',
      );
      const previous = await db.head();
      const before = await snapshotOf(db);

      const result = await db.restoreTo(target);
      expect(result.previous).toBe(previous);
      expect(result.version > previous).toBe(true);
      expect(result.pages).toBeGreaterThan(0);
      expect(await db.head()).toBe(result.version);
      expect(await snapshotOf(db)).toEqual(wanted);
      expect(await db.get('PRAGMA integrity_check')).toEqual({ integrity_check: 'ok' });
      // Nothing destroyed: the previous head reads as it did, and the log has every commit.
      expect(await contentAt(db, previous)).toEqual(before);
      expect((await db.log()).map((c) => c.version).slice(0, 2)).toEqual([result.version, previous]);

      // Undo.
      const undo = await db.restoreTo(result.previous);
      expect(undo.previous).toBe(result.version);
      expect(await snapshotOf(db)).toEqual(before);
      expect(await db.get('PRAGMA integrity_check')).toEqual({ integrity_check: 'ok' });

      // Writes after a restore work as after any commit.
      await db.run("INSERT INTO note VALUES (3, 'c')");
      expect(await db.get('SELECT count(*) AS n FROM note')).toEqual({ n: 2 });
    } finally {
      await db.close();
    }
  });

  it('restoring to the head changes nothing; a tag or time names the version; the empty database restores too', async () => {
    const db = await open(uniqueName('restore2'), { store: 'memory:restore-tests' });
    try {
      const created = await db.head();
      await db.exec('CREATE TABLE t(x); INSERT INTO t VALUES (1)');
      await db.tag('first');
      const head = await db.head();
      expect(await db.restoreTo(head)).toEqual({ version: head, previous: head, pages: 0 });
      expect(await db.head()).toBe(head);

      await db.exec('INSERT INTO t VALUES (2)');
      await db.restoreTo('tag:first');
      expect(await db.query('SELECT x FROM t')).toEqual([{ x: 1 }]);
      await expect(db.restoreTo('tag:missing')).rejects.toThrow(TagNotFoundError);

      // Before the first commit the database was empty: restoring there leaves an empty database.
      await db.restoreTo(created);
      expect(await db.query("SELECT name FROM sqlite_schema")).toEqual([]);
      expect(await db.get('PRAGMA integrity_check')).toEqual({ integrity_check: 'ok' });
      await db.exec('CREATE TABLE again(y); INSERT INTO again VALUES (42)');
      expect(await db.query('SELECT y FROM again')).toEqual([{ y: 42 }]);
    } finally {
      await db.close();
    }
  });

  it('restores inside a fork (pages read through from the source), leaving the source alone', async () => {
    const src = await open(uniqueName('restore-src'), { store: 'memory:restore-tests' });
    try {
      await src.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v); INSERT INTO t VALUES (1, 'src')");
      const fork = await src.fork(uniqueName('restore-fork'));
      try {
        const forkStart = await fork.head();
        await fork.exec("UPDATE t SET v = 'fork'; INSERT INTO t VALUES (2, 'fork')");
        await fork.restoreTo(forkStart);
        expect(await fork.query('SELECT * FROM t')).toEqual([{ id: 1, v: 'src' }]);
        await src.exec("UPDATE t SET v = 'src2'");
        expect(await fork.query('SELECT * FROM t')).toEqual([{ id: 1, v: 'src' }]);
      } finally {
        await fork.close();
      }
    } finally {
      await src.close();
    }
  });

  it('refuses a version below the watermark or before the database existed, and a read-only snapshot', async () => {
    const db = await open(uniqueName('restore3'), { store: 'memory:restore-tests', retention: 0 });
    try {
      await db.exec('CREATE TABLE t(x)');
      const old = await db.head();
      await db.exec('INSERT INTO t VALUES (1)');
      await db.gc();
      const head = await db.head();
      await expect(db.restoreTo(old)).rejects.toThrow(VersionTooOldError);
      await expect(db.restoreTo('00000000000000000001')).rejects.toThrow(ArgumentError);
      const snapshot = await db.at(head);
      await expect(snapshot.restoreTo(head)).rejects.toThrow(/read-only snapshot/);
      await snapshot.close();
      expect(await db.head()).toBe(head);
    } finally {
      await db.close();
    }
  });
});

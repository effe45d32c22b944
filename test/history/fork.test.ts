/**
 * Forks through the driver: a fork starts as the source's version, in O(1) (no page is copied); both sides
 * change independently (isolation both ways, fork of a fork too); GC on the source while the fork lives
 * never passes the fork's base and leaves the fork's reads intact; deleting a source with forks is refused
 * with their names; deleting the fork releases its pin.
 */

import { afterAll, describe, expect, it } from 'vitest';
import {
  DatabaseExistsError,
  DatabaseHasForksError,
  deleteDatabase,
  open,
  TagNotFoundError,
  VersionTooOldError,
  type Database,
} from '../../src/index.ts';
import { openKv } from '../../src/kv/index.ts';
import { openDatabase } from '../../src/engine/index.ts';
import { tempStoreDir, uniqueName } from '../driver/helpers.ts';
import { countKeys } from './helpers.ts';

const lmdb = tempStoreDir();
afterAll(() => lmdb.remove());

const rows = (db: Database, sql = 'SELECT id, body FROM note ORDER BY id') => db.query(sql);

describe.each([
  ['memory', 'memory:fork-tests'],
  ['lmdb', lmdb.url],
])('forks on %s', (_backend, store) => {
  it('a fork reads the source as of the fork version; writes on either side stay on that side', async () => {
    const name = uniqueName('src');
    const src = await open(name, { store });
    try {
      await src.exec("CREATE TABLE note(id INTEGER PRIMARY KEY, body TEXT); INSERT INTO note VALUES (1, 'one'), (2, 'two')");
      const base = await src.head();
      await src.exec("INSERT INTO note VALUES (3, 'three')");
      const fork = await src.fork(uniqueName('fork'), { at: base });
      try {
        expect((await fork.history()).forkOf).toEqual({ name, version: base });
        expect(await rows(fork)).toEqual([
          { id: 1, body: 'one' },
          { id: 2, body: 'two' },
        ]);
        await fork.exec("UPDATE note SET body = 'TWO' WHERE id = 2; INSERT INTO note VALUES (10, 'fork only')");
        await src.exec("DELETE FROM note WHERE id = 1; CREATE TABLE other(x)");
        expect(await rows(src)).toEqual([
          { id: 2, body: 'two' },
          { id: 3, body: 'three' },
        ]);
        expect(await rows(fork)).toEqual([
          { id: 1, body: 'one' },
          { id: 2, body: 'TWO' },
          { id: 10, body: 'fork only' },
        ]);
        expect(await fork.query("SELECT name FROM sqlite_schema WHERE name = 'other'")).toEqual([]);
        expect((await fork.query('PRAGMA integrity_check'))[0]).toEqual({ integrity_check: 'ok' });

        // A fork of the fork reads through both.
        const grandchild = await fork.fork(uniqueName('fork2'));
        try {
          await fork.exec('DELETE FROM note');
          expect(await rows(grandchild)).toEqual([
            { id: 1, body: 'one' },
            { id: 2, body: 'TWO' },
            { id: 10, body: 'fork only' },
          ]);
          await grandchild.exec("INSERT INTO note VALUES (20, 'grandchild')");
          expect(await rows(fork)).toEqual([]);
          expect((await rows(src)).length).toBe(2);
        } finally {
          await grandchild.close();
          await deleteDatabase(grandchild.name, { store });
        }
      } finally {
        await fork.close();
      }
    } finally {
      await src.close();
    }
  });

  it('GC on the source keeps the fork base readable and the fork intact; deleting the fork releases it', async () => {
    const name = uniqueName('gcsrc');
    const src = await open(name, { store, retention: 0 });
    try {
      await src.exec('CREATE TABLE note(id INTEGER PRIMARY KEY, body TEXT)');
      for (let i = 1; i <= 5; i++) await src.run('INSERT INTO note VALUES (?, ?)', [i, `v${i}`]);
      const base = await src.head();
      const fork = await src.fork(uniqueName('gcfork'));
      const forkRows = await rows(fork);
      for (let i = 1; i <= 5; i++) await src.run('UPDATE note SET body = ? WHERE id = ?', [`w${i}`, i]);
      const head = await src.head();

      const report = await src.gc({ contentGraceMs: 0 });
      expect(report.watermark.to).toBe(base);
      expect(report.heldBy).toEqual({ kind: 'fork', name: fork.name, version: base });
      expect(report.pageVersions).toBeGreaterThan(0);
      expect(await rows(fork)).toEqual(forkRows);
      const atBase = await src.at(base);
      expect(await rows(atBase)).toEqual(forkRows);
      await atBase.close();

      const err = await deleteDatabase(name, { store }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DatabaseHasForksError);
      expect((err as DatabaseHasForksError).forks).toEqual([fork.name]);
      expect((err as Error).message).toContain(JSON.stringify(fork.name));
      expect(await rows(src)).toHaveLength(5); // nothing deleted

      await fork.close();
      await deleteDatabase(fork.name, { store });
      expect(await src.forks()).toEqual([]);
      const after = await src.gc({ contentGraceMs: 0 });
      expect(after.watermark).toEqual({ from: base, to: head });
      await expect(src.at(base)).rejects.toThrow(VersionTooOldError);
      await deleteDatabase(name, { store });
    } finally {
      await src.close();
    }
  });

  it('refuses a fork below the watermark, of an unknown tag, or onto a taken name, and changes nothing', async () => {
    const name = uniqueName('refuse');
    const src = await open(name, { store, retention: 0 });
    try {
      await src.exec('CREATE TABLE t(x)');
      const old = await src.head();
      await src.exec('INSERT INTO t VALUES (1)');
      await src.gc();
      await expect(src.fork(uniqueName('f'), { at: old })).rejects.toThrow(VersionTooOldError);
      await expect(src.fork(uniqueName('f'), { at: 'tag:nope' })).rejects.toThrow(TagNotFoundError);
      await expect(src.fork(name)).rejects.toThrow(DatabaseExistsError);
      expect(await src.forks()).toEqual([]);
      // A fork at a tag, and at a time.
      await src.tag('one');
      const byTag = await src.fork(uniqueName('bytag'), { at: 'tag:one' });
      expect(await byTag.get('SELECT count(*) AS n FROM t')).toEqual({ n: 1 });
      const byTime = await src.fork(uniqueName('bytime'), { at: new Date() });
      expect((await byTime.history()).forkOf!.version).toBe(await src.head());
      expect((await src.forks()).map((f) => f.name).sort()).toEqual([byTag.name, byTime.name].sort());
      await byTag.close();
      await byTime.close();
    } finally {
      await src.close();
    }
  });
});

it('forks in O(1): a few keys, whatever the size of the source', async () => {
  const kv = await openKv('memory:');
  const name = uniqueName('big');
  const src = await open(name, { store: kv });
  try {
    await src.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) INSERT INTO t SELECT i, printf('%0200d', i) FROM n");
    const srcRef = await openDatabase(kv, name);
    const pages = (await countKeys(kv, srcRef.prefix, 'p')).keys;
    expect(pages).toBeGreaterThan(100);
    const fork = await src.fork(uniqueName('big-fork'));
    try {
      const ref = await openDatabase(kv, fork.name);
      // Nothing but its metadata and watermark: no page index, no content.
      expect((await countKeys(kv, ref.prefix, 'p')).keys).toBe(0);
      expect((await countKeys(kv, ref.prefix, 'c')).keys).toBe(0);
      expect(await fork.get('SELECT count(*) AS n, sum(length(v)) AS bytes FROM t')).toEqual({ n: 3000, bytes: 600_000 });
      await fork.run("UPDATE t SET v = 'changed' WHERE id = 1500");
      // The fork stores only what it wrote.
      expect((await countKeys(kv, ref.prefix, 'p')).keys).toBeLessThan(5);
    } finally {
      await fork.close();
    }
  } finally {
    await src.close();
    await kv.close();
  }
});

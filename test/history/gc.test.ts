/**
 * Retention and GC through the driver: the retention window (default 7 days, at creation or later) bounds
 * what GC drops; a dry run changes nothing and reports what the real run then frees; reads below the
 * watermark fail naming the oldest readable version; tags pin their versions whatever the retention;
 * automatic GC runs on its own; bad input is refused with what is accepted.
 */

import { describe, expect, it } from 'vitest';
import {
  ArgumentError,
  DEFAULT_RETENTION_MS,
  open,
  TagExistsError,
  TagNotFoundError,
  VersionTooOldError,
  type GcReport,
} from '../../src/index.ts';
import { openKv } from '../../src/kv/index.ts';
import { dumpStore } from '../engine/helpers.ts';
import { uniqueName } from '../driver/helpers.ts';

const STORE = 'memory:gc-tests';

describe('retention and GC', () => {
  it('keeps history for the retention window (7 days by default); set at creation or later', async () => {
    const db = await open(uniqueName('retention'), { store: STORE });
    try {
      expect((await db.history()).retentionMs).toBe(DEFAULT_RETENTION_MS);
      expect(DEFAULT_RETENTION_MS).toBe(7 * 24 * 3600 * 1000);
      await db.exec('CREATE TABLE t(x); INSERT INTO t VALUES (1)');
      const first = await db.head();
      await db.exec('UPDATE t SET x = 2');
      // Everything is younger than 7 days: nothing to drop.
      expect(await db.gc({ contentGraceMs: 0 })).toMatchObject({ watermark: { from: '0'.repeat(20), to: '0'.repeat(20) }, pageVersions: 0 });
      // As of 8 days from now, the newest commit 7 days back is the head: everything before it goes.
      const later = new Date(Date.now() + 8 * 24 * 3600 * 1000);
      const report = await db.gc({ now: later, contentGraceMs: 0 });
      expect(report.watermark.to).toBe(await db.head());
      await expect(db.at(first)).rejects.toThrow(VersionTooOldError);

      await db.setRetention('30 days');
      expect((await db.history()).retentionMs).toBe(30 * 24 * 3600 * 1000);
      await db.setRetention(0);
      expect((await db.history()).retentionMs).toBe(0);
    } finally {
      await db.close();
    }
    const created = await open(uniqueName('retention2'), { store: STORE, retention: '12h' });
    expect((await created.history()).retentionMs).toBe(12 * 3600 * 1000);
    await created.close();
  });

  it('a dry run deletes nothing and reports exactly what the real run frees', async () => {
    const kv = await openKv('memory:');
    const db = await open(uniqueName('dry'), { store: kv, retention: 0 });
    try {
      await db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v)');
      for (let i = 0; i < 10; i++) await db.run('INSERT OR REPLACE INTO t VALUES (?, randomblob(2000))', [i % 4]);
      const before = await dumpStore(kv);
      const progress: number[] = [];
      const dry = await db.gc({ dryRun: true, contentGraceMs: 0, onProgress: (p) => progress.push(p.fraction) });
      expect(await dumpStore(kv)).toEqual(before);
      expect(dry.dryRun).toBe(true);
      expect(dry.versions).toBe(10);
      expect(dry.pageVersions).toBeGreaterThan(0);
      expect(dry.contents).toBeGreaterThan(0);
      // Progress only goes forward, and ends at 1.
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
      expect(progress.at(-1)).toBe(1);

      const real = await db.gc({ contentGraceMs: 0 });
      const same = (r: GcReport) => ({ watermark: r.watermark, versions: r.versions, pageVersions: r.pageVersions, contents: r.contents, bytes: r.bytes });
      expect(same(real)).toEqual(same(dry));
      const after = await dumpStore(kv);
      const bytes = (rows: string[]) => rows.reduce((n, row) => n + (row.length - 1) / 2, 0);
      expect(bytes(before) - bytes(after)).toBe(real.bytes);
      // Again: nothing left to free.
      expect(await db.gc({ contentGraceMs: 0 })).toMatchObject({ versions: 0, pageVersions: 0, contents: 0, bytes: 0 });
      expect(await db.query('SELECT id FROM t ORDER BY id')).toEqual([{ id: 0 }, { id: 1 }, { id: 2 }, { id: 3 }]);
    } finally {
      await db.close();
      await kv.close();
    }
  });

  it('reads below the watermark fail naming the oldest readable version; tags pin their versions', async () => {
    const db = await open(uniqueName('pins'), { store: STORE, retention: 0 });
    try {
      await db.exec('CREATE TABLE t(x); INSERT INTO t VALUES (1)');
      const one = await db.head();
      await db.tag('one');
      await db.exec('INSERT INTO t VALUES (2)');
      const two = await db.head();
      await db.exec('INSERT INTO t VALUES (3)');
      const report = await db.gc({ contentGraceMs: 0 });
      expect(report.heldBy).toEqual({ kind: 'tag', name: 'one', version: one });
      const tagged = await db.at('tag:one');
      expect(await tagged.query('SELECT x FROM t')).toEqual([{ x: 1 }]);
      await tagged.close();

      await db.untag('one');
      await db.gc({ contentGraceMs: 0 });
      const head = await db.head();
      const err = await db.at(two).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VersionTooOldError);
      expect((err as VersionTooOldError).truncatedBefore).toBe(head);
      expect((err as Error).message).toContain(`the oldest readable version is ${head}`);
      expect((await db.history()).oldestVersion).toBe(head);
      await expect(db.tag('late', two)).rejects.toThrow(VersionTooOldError);
      await expect(db.versionAt('tag:one')).rejects.toThrow(TagNotFoundError);
      expect((await db.log()).map((c) => c.version)).toEqual([head]);
    } finally {
      await db.close();
    }
  });

  it('tags: list, refuse a taken name or a bad one, untag an unknown one clearly', async () => {
    const db = await open(uniqueName('tags'), { store: STORE });
    try {
      await db.exec('CREATE TABLE t(x)');
      const v = await db.head();
      const info = await db.tag('release-1.0');
      expect(info).toMatchObject({ name: 'release-1.0', version: v });
      expect(await db.tag('release-1.0', v)).toMatchObject({ version: v }); // the same tag again is fine
      await db.exec('INSERT INTO t VALUES (1)');
      await expect(db.tag('release-1.0')).rejects.toThrow(TagExistsError);
      await expect(db.tag('no spaces')).rejects.toThrow(/a tag name is 1 to 128 characters/);
      await expect(db.untag('nope')).rejects.toThrow(/has no tag "nope"; list its tags with db.tags\(\)/);
      expect((await db.tags()).map((t) => [t.name, t.version])).toEqual([['release-1.0', v]]);
      // A snapshot tags its own version.
      const snapshot = await db.at(v);
      expect((await snapshot.tag('from-snapshot')).version).toBe(v);
      await snapshot.close();
    } finally {
      await db.close();
    }
  });

  it('automatic GC runs at the interval until the database closes', async () => {
    const db = await open(uniqueName('auto'), { store: STORE, retention: 0, gcIntervalMs: 20 });
    try {
      await db.exec('CREATE TABLE t(x); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)');
      const head = await db.head();
      // Wait (bounded) for a run to move the watermark to the head.
      for (let i = 0; i < 200 && (await db.history()).oldestVersion !== head; i++) await new Promise((r) => setTimeout(r, 10));
      expect((await db.history()).oldestVersion).toBe(head);
      const results: GcReport[] = [];
      const stop = db.startAutoGc(10, { onResult: (r) => results.push(r) });
      for (let i = 0; i < 200 && results.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      stop();
      expect(results.length).toBeGreaterThan(0);
    } finally {
      await db.close();
    }
  });

  it('refuses bad retention and GC options, changing nothing', async () => {
    await expect(open(uniqueName('bad'), { store: STORE, retention: 'a week' })).rejects.toThrow(ArgumentError);
    await expect(open(uniqueName('bad'), { store: STORE, gcIntervalMs: 0 })).rejects.toThrow(/gcIntervalMs must be a whole number/);
    const db = await open(uniqueName('bad-opts'), { store: STORE });
    try {
      await expect(db.setRetention(-1)).rejects.toThrow(ArgumentError);
      await expect(db.setRetention('5 lightyears')).rejects.toThrow(/accepted: a number of milliseconds/);
      await expect(db.gc({ dryRun: 'yes' as unknown as boolean })).rejects.toThrow(/dryRun is true or false/);
      expect(() => db.startAutoGc(0)).toThrow(/GC interval/);
      expect((await db.history()).retentionMs).toBe(DEFAULT_RETENTION_MS);
    } finally {
      await db.close();
    }
  });
});

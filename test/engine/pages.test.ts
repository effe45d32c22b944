import { describe, expect, it, vi } from 'vitest';
import { contentKey, lastWriteKey } from '../../src/engine/keys.ts';
import { hashPage } from '../../src/engine/content.ts';
import type { Kv } from '../../src/kv/types.ts';
import {
  changes,
  commitPages,
  ConflictError,
  createDatabase,
  databaseInfo,
  FutureVersionError,
  head,
  InvalidOptionError,
  InvalidPageError,
  log,
  MAX_COMMIT_PAGES,
  NoVersionAtTimeError,
  PageCorruptError,
  readPage,
  readPages,
  VersionFormatError,
  versionAt,
  versionFromBytes,
  versionOfReadVersion,
  type DatabaseRef,
} from '../../src/engine/index.ts';
import { backends, freshDatabaseEachTest, dumpStore, pageOf } from './helpers.ts';

const P = 4096;
const pages = (...entries: [number, number][]) => new Map(entries.map(([page, seed]) => [page, pageOf(P, seed)]));

for (const backend of backends) {
  describe(`pages and history (${backend.name})`, () => {
    let kv: Kv;
    let db: DatabaseRef;
    freshDatabaseEachTest(backend, (k, d) => ((kv = k), (db = d)));

    it('every version keeps its pages; unwritten pages are undefined', async () => {
      const v0 = await head(db);
      const v1 = await commitPages(db, { snapshot: v0, pages: pages([1, 10], [2, 20]) });
      const v2 = await commitPages(db, { snapshot: v1, pages: pages([2, 21], [3, 30]) });
      expect(v0 < v1 && v1 < v2).toBe(true);
      expect(await head(db)).toBe(v2);
      expect(await readPages(db, [1, 2, 3, 4], v0)).toEqual([undefined, undefined, undefined, undefined]);
      expect(await readPages(db, [1, 2, 3, 4], v1)).toEqual([pageOf(P, 10), pageOf(P, 20), undefined, undefined]);
      expect(await readPages(db, [3, 2, 1, 2], v2)).toEqual([pageOf(P, 30), pageOf(P, 21), pageOf(P, 10), pageOf(P, 21)]);
      expect(await readPage(db, 2, v1)).toEqual(pageOf(P, 20));
      // A version between commits reads like the commit before it.
      const between = v1.slice(0, 16) + 'ffff';
      expect(await readPage(db, 2, between)).toEqual(pageOf(P, 20));
    });

    it('page-level conflicts: exactly the pages read and written after the snapshot', async () => {
      const v0 = await head(db);
      const v1 = await commitPages(db, { snapshot: v0, pages: pages([1, 1], [2, 2]) });
      // Read page 3 (untouched) and page 5 (never written): no conflict, even though the db moved on.
      const v2 = await commitPages(db, { snapshot: v0, pages: pages([3, 3]), readSet: [3, 5] });
      // Read page 2 at v0: it was written at v1.
      const err = await commitPages(db, { snapshot: v0, pages: pages([4, 4]), readSet: [2, 3, 4] }).catch((e) => e);
      expect(err).toBeInstanceOf(ConflictError);
      expect(err).toMatchObject({ code: 'CONFLICT', kind: 'page', pages: [2, 3], winningVersion: v2, snapshot: v0 });
      expect(err.message).toMatch(/pages 2, 3 changed after snapshot/);
      expect(await head(db)).toBe(v2);
      expect(await readPage(db, 4, v2)).toBeUndefined();
      // A page never written before, read and then created by another writer, conflicts too.
      await commitPages(db, { snapshot: v2, pages: pages([5, 5]) });
      await expect(commitPages(db, { snapshot: v2, pages: pages([6, 6]), readSet: [5] })).rejects.toThrow(ConflictError);
      expect(v1 < v2).toBe(true);
    });

    it('write skew between racing writers: one of them fails', async () => {
      const v0 = await commitPages(db, { snapshot: await head(db), pages: pages([1, 1], [2, 2]) });
      const results = await Promise.allSettled([
        commitPages(db, { snapshot: v0, pages: pages([2, 12]), readSet: [1] }),
        commitPages(db, { snapshot: v0, pages: pages([1, 11]), readSet: [2] }),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(rejected.reason).toBeInstanceOf(ConflictError);
    });

    it('without a read set, or above the threshold, the check is database-level', async () => {
      const v0 = await head(db);
      const v1 = await commitPages(db, { snapshot: v0, pages: pages([1, 1]) });
      const noReadSet = await commitPages(db, { snapshot: v0, pages: pages([2, 2]) }).catch((e) => e);
      expect(noReadSet).toMatchObject({ kind: 'database', pages: [1], winningVersion: v1 });
      const wide = Array.from({ length: 2001 }, (_, i) => i + 10); // does not include page 1
      const big = await commitPages(db, { snapshot: v0, pages: pages([2, 2]), readSet: wide }).catch((e) => e);
      expect(big).toMatchObject({ kind: 'database', pages: [], winningVersion: v1 });
      // At the head, the same commits succeed.
      expect(await commitPages(db, { snapshot: v1, pages: pages([2, 2]), readSet: wide })).toBeTypeOf('string');
    });

    it('refuses a snapshot newer than the head or than the store', async () => {
      const tx = kv.createTransaction();
      const now = versionOfReadVersion(await tx.getReadVersion());
      tx.cancel();
      const before = await dumpStore(kv);
      const ahead = await commitPages(db, { snapshot: now, pages: pages([1, 1]), readSet: [] }).catch((e) => e);
      expect(ahead).toMatchObject({ kind: 'head-moved-back', winningVersion: await head(db) });
      await expect(commitPages(db, { snapshot: 'ffffffffffffffff0000', pages: pages([1, 1]) })).rejects.toThrow(
        FutureVersionError,
      );
      await expect(readPage(db, 1, 'ffffffffffffffff0000')).rejects.toThrow(/in the future/);
      await expect(changes(db, await head(db), 'ffffffffffffffff0000')).rejects.toThrow(FutureVersionError);
      expect(await dumpStore(kv)).toEqual(before);
    });

    it('bad input: clear errors, nothing changed', async () => {
      const v0 = await head(db);
      const before = await dumpStore(kv);
      const bad = [
        { snapshot: 'nope', pages: pages([1, 1]) },
        { snapshot: v0, pages: new Map([[1, new Uint8Array(100)]]) },
        { snapshot: v0, pages: new Map([[-1, pageOf(P, 1)]]) },
        { snapshot: v0, pages: new Map([[2 ** 32, pageOf(P, 1)]]) },
        { snapshot: v0, pages: new Map([[1.5, pageOf(P, 1)]]) },
        { snapshot: v0, pages: pages([1, 1]), readSet: [NaN] },
        { snapshot: v0, pages: pages([1, 1]), clientTag: 'x'.repeat(300) },
        { snapshot: v0, pages: [[1, pageOf(P, 1)]] },
      ];
      for (const request of bad) {
        const err = await commitPages(db, request as never).catch((e) => e);
        expect(err.constructor.name).toMatch(/VersionFormatError|InvalidPageError|InvalidOptionError/);
      }
      await expect(commitPages(db, { snapshot: v0, pages: new Map([[1, new Uint8Array(100)]]) })).rejects.toThrow(
        /page 1 has 100 bytes: every page of database "db" is exactly 4096 bytes/,
      );
      const shared = pageOf(P, 1);
      const tooMany = new Map(Array.from({ length: MAX_COMMIT_PAGES + 1 }, (_, i) => [i, shared] as [number, Uint8Array]));
      await expect(commitPages(db, { snapshot: v0, pages: tooMany })).rejects.toThrow(
        new RegExp(`${MAX_COMMIT_PAGES + 1} pages is too large: at most ${MAX_COMMIT_PAGES} pages per commit`),
      );
      await expect(readPage(db, -1, v0)).rejects.toThrow(InvalidPageError);
      await expect(readPage(db, 1, 'v1')).rejects.toThrow(VersionFormatError);
      await expect(changes(db, 'zz', v0)).rejects.toThrow(VersionFormatError);
      await expect(log(db, { limit: 0 })).rejects.toThrow(InvalidOptionError);
      await expect(versionAt(db, new Date('garbage'))).rejects.toThrow(InvalidOptionError);
      expect(await dumpStore(kv)).toEqual(before);
    });

    it('identical pages are stored once', async () => {
      const same = pageOf(P, 7);
      const v1 = await commitPages(db, { snapshot: await head(db), pages: new Map([[1, same], [2, same], [3, same]]) });
      await commitPages(db, { snapshot: v1, pages: new Map([[4, same]]) });
      const contentPrefix = Buffer.from(contentKey(db.prefix, new Uint8Array(0))).toString('hex');
      expect((await dumpStore(kv)).filter((row) => row.startsWith(contentPrefix))).toHaveLength(1);
    });

    it('a corrupted page is reported, never served', async () => {
      const data = pageOf(P, 3);
      const v1 = await commitPages(db, { snapshot: await head(db), pages: new Map([[1, data], [2, pageOf(P, 4)]]) });
      const bad = new Uint8Array(P + 1);
      bad.set(data, 1);
      bad[100] ^= 1;
      await kv.run(async (tx) => tx.set(contentKey(db.prefix, hashPage(data)), bad));
      await expect(readPage(db, 1, v1)).rejects.toThrow(PageCorruptError);
      await expect(readPages(db, [2, 1], v1)).rejects.toThrow(/page 1 .* corrupt/);
      expect(await readPage(db, 2, v1)).toEqual(pageOf(P, 4));
    });

    it('an empty commit changes nothing and returns the snapshot', async () => {
      const v0 = await head(db);
      const before = await dumpStore(kv);
      expect(await commitPages(db, { snapshot: v0, pages: new Map() })).toBe(v0);
      expect(await dumpStore(kv)).toEqual(before);
    });

    it('changes: the pages of the commits in (from, to], or all when too many', async () => {
      const v0 = await head(db);
      const v1 = await commitPages(db, { snapshot: v0, pages: pages([1, 1], [5, 5]) });
      const v2 = await commitPages(db, { snapshot: v1, pages: pages([3, 3]) });
      const v3 = await commitPages(db, { snapshot: v2, pages: pages([5, 6]) });
      expect(await changes(db, v0, v3)).toEqual([1, 3, 5]);
      expect(await changes(db, v1, v3)).toEqual([3, 5]);
      expect(await changes(db, v1, v2)).toEqual([3]);
      expect(await changes(db, v3, v3)).toEqual([]);
      await expect(changes(db, v3, v1)).rejects.toThrow(InvalidOptionError);
      const many = new Map(Array.from({ length: 1001 }, (_, i) => [i + 1, pageOf(P, i)] as [number, Uint8Array]));
      const v4 = await commitPages(db, { snapshot: v3, pages: many });
      expect(await changes(db, v3, v4)).toBe('all');
      expect(await changes(db, v0, v3)).toEqual([1, 3, 5]);
      let v = v4;
      for (let i = 0; i < 101; i++) v = await commitPages(db, { snapshot: v, pages: pages([1, i]) });
      expect(await changes(db, v4, v)).toBe('all');
      const hundredthNewest = (await log(db, { limit: 100 })).at(-1)!.version;
      expect(await changes(db, hundredthNewest, v)).toEqual([1]); // 99 commits, all of page 1
    });

    it('log: newest first, with time, size and client tag; from/to/limit', async () => {
      const v0 = await head(db);
      const v1 = await commitPages(db, { snapshot: v0, pages: pages([1, 1]), clientTag: 'alice' });
      const v2 = await commitPages(db, { snapshot: v1, pages: pages([1, 2], [2, 2]) });
      const v3 = await commitPages(db, { snapshot: v2, pages: pages([3, 3]), clientTag: 'bob' });
      const all = await log(db);
      expect(all.map((c) => [c.version, c.pages, c.bytes, c.clientTag])).toEqual([
        [v3, 1, P, 'bob'],
        [v2, 2, 2 * P, undefined],
        [v1, 1, P, 'alice'],
      ]);
      expect(all[0]!.time.getTime()).toBeGreaterThanOrEqual(all[1]!.time.getTime());
      expect((await log(db, { limit: 2 })).map((c) => c.version)).toEqual([v3, v2]);
      expect((await log(db, { from: v2 })).map((c) => c.version)).toEqual([v3, v2]);
      expect((await log(db, { to: v2 })).map((c) => c.version)).toEqual([v2, v1]);
      expect((await log(db, { from: v2, to: v2 })).map((c) => c.version)).toEqual([v2]);
    });

    it('log pages through many commits', async () => {
      let v = await head(db);
      const versions: string[] = [];
      for (let i = 0; i < 1100; i++) versions.push((v = await commitPages(db, { snapshot: v, pages: pages([1, i]) })));
      const all = await log(db);
      expect(all.map((c) => c.version)).toEqual(versions.reverse());
    });

    it('versionAt: the newest version at or before a time', async () => {
      const { createdAt } = await databaseInfo(db);
      const v0 = await head(db);
      await expect(versionAt(db, new Date(createdAt.getTime() - 1))).rejects.toThrow(NoVersionAtTimeError);
      expect(await versionAt(db, createdAt)).toBe(versionFromBytes(db.id));
      const v1 = await commitPages(db, { snapshot: v0, pages: pages([1, 1]) });
      await new Promise((r) => setTimeout(r, 3));
      const v2 = await commitPages(db, { snapshot: v1, pages: pages([1, 2]) });
      const [c2, c1] = await log(db);
      expect(c1!.time.getTime()).toBeLessThan(c2!.time.getTime());
      expect(await versionAt(db, c1!.time)).toBe(v1);
      expect(await versionAt(db, new Date(c2!.time.getTime() - 1))).toBe(v1);
      expect(await versionAt(db, c2!.time)).toBe(v2);
      expect(await versionAt(db, new Date(Date.now() + 1e6))).toBe(v2);
    });

    it('commit times never go back, also after a last write value written before it carried the time', async () => {
      const v1 = await commitPages(db, { snapshot: await head(db), pages: pages([1, 1]) });
      const [c1] = await log(db);
      const clock = vi.spyOn(Date, 'now').mockReturnValue(c1!.time.getTime() - 60_000);
      try {
        const v2 = await commitPages(db, { snapshot: v1, pages: pages([1, 2]) });
        expect((await log(db, { limit: 1 }))[0]!.time).toEqual(c1!.time);
        // The last write value as commits wrote it before: idempotency key ‖ version, no time.
        const key = lastWriteKey(db.prefix);
        await kv.run(async (tx) => tx.set(key, (await tx.get(key))!.slice(0, 26)));
        const v3 = await commitPages(db, { snapshot: v2, pages: pages([1, 3]) });
        expect((await log(db)).map((c) => [c.version, c.time.getTime()])).toEqual([v3, v2, v1].map((v) => [v, c1!.time.getTime()]));
        expect(await versionAt(db, c1!.time)).toBe(v3);
      } finally {
        clock.mockRestore();
      }
    });

    it('large pages work end to end', async () => {
      const big = await createDatabase(kv, 'big', { pageSize: 65536 });
      const data = pageOf(65536, 9);
      const v = await commitPages(big, { snapshot: await head(big), pages: new Map([[1, data], [2, pageOf(65536, 10)]]) });
      expect(await readPage(big, 1, v)).toEqual(data);
      await expect(commitPages(big, { snapshot: v, pages: pages([1, 1]) })).rejects.toThrow(/exactly 65536 bytes/);
    });
  });
}

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Kv } from '../../src/kv/types.ts';
import {
  createDatabase,
  DatabaseExistsError,
  DatabaseNotFoundError,
  databaseInfo,
  deleteDatabase,
  head,
  InvalidNameError,
  InvalidOptionError,
  listDatabases,
  openDatabase,
  readPage,
  commitPages,
  versionFromBytes,
} from '../../src/engine/index.ts';
import { backends, dumpStore, pageOf } from './helpers.ts';

for (const backend of backends) {
  describe(`databases (${backend.name})`, () => {
    let kv: Kv;
    let close: () => Promise<void>;
    beforeEach(async () => {
      ({ kv, close } = await backend.open());
    });
    afterEach(() => close());

    it('creates, opens, lists and deletes by name', async () => {
      const a = await createDatabase(kv, 'alpha');
      const b = await createDatabase(kv, 'beta', { pageSize: 8192, retentionMs: 1000 });
      expect(a.pageSize).toBe(4096);
      expect(b.pageSize).toBe(8192);
      expect(await head(a)).toBe(versionFromBytes(a.id)); // before any commit: the creation version

      const opened = await openDatabase(kv, 'beta');
      expect(opened.id).toEqual(b.id);
      expect(opened.pageSize).toBe(8192);

      const list = await listDatabases(kv);
      expect(list.map((d) => [d.name, d.pageSize, d.retentionMs])).toEqual([
        ['alpha', 4096, 7 * 24 * 3600 * 1000],
        ['beta', 8192, 1000],
      ]);
      expect(list[0]!.createdVersion).toBe(versionFromBytes(a.id));

      await deleteDatabase(kv, 'alpha');
      expect((await listDatabases(kv)).map((d) => d.name)).toEqual(['beta']);
      await expect(openDatabase(kv, 'alpha')).rejects.toThrow(DatabaseNotFoundError);
      await expect(head(a)).rejects.toThrow(DatabaseNotFoundError);
    });

    it('deleting leaves no key of the database behind, and other databases untouched', async () => {
      const keep = await createDatabase(kv, 'keep');
      await commitPages(keep, { snapshot: await head(keep), pages: new Map([[1, pageOf(4096, 1)]]) });
      const before = await dumpStore(kv);
      const gone = await createDatabase(kv, 'gone');
      const v = await commitPages(gone, { snapshot: await head(gone), pages: new Map([[1, pageOf(4096, 2)], [2, pageOf(4096, 3)]]) });
      expect(await readPage(gone, 2, v)).toEqual(pageOf(4096, 3));
      await deleteDatabase(kv, 'gone');
      expect(await dumpStore(kv)).toEqual(before);
      await expect(readPage(gone, 1, v)).rejects.toThrow(DatabaseNotFoundError);
      await expect(
        commitPages(gone, { snapshot: v, pages: new Map([[1, pageOf(4096, 4)]]) }),
      ).rejects.toThrow(DatabaseNotFoundError);
      expect(await dumpStore(kv)).toEqual(before);
    });

    it('a recreated name is a new, empty database', async () => {
      const first = await createDatabase(kv, 'x');
      const v = await commitPages(first, { snapshot: await head(first), pages: new Map([[1, pageOf(4096, 1)]]) });
      await deleteDatabase(kv, 'x');
      const second = await createDatabase(kv, 'x');
      expect(second.id).not.toEqual(first.id);
      expect(await readPage(second, 1, await head(second))).toBeUndefined();
      expect(await head(second)).not.toBe(v);
    });

    it('create refuses an existing name; open with create opens it', async () => {
      const a = await createDatabase(kv, 'dup', { pageSize: 16384 });
      const before = await dumpStore(kv);
      await expect(createDatabase(kv, 'dup')).rejects.toThrow(DatabaseExistsError);
      const opened = await openDatabase(kv, 'dup', { create: true });
      expect(opened.id).toEqual(a.id);
      expect(opened.pageSize).toBe(16384);
      expect(await dumpStore(kv)).toEqual(before);
    });

    it('open with create makes a missing database with the given page size', async () => {
      const db = await openDatabase(kv, 'fresh', { create: true, pageSize: 65536 });
      expect(db.pageSize).toBe(65536);
      expect((await databaseInfo(db)).pageSize).toBe(65536);
    });

    it('concurrent creates of one name: exactly one wins', async () => {
      const results = await Promise.allSettled([1, 2, 3, 4].map(() => createDatabase(kv, 'race')));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(DatabaseExistsError);
      expect((await listDatabases(kv)).map((d) => d.name)).toEqual(['race']);
    });

    it('bad input: clear errors, nothing changed', async () => {
      await createDatabase(kv, 'present', { pageSize: 4096 });
      const before = await dumpStore(kv);
      for (const name of ['', 'a/b', 'x'.repeat(129), '../present', 'a b', '\u00e9']) {
        await expect(createDatabase(kv, name)).rejects.toThrow(InvalidNameError);
        await expect(openDatabase(kv, name, { create: true })).rejects.toThrow(InvalidNameError);
        await expect(deleteDatabase(kv, name)).rejects.toThrow(InvalidNameError);
      }
      for (const pageSize of [1024, 4097, 6144, 131072, -4096]) {
        await expect(createDatabase(kv, 'new', { pageSize })).rejects.toThrow(/power of two from 4096 to 65536/);
        await expect(openDatabase(kv, 'new', { create: true, pageSize })).rejects.toThrow(InvalidOptionError);
      }
      await expect(createDatabase(kv, 'new', { retentionMs: -1 })).rejects.toThrow(InvalidOptionError);
      await expect(openDatabase(kv, 'present', { pageSize: 8192 })).rejects.toThrow(/page size 4096, fixed at creation/);
      await expect(deleteDatabase(kv, 'absent')).rejects.toThrow(DatabaseNotFoundError);
      await expect(openDatabase(kv, 'absent')).rejects.toThrow(/"absent" does not exist/);
      expect(await dumpStore(kv)).toEqual(before);
    });

    it('lists more databases than one batch (500), in name order', async () => {
      const names = Array.from({ length: 520 }, (_, i) => `db-${String(i).padStart(4, '0')}`);
      await Promise.all(names.map((name) => createDatabase(kv, name)));
      expect((await listDatabases(kv)).map((d) => d.name)).toEqual(names);
    });

    it('databases under different roots do not see each other', async () => {
      await createDatabase(kv, 'same', { root: new Uint8Array([1, 2]) });
      await createDatabase(kv, 'same', { root: new Uint8Array([1, 3]) });
      expect(await listDatabases(kv, { root: new Uint8Array([1, 2]) })).toHaveLength(1);
      expect(await listDatabases(kv)).toHaveLength(0);
    });
  });
}

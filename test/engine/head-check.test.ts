/** headAndChanges: a connection's per-transaction check answers exactly what head() and changes() answer. */
import { describe, expect, it } from 'vitest';
import type { Kv } from '../../src/kv/types.ts';
import { changes, commitPages, createDatabase, head, headAndChanges, type DatabaseRef } from '../../src/engine/index.ts';
import { backends, freshDatabaseEachTest, pageOf } from './helpers.ts';

const P = 4096;
const pages = (...entries: [number, number][]) => new Map(entries.map(([page, seed]) => [page, pageOf(P, seed)]));

for (const backend of backends) {
  describe(`headAndChanges (${backend.name})`, () => {
    let kv: Kv;
    let db: DatabaseRef;
    freshDatabaseEachTest(backend, (k, d) => ((kv = k), (db = d)));

    it('equals head() and changes(since, head) from every earlier version', async () => {
      const versions = [await head(db)];
      for (const [page, seed] of [[1, 1], [3, 2], [1, 3], [7, 4]] as const) {
        versions.push(await commitPages(db, { snapshot: versions.at(-1)!, pages: pages([page, seed]) }));
      }
      const newest = await head(db);
      for (const since of versions) {
        const check = await headAndChanges(db, since);
        expect({ head: check.head, changed: check.changed }).toEqual({ head: newest, changed: await changes(db, since, newest) });
      }
      expect((await headAndChanges(db)).head).toBe(newest);
    });

    it('reads nothing more while the store has not moved, and sees any commit after that', async () => {
      const v0 = await head(db);
      const first = await headAndChanges(db, v0);
      expect(await headAndChanges(db, v0, first.readVersion)).toEqual({ head: v0, changed: [], readVersion: first.readVersion });

      // A commit to another database moves the store but not this head.
      const other = await createDatabase(kv, 'other');
      await commitPages(other, { snapshot: await head(other), pages: pages([2, 9]) });
      const unmoved = await headAndChanges(db, v0, first.readVersion);
      expect([unmoved.head, unmoved.changed]).toEqual([v0, []]);
      expect(unmoved.readVersion).toBeGreaterThan(first.readVersion);

      const v1 = await commitPages(db, { snapshot: v0, pages: pages([4, 1]) });
      expect(await headAndChanges(db, v0, unmoved.readVersion)).toMatchObject({ head: v1, changed: [4] });
    });

    /** `db` through a kv that counts the transactions created. */
    const counted = () => {
      const counter = { transactions: 0 };
      const ref: DatabaseRef = {
        ...db,
        kv: { ...kv, createTransaction: (options) => (counter.transactions++, kv.createTransaction(options)) },
      };
      return { ref, counter };
    };

    it("after the ref's own commit, with nothing else committed, answers without reading what the store says", async () => {
      const { ref, counter } = counted();
      const v0 = await head(ref);
      const before = await headAndChanges(ref, v0);
      const v1 = await commitPages(ref, { snapshot: v0, pages: pages([6, 1], [2, 2]) });
      counter.transactions = 0;
      const check = await headAndChanges(ref, v0, before.readVersion);
      if (kv.committedVersionSync) expect(counter.transactions).toBe(0);
      // What a check through another ref (which knows of no commit) reads from the store.
      const read = await headAndChanges(db, v0, before.readVersion);
      expect(check).toEqual(read);
      expect(check).toMatchObject({ head: v1, changed: [2, 6] });
    });

    it('reads the store when another commit landed before or after its own', async () => {
      const { ref } = counted();
      const v0 = await head(ref);
      const before = await headAndChanges(ref, v0);
      // Another connection commits first: the own commit's predecessor is not the version checked.
      const other = await commitPages(db, { snapshot: v0, pages: pages([5, 1]) });
      const v1 = await commitPages(ref, { snapshot: other, pages: pages([6, 1]) });
      expect(await headAndChanges(ref, v0, before.readVersion)).toMatchObject({ head: v1, changed: [5, 6] });

      const again = await headAndChanges(ref, v1);
      const v2 = await commitPages(ref, { snapshot: v1, pages: pages([7, 1]) });
      // And one after the own commit: the store moved past it.
      const later = await commitPages(db, { snapshot: v2, pages: pages([8, 1]) });
      expect(await headAndChanges(ref, v1, again.readVersion)).toMatchObject({ head: later, changed: [7, 8] });
    });
  });
}

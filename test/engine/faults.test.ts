/**
 * Commits under kv failures at chosen points: a maybe-committed result (1021) that did or did not commit,
 * a crash between the phases of a large commit, and GC revoking a two-phase commit's token.
 */

import { describe, expect, it } from 'vitest';
import type { Kv } from '../../src/kv/types.ts';
import {
  changes,
  commitPages,
  CommitInterruptedError,
  createDatabase,
  head,
  log,
  readPages,
  INLINE_CONTENT_BYTES,
  type DatabaseRef,
} from '../../src/engine/index.ts';
import { changelogPrefix, tokensRange } from '../../src/engine/keys.ts';
import { bytesEqual } from '../../src/kv/bytes.ts';
import { backends, freshDatabaseEachTest, Crash, pageOf, scriptedKv, withMethods, type ScriptedFault } from './helpers.ts';

const P = 4096;
/** A two-phase commit (contents above the inline limit) of three upload transactions. */
const BIG = 300;
const pagesOf = (first: number, count: number, seed: number) =>
  new Map(Array.from({ length: count }, (_, i) => [first + i, pageOf(P, seed + i)] as [number, Uint8Array]));

for (const backend of backends) {
  describe(`commits under kv faults (${backend.name})`, () => {
    let kv: Kv;
    let db: DatabaseRef;
    freshDatabaseEachTest(backend, (k, d) => ((kv = k), (db = d)));

    /** How many kv commits one clean commit of `pages` makes (on a scratch database). */
    const kvCommitsOf = async (pages: Map<number, Uint8Array>) => {
      const scratch = await createDatabase(kv, `scratch${Math.random()}`);
      const counter = scriptedKv(kv, () => undefined);
      await commitPages({ ...scratch, kv: counter }, { snapshot: await head(scratch), pages });
      return counter.commits;
    };

    /** `db` seen through a kv whose n-th commit from now fails as `fault`. */
    const faultyAt = (n: number, fault: ScriptedFault, between?: () => Promise<void>) => {
      const faulty = scriptedKv(kv, (i) => (i === n ? { fault, ...(between ? { between } : {}) } : undefined));
      return { db: { ...db, kv: faulty }, faulty };
    };

    for (const fault of ['unknownCommitted', 'unknownNotCommitted'] as const) {
      it(`1021 (${fault}) on a small commit: one commit, the right version, no false conflict`, async () => {
        const v0 = await head(db);
        const { db: faultyDb } = faultyAt(1, fault);
        const written = pagesOf(1, 3, 100);
        // The read set includes the pages it writes: a retry that missed its own commit would conflict.
        const v1 = await commitPages(faultyDb, { snapshot: v0, pages: written, readSet: [1, 2, 3] });
        expect(await head(db)).toBe(v1);
        expect((await log(db)).map((c) => c.version)).toEqual([v1]);
        expect(await readPages(db, [1, 2, 3], v1)).toEqual([...written.values()]);
      });

      it(`1021 (${fault}) and another commit before the retry (ABA): still exactly-once`, async () => {
        const v0 = await head(db);
        let other: string | undefined;
        const { db: faultyDb } = faultyAt(1, fault, async () => {
          other = await commitPages(db, { snapshot: await head(db), pages: pagesOf(1, 1, 900) });
        });
        const result = commitPages(faultyDb, { snapshot: v0, pages: pagesOf(1, 2, 100), readSet: [1, 2] });
        if (fault === 'unknownCommitted') {
          // Ours landed first; the other commit came after it. The retry must report ours, not a conflict.
          const v1 = await result;
          expect((await log(db)).map((c) => c.version)).toEqual([other, v1]);
          expect(v1 < other!).toBe(true);
        } else {
          // Ours did not land; on retry page 1 was written after our snapshot: a true conflict.
          const err = await result.catch((e: unknown) => e);
          expect(err).toMatchObject({ code: 'CONFLICT', kind: 'page', pages: [1], winningVersion: other });
          expect((await log(db)).map((c) => c.version)).toEqual([other]);
        }
      });
    }

    it('a crash at any step of a two-phase commit leaves nothing visible; a new attempt succeeds', async () => {
      const v0 = await commitPages(db, { snapshot: await head(db), pages: pagesOf(1, 2, 1) });
      const big = pagesOf(1, BIG, 5000);
      const steps = await kvCommitsOf(big);
      expect(BIG * P).toBeGreaterThan(INLINE_CONTENT_BYTES);
      expect(steps).toBe(4); // token with the first upload, two more uploads, publish

      for (let n = 1; n <= steps; n++) {
        const { db: faultyDb } = faultyAt(n, 'crash');
        await expect(commitPages(faultyDb, { snapshot: v0, pages: big })).rejects.toThrow(Crash);
        expect(await head(db)).toBe(v0);
        expect((await log(db)).map((c) => c.version)).toEqual([v0]);
        expect(await readPages(db, [1, 2, 3], await head(db))).toEqual([pageOf(P, 1), pageOf(P, 2), undefined]);
      }
      const v1 = await commitPages(db, { snapshot: v0, pages: big, readSet: [1, 2] });
      expect(await changes(db, v0, v1)).toEqual([...big.keys()]);
      const sample = [1, 2, 150, BIG];
      expect(await readPages(db, sample, v1)).toEqual(sample.map((p) => big.get(p)));
      expect(await readPages(db, [1, 2], v0)).toEqual([pageOf(P, 1), pageOf(P, 2)]);
    });

    for (const fault of ['unknownCommitted', 'unknownNotCommitted'] as const) {
      it(`1021 (${fault}) at the publish of a two-phase commit: exactly one commit`, async () => {
        const v0 = await head(db);
        const big = pagesOf(1, BIG, 7000);
        const { db: faultyDb } = faultyAt(await kvCommitsOf(big), fault);
        const v1 = await commitPages(faultyDb, { snapshot: v0, pages: big, readSet: [1, 2, 3] });
        expect((await log(db)).map((c) => c.version)).toEqual([v1]);
        expect(await readPages(db, [1, BIG], v1)).toEqual([big.get(1), big.get(BIG)]);
      });
    }

    it('1021 on a writer with an old snapshot: the retry looks only at commits after its failed attempt', async () => {
      const v0 = await head(db);
      for (let i = 0; i < 30; i++) await commitPages(db, { snapshot: await head(db), pages: pagesOf(10, 1, 2000 + i) });
      const before = await head(db);
      // Counts the changelog entries the retry's scan returns (the only changelog range a commit reads).
      let scanned = 0;
      const changelog = changelogPrefix(db.prefix);
      const { faulty } = faultyAt(1, 'unknownCommitted');
      const counting: Kv = {
        ...faulty,
        createTransaction: (options) => {
          const tx = faulty.createTransaction(options);
          return withMethods(tx, {
            snapshot: () => {
              const reader = tx.snapshot();
              return withMethods(reader, {
                async getRange(...args: Parameters<typeof reader.getRange>) {
                  const rows = await reader.getRange(...args);
                  if (bytesEqual(args[0].subarray(0, changelog.length), changelog)) scanned += rows.length;
                  return rows;
                },
              });
            },
          });
        },
      };
      // Snapshot v0, 30 commits old; pages 1-2 were not written since, so no conflict.
      const v1 = await commitPages({ ...db, kv: counting }, { snapshot: v0, pages: pagesOf(1, 2, 100), readSet: [1, 2] });
      expect((await log(db)).map((c) => c.version).slice(0, 2)).toEqual([v1, before]);
      expect(scanned).toBe(1); // its own entry, not the 30 after its snapshot
    });

    it('GC revoking the token between the phases: the commit starts over, or gives up clearly', async () => {
      const revokeTokens = () =>
        kv.run(async (tx) => {
          const r = tokensRange(db.prefix);
          tx.clearRange(r.begin, r.end);
        });
      const v0 = await head(db);
      const big = pagesOf(1, BIG, 3000);
      // Revoked once, right after the first upload transaction (commit 1 opened the token): the commit
      // starts over and goes through.
      const onceKv = scriptedKv(kv, (n) => (n === 2 ? { between: revokeTokens } : undefined));
      const v1 = await commitPages({ ...db, kv: onceKv }, { snapshot: v0, pages: big });
      expect(onceKv.commits).toBeGreaterThan(await kvCommitsOf(big)); // it did start over
      expect((await log(db)).map((c) => c.version)).toEqual([v1]);

      // Revoked after every kv commit: a clear error and nothing visible.
      const before = await head(db);
      const stubborn = { ...db, kv: scriptedKv(kv, () => ({ between: revokeTokens })) };
      await expect(commitPages(stubborn, { snapshot: before, pages: big })).rejects.toThrow(CommitInterruptedError);
      expect(await head(db)).toBe(before);
      expect((await log(db)).map((c) => c.version)).toEqual([v1]);
    });

    it('a failed commit never changes what any version reads', async () => {
      const v0 = await commitPages(db, { snapshot: await head(db), pages: pagesOf(1, 3, 1) });
      const before = await readPages(db, [1, 2, 3, 4], v0);
      const { db: faultyDb } = faultyAt(1, 'crash');
      await expect(commitPages(faultyDb, { snapshot: v0, pages: pagesOf(1, 4, 50) })).rejects.toThrow(Crash);
      expect(await readPages(db, [1, 2, 3, 4], v0)).toEqual(before);
      expect(await head(db)).toBe(v0);
    });
  });
}

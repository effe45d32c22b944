/**
 * faults.test.ts on the synchronous path: commits run by runSync on the stores' synchronous transactions,
 * under kv failures at chosen points: a maybe-committed result (1021) that did or did not commit, a crash
 * between the phases of a large commit, and GC revoking a two-phase commit's token. Exactly once, the
 * right version, nothing visible from a failed commit.
 */

import { describe, expect, it } from 'vitest';
import type { Kv } from '../../src/kv/types.ts';
import {
  changes,
  commitPagesSteps,
  CommitInterruptedError,
  createDatabase,
  headSteps,
  INLINE_CONTENT_BYTES,
  log,
  readPages,
  runSync,
  type CommitRequest,
  type DatabaseRef,
} from '../../src/engine/index.ts';
import { changelogPrefix, tokensRange } from '../../src/engine/keys.ts';
import { bytesEqual } from '../../src/kv/bytes.ts';
import { freshDatabaseEachTest, syncBackends, Crash, pageOf, scriptedKv, withMethods, type ScriptedFault } from './helpers.ts';

const P = 4096;
/** A two-phase commit (contents above the inline limit) of three upload transactions. */
const BIG = 300;
const pagesOf = (first: number, count: number, seed: number) =>
  new Map(Array.from({ length: count }, (_, i) => [first + i, pageOf(P, seed + i)] as [number, Uint8Array]));

/** The synchronous runs under test. */
const commit = (db: DatabaseRef, request: CommitRequest) => runSync(commitPagesSteps(db, request));
const head = (db: DatabaseRef) => runSync(headSteps(db));

for (const backend of syncBackends) {
  describe(`synchronous commits under kv faults (${backend.name})`, () => {
    let kv: Kv;
    let db: DatabaseRef;
    freshDatabaseEachTest(backend, (k, d) => ((kv = k), (db = d)));

    /** How many kv commits one clean commit of `pages` makes (on a scratch database). */
    const kvCommitsOf = async (pages: Map<number, Uint8Array>) => {
      const scratch = await createDatabase(kv, `scratch${Math.random()}`);
      const counter = scriptedKv(kv, () => undefined);
      commit({ ...scratch, kv: counter }, { snapshot: head(scratch), pages });
      return counter.commits;
    };

    /** `db` seen through a kv whose n-th commit from now fails as `fault`. */
    const faultyAt = (n: number, fault: ScriptedFault, between?: () => void) => {
      const faulty = scriptedKv(kv, (i) => (i === n ? { fault, ...(between ? { between } : {}) } : undefined));
      return { db: { ...db, kv: faulty }, faulty };
    };

    for (const fault of ['unknownCommitted', 'unknownNotCommitted'] as const) {
      it(`1021 (${fault}) on a small commit: one commit, the right version, no false conflict`, async () => {
        const v0 = head(db);
        const { db: faultyDb, faulty } = faultyAt(1, fault);
        const written = pagesOf(1, 3, 100);
        // The read set includes the pages it writes: a retry that missed its own commit would conflict.
        const v1 = commit(faultyDb, { snapshot: v0, pages: written, readSet: [1, 2, 3] });
        expect(faulty.commits).toBe(2); // the faulty attempt and its retry
        expect(head(db)).toBe(v1);
        expect((await log(db)).map((c) => c.version)).toEqual([v1]);
        expect(await readPages(db, [1, 2, 3], v1)).toEqual([...written.values()]);
      });

      it(`1021 (${fault}) and another commit before the retry (ABA): still exactly-once`, async () => {
        const v0 = head(db);
        let other: string | undefined;
        const { db: faultyDb } = faultyAt(1, fault, () => {
          other = commit(db, { snapshot: head(db), pages: pagesOf(1, 1, 900) });
        });
        const request = { snapshot: v0, pages: pagesOf(1, 2, 100), readSet: [1, 2] };
        if (fault === 'unknownCommitted') {
          // Ours landed first; the other commit came after it. The retry must report ours, not a conflict.
          const v1 = commit(faultyDb, request);
          expect((await log(db)).map((c) => c.version)).toEqual([other, v1]);
          expect(v1 < other!).toBe(true);
        } else {
          // Ours did not land; on retry page 1 was written after our snapshot: a true conflict.
          let err: unknown;
          try {
            commit(faultyDb, request);
          } catch (e) {
            err = e;
          }
          expect(err).toMatchObject({ code: 'CONFLICT', kind: 'page', pages: [1], winningVersion: other });
          expect((await log(db)).map((c) => c.version)).toEqual([other]);
        }
      });
    }

    it('a crash at any step of a two-phase commit leaves nothing visible; a new attempt succeeds', async () => {
      const v0 = commit(db, { snapshot: head(db), pages: pagesOf(1, 2, 1) });
      const big = pagesOf(1, BIG, 5000);
      const steps = await kvCommitsOf(big);
      expect(BIG * P).toBeGreaterThan(INLINE_CONTENT_BYTES);
      expect(steps).toBe(4); // token with the first upload, two more uploads, publish

      for (let n = 1; n <= steps; n++) {
        const { db: faultyDb } = faultyAt(n, 'crash');
        expect(() => commit(faultyDb, { snapshot: v0, pages: big })).toThrow(Crash);
        expect(head(db)).toBe(v0);
        expect((await log(db)).map((c) => c.version)).toEqual([v0]);
        expect(await readPages(db, [1, 2, 3], head(db))).toEqual([pageOf(P, 1), pageOf(P, 2), undefined]);
      }
      const v1 = commit(db, { snapshot: v0, pages: big, readSet: [1, 2] });
      expect(await changes(db, v0, v1)).toEqual([...big.keys()]);
      const sample = [1, 2, 150, BIG];
      expect(await readPages(db, sample, v1)).toEqual(sample.map((p) => big.get(p)));
      expect(await readPages(db, [1, 2], v0)).toEqual([pageOf(P, 1), pageOf(P, 2)]);
    });

    for (const fault of ['unknownCommitted', 'unknownNotCommitted'] as const) {
      it(`1021 (${fault}) at the publish of a two-phase commit: exactly one commit`, async () => {
        const v0 = head(db);
        const big = pagesOf(1, BIG, 7000);
        const { db: faultyDb } = faultyAt(await kvCommitsOf(big), fault);
        const v1 = commit(faultyDb, { snapshot: v0, pages: big, readSet: [1, 2, 3] });
        expect((await log(db)).map((c) => c.version)).toEqual([v1]);
        expect(await readPages(db, [1, BIG], v1)).toEqual([big.get(1), big.get(BIG)]);
      });
    }

    it('1021 on a writer with an old snapshot: the retry looks only at commits after its failed attempt', async () => {
      const v0 = head(db);
      for (let i = 0; i < 30; i++) commit(db, { snapshot: head(db), pages: pagesOf(10, 1, 2000 + i) });
      const before = head(db);
      // Counts the changelog entries the retry's scan returns (the only changelog range a commit reads).
      let scanned = 0;
      const changelog = changelogPrefix(db.prefix);
      const { faulty } = faultyAt(1, 'unknownCommitted');
      const counting: Kv = {
        ...faulty,
        createTransactionSync: (options) => {
          const tx = faulty.createTransactionSync!(options);
          return withMethods(tx, {
            snapshot: () => {
              const reader = tx.snapshot();
              return withMethods(reader, {
                getRange(...args: Parameters<typeof reader.getRange>) {
                  const rows = reader.getRange(...args);
                  if (bytesEqual(args[0].subarray(0, changelog.length), changelog)) scanned += rows.length;
                  return rows;
                },
              });
            },
          });
        },
      };
      // Snapshot v0, 30 commits old; pages 1-2 were not written since, so no conflict.
      const v1 = commit({ ...db, kv: counting }, { snapshot: v0, pages: pagesOf(1, 2, 100), readSet: [1, 2] });
      expect((await log(db)).map((c) => c.version).slice(0, 2)).toEqual([v1, before]);
      expect(scanned).toBe(1); // its own entry, not the 30 after its snapshot
    });

    it('GC revoking the token between the phases: the commit starts over, or gives up clearly', async () => {
      const revokeTokens = () => {
        const tx = kv.createTransactionSync!();
        const r = tokensRange(db.prefix);
        tx.clearRange(r.begin, r.end);
        tx.commit();
      };
      const v0 = head(db);
      const big = pagesOf(1, BIG, 3000);
      // Revoked once, right after the first upload transaction (commit 1 opened the token): the commit
      // starts over and goes through.
      const onceKv = scriptedKv(kv, (n) => (n === 2 ? { between: revokeTokens } : undefined));
      const v1 = commit({ ...db, kv: onceKv }, { snapshot: v0, pages: big });
      expect(onceKv.commits).toBeGreaterThan(await kvCommitsOf(big)); // it did start over
      expect((await log(db)).map((c) => c.version)).toEqual([v1]);

      // Revoked after every kv commit: a clear error and nothing visible.
      const before = head(db);
      const stubborn = { ...db, kv: scriptedKv(kv, () => ({ between: revokeTokens })) };
      expect(() => commit(stubborn, { snapshot: before, pages: big })).toThrow(CommitInterruptedError);
      expect(head(db)).toBe(before);
      expect((await log(db)).map((c) => c.version)).toEqual([v1]);
    });

    it('a failed commit never changes what any version reads', async () => {
      const v0 = commit(db, { snapshot: head(db), pages: pagesOf(1, 3, 1) });
      const before = await readPages(db, [1, 2, 3, 4], v0);
      const { db: faultyDb } = faultyAt(1, 'crash');
      expect(() => commit(faultyDb, { snapshot: v0, pages: pagesOf(1, 4, 50) })).toThrow(Crash);
      expect(await readPages(db, [1, 2, 3, 4], v0)).toEqual(before);
      expect(head(db)).toBe(v0);
    });
  });
}

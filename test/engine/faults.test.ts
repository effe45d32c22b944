/**
 * Commits under kv failures at chosen points: a maybe-committed result (1021) that did or did not commit,
 * a crash between the phases of a large commit, and GC revoking a two-phase commit's token. Exactly once,
 * the right version, nothing visible from a failed commit. On both paths the engine's operations run:
 * asynchronously (the public API) and synchronously (the VFS on the sync build, the stores' synchronous
 * transactions).
 */

import { describe, expect, it } from 'vitest';
import type { Kv, KvReader, KvReaderSync } from '../../src/kv/types.ts';
import {
  changes,
  commitPagesSteps,
  CommitInterruptedError,
  createDatabase,
  headSteps,
  INLINE_CONTENT_BYTES,
  log,
  readPages,
  type CommitRequest,
  type DatabaseRef,
  type Version,
} from '../../src/engine/index.ts';
import { changelogPrefix, tokensRange } from '../../src/engine/keys.ts';
import { runAsync, runSync, transaction, wait, type Steps } from '../../src/engine/steps.ts';
import { bytesEqual } from '../../src/kv/bytes.ts';
import { backends, freshDatabaseEachTest, syncBackends, Crash, pageOf, scriptedKv, withMethods, type Backend, type ScriptedFault } from './helpers.ts';

const P = 4096;
/** A two-phase commit (contents above the inline limit) of three upload transactions. */
const BIG = 300;
const pagesOf = (first: number, count: number, seed: number) =>
  new Map(Array.from({ length: count }, (_, i) => [first + i, pageOf(P, seed + i)] as [number, Uint8Array]));

interface Path {
  name: string;
  backends: Backend[];
  /** Runs engine steps as this path does: a promise (runAsync), or to the end before returning (runSync). */
  run<T>(steps: Steps<T>): T | Promise<T>;
}

const paths: Path[] = [
  { name: 'asynchronous', backends, run: runAsync },
  { name: 'synchronous', backends: syncBackends, run: runSync },
];

for (const path of paths) {
  for (const backend of path.backends) {
    describe(`${path.name} commits under kv faults (${backend.name})`, () => {
      let kv: Kv;
      let db: DatabaseRef;
      freshDatabaseEachTest(backend, (k, d) => ((kv = k), (db = d)));

      // As promises on both paths (a synchronous run's error becomes a rejection).
      const commit = async (on: DatabaseRef, request: CommitRequest): Promise<Version> => path.run(commitPagesSteps(on, request));
      const head = async (on: DatabaseRef): Promise<Version> => path.run(headSteps(on));

      /** How many kv commits one clean commit of `pages` makes (on a scratch database). */
      const kvCommitsOf = async (pages: Map<number, Uint8Array>) => {
        const scratch = await createDatabase(kv, `scratch${Math.random()}`);
        const counter = scriptedKv(kv, () => undefined);
        await commit({ ...scratch, kv: counter }, { snapshot: await head(scratch), pages });
        return counter.commits;
      };

      /**
       * `db` seen through a kv whose n-th commit from now fails as `fault`; `between` (another client's
       * steps) runs after that commit, on this path (a synchronous commit cannot wait for a promise).
       */
      const faultyAt = (n: number, fault: ScriptedFault, between?: () => Steps<void>) => {
        const step = between ? { fault, between: () => path.run(between()) } : { fault };
        const faulty = scriptedKv(kv, (i) => (i === n ? step : undefined));
        return { db: { ...db, kv: faulty }, faulty };
      };

      for (const fault of ['unknownCommitted', 'unknownNotCommitted'] as const) {
        it(`1021 (${fault}) on a small commit: one commit, the right version, no false conflict`, async () => {
          const v0 = await head(db);
          const { db: faultyDb, faulty } = faultyAt(1, fault);
          const written = pagesOf(1, 3, 100);
          // The read set includes the pages it writes: a retry that missed its own commit would conflict.
          const v1 = await commit(faultyDb, { snapshot: v0, pages: written, readSet: [1, 2, 3] });
          expect(faulty.commits).toBe(2); // the faulty attempt and its retry
          expect(await head(db)).toBe(v1);
          expect((await log(db)).map((c) => c.version)).toEqual([v1]);
          expect(await readPages(db, [1, 2, 3], v1)).toEqual([...written.values()]);
        });

        it(`1021 (${fault}) and another commit before the retry (ABA): still exactly-once`, async () => {
          const v0 = await head(db);
          let other: Version | undefined;
          const { db: faultyDb } = faultyAt(1, fault, function* () {
            other = yield* commitPagesSteps(db, { snapshot: yield* headSteps(db), pages: pagesOf(1, 1, 900) });
          });
          const result = commit(faultyDb, { snapshot: v0, pages: pagesOf(1, 2, 100), readSet: [1, 2] });
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
        const v0 = await commit(db, { snapshot: await head(db), pages: pagesOf(1, 2, 1) });
        const big = pagesOf(1, BIG, 5000);
        const steps = await kvCommitsOf(big);
        expect(BIG * P).toBeGreaterThan(INLINE_CONTENT_BYTES);
        expect(steps).toBe(4); // token with the first upload, two more uploads, publish

        for (let n = 1; n <= steps; n++) {
          const { db: faultyDb } = faultyAt(n, 'crash');
          await expect(commit(faultyDb, { snapshot: v0, pages: big })).rejects.toThrow(Crash);
          expect(await head(db)).toBe(v0);
          expect((await log(db)).map((c) => c.version)).toEqual([v0]);
          expect(await readPages(db, [1, 2, 3], await head(db))).toEqual([pageOf(P, 1), pageOf(P, 2), undefined]);
        }
        const v1 = await commit(db, { snapshot: v0, pages: big, readSet: [1, 2] });
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
          const v1 = await commit(faultyDb, { snapshot: v0, pages: big, readSet: [1, 2, 3] });
          expect((await log(db)).map((c) => c.version)).toEqual([v1]);
          expect(await readPages(db, [1, BIG], v1)).toEqual([big.get(1), big.get(BIG)]);
        });
      }

      it('1021 on a writer with an old snapshot: the retry looks only at commits after its failed attempt', async () => {
        const v0 = await head(db);
        for (let i = 0; i < 30; i++) await commit(db, { snapshot: await head(db), pages: pagesOf(10, 1, 2000 + i) });
        const before = await head(db);
        // Counts the changelog entries the retry's scan returns (the only changelog range a commit reads).
        let scanned = 0;
        const changelog = changelogPrefix(db.prefix);
        const countScans = <R extends KvReader | KvReaderSync>(reader: R): R =>
          withMethods(reader as KvReader, {
            getRange(...args: Parameters<KvReader['getRange']>) {
              const count = (rows: Awaited<ReturnType<KvReader['getRange']>>) => {
                if (bytesEqual(args[0].subarray(0, changelog.length), changelog)) scanned += rows.length;
                return rows;
              };
              const rows = (reader as KvReader).getRange(...args) as ReturnType<KvReader['getRange']> | Awaited<ReturnType<KvReader['getRange']>>;
              return (rows instanceof Promise ? rows.then(count) : count(rows)) as ReturnType<KvReader['getRange']>;
            },
          }) as R;
        const { faulty } = faultyAt(1, 'unknownCommitted');
        const counting: Kv = {
          ...faulty,
          createTransaction: (options) => {
            const tx = faulty.createTransaction(options);
            return withMethods(tx, { snapshot: () => countScans(tx.snapshot()) });
          },
          createTransactionSync: (options) => {
            const tx = faulty.createTransactionSync!(options);
            return withMethods(tx, { snapshot: () => countScans(tx.snapshot()) });
          },
        };
        // Snapshot v0, 30 commits old; pages 1-2 were not written since, so no conflict.
        const v1 = await commit({ ...db, kv: counting }, { snapshot: v0, pages: pagesOf(1, 2, 100), readSet: [1, 2] });
        expect((await log(db)).map((c) => c.version).slice(0, 2)).toEqual([v1, before]);
        expect(scanned).toBe(1); // its own entry, not the 30 after its snapshot
      });

      it('GC revoking the token between the phases: the commit starts over, or gives up clearly', async () => {
        function* revokeTokens(): Steps<void> {
          const tx = yield* transaction(kv);
          const r = tokensRange(db.prefix);
          tx.clearRange(r.begin, r.end);
          yield* wait(tx.commit());
        }
        const between = () => path.run(revokeTokens());
        const v0 = await head(db);
        const big = pagesOf(1, BIG, 3000);
        // Revoked once, right after the first upload transaction (commit 1 opened the token): the commit
        // starts over and goes through.
        const onceKv = scriptedKv(kv, (n) => (n === 2 ? { between } : undefined));
        const v1 = await commit({ ...db, kv: onceKv }, { snapshot: v0, pages: big });
        expect(onceKv.commits).toBeGreaterThan(await kvCommitsOf(big)); // it did start over
        expect((await log(db)).map((c) => c.version)).toEqual([v1]);

        // Revoked after every kv commit: a clear error and nothing visible.
        const before = await head(db);
        const stubborn = { ...db, kv: scriptedKv(kv, () => ({ between })) };
        await expect(commit(stubborn, { snapshot: before, pages: big })).rejects.toThrow(CommitInterruptedError);
        expect(await head(db)).toBe(before);
        expect((await log(db)).map((c) => c.version)).toEqual([v1]);
      });

      it('a failed commit never changes what any version reads', async () => {
        const v0 = await commit(db, { snapshot: await head(db), pages: pagesOf(1, 3, 1) });
        const before = await readPages(db, [1, 2, 3, 4], v0);
        const { db: faultyDb } = faultyAt(1, 'crash');
        await expect(commit(faultyDb, { snapshot: v0, pages: pagesOf(1, 4, 50) })).rejects.toThrow(Crash);
        expect(await readPages(db, [1, 2, 3, 4], v0)).toEqual(before);
        expect(await head(db)).toBe(v0);
      });
    });
  }
}

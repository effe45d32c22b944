/**
 * GC against commits and readers in flight:
 * - scripted: GC running between the phases of a two-phase commit deletes its uploaded content and revokes
 *   its token, so the commit starts over (never publishes pages whose content is gone); a commit that lands
 *   during GC's content step and re-uses content GC thought unreferenced keeps it (GC catches up with the
 *   commits since its scan before deleting);
 * - random: writers (small and two-phase commits), readers at old versions and GC loops run at once through
 *   kv fault injection. Every read either matches the model or fails with VersionTooOldError (below a
 *   watermark that moved), never with missing content; every commit either lands whole or fails cleanly;
 *   afterwards every version at or above the watermark reads as the model says and a quiet GC leaves
 *   exactly the newest version at or below the watermark, the newer ones and their contents.
 */

import { describe, expect, it } from 'vitest';
import { withFaults } from '../../src/kv/index.ts';
import type { Kv } from '../../src/kv/types.ts';
import {
  collectGarbage,
  commitPages,
  CommitInterruptedError,
  ConflictError,
  createDatabase,
  databaseInfo,
  head,
  INLINE_CONTENT_BYTES,
  readPages,
  VersionTooOldError,
  type Version,
} from '../../src/engine/index.ts';
import { backends, pageOf, scriptedKv, twoPhaseSpy } from '../engine/helpers.ts';
import { storedCounts } from './helpers.ts';

const P = 4096;
/** Pages of a commit too large to be inline: it commits in two phases. */
const BIG = Math.ceil(INLINE_CONTENT_BYTES / P) + 8;
const pagesOf = (from: number, to: number, seed: number) =>
  new Map(Array.from({ length: to - from + 1 }, (_, i) => [from + i, pageOf(P, seed + i)] as [number, Uint8Array]));

for (const backend of backends) {
  describe(`GC racing commits and readers (${backend.name})`, () => {
    it('a commit that landed but was reported unknown, with GC past its snapshot before the retry: the landed version, not VersionTooOld', async () => {
      const store = await backend.open();
      try {
        const db = await createDatabase(store.kv, 'landed', { retentionMs: 0 });
        const v0 = await commitPages(db, { snapshot: await head(db), pages: pagesOf(1, 2, 1) });
        // The commit lands and reports 1021; GC then moves the watermark to it, above the commit's snapshot v0.
        const scripted = scriptedKv(store.kv, (n) =>
          n === 1
            ? { fault: 'unknownCommitted', between: async () => void (await collectGarbage(db, { contentGraceMs: 0 })) }
            : undefined,
        );
        const v1 = await commitPages({ ...db, kv: scripted }, { snapshot: v0, pages: pagesOf(1, 2, 50) });
        expect(v1).toBe(await head(db));
        expect(v1 > v0).toBe(true);
        expect(await readPages(db, [1, 2], v1)).toEqual([pageOf(P, 50), pageOf(P, 51)]);
      } finally {
        await store.close();
      }
    });

    it('GC between the phases of a two-phase commit: content deleted, token revoked, the commit starts over', async () => {
      const store = await backend.open();
      try {
        const db = await createDatabase(store.kv, 'two-phase', { retentionMs: 0 });
        const v0 = await commitPages(db, { snapshot: await head(db), pages: pagesOf(1, 2, 1) });
        const big = pagesOf(1, BIG, 1000);
        let report: Awaited<ReturnType<typeof collectGarbage>> | undefined;
        // Commit 1 opened the token with the first chunk of content; GC runs before the rest is uploaded.
        const scripted = scriptedKv(store.kv, (n) =>
          n === 1 ? { between: async () => void (report = await collectGarbage(db, { contentGraceMs: 0 })) } : undefined,
        );
        const v1 = await commitPages({ ...db, kv: scripted }, { snapshot: v0, pages: big });
        // GC did delete the uploaded (then unreferenced) content, so the commit had to start over: twice
        // the kv commits of the same commit undisturbed.
        const other = await createDatabase(store.kv, 'undisturbed');
        const counting = scriptedKv(store.kv, () => undefined);
        await commitPages({ ...other, kv: counting }, { snapshot: await head(other), pages: big });
        expect(report!.contents).toBeGreaterThan(0);
        expect(scripted.commits).toBe(2 * counting.commits);
        const sample = [1, 2, 100, BIG];
        expect(await readPages(db, sample, v1)).toEqual(sample.map((p) => big.get(p)));
        expect(await readPages(db, [1, 2], v0)).toEqual([pageOf(P, 1), pageOf(P, 2)]);
      } finally {
        await store.close();
      }
    });

    it('a commit re-using content GC found unreferenced, landing during the content step, keeps it', async () => {
      const store = await backend.open();
      try {
        const db = await createDatabase(store.kv, 'reuse', { retentionMs: 0 });
        const a = pageOf(P, 7);
        await commitPages(db, { snapshot: await head(db), pages: new Map([[1, a]]) });
        await commitPages(db, { snapshot: await head(db), pages: new Map([[1, pageOf(P, 8)]]) });
        // GC's kv commits: 1 watermark, 2 the page-index batch (drops page 1's first version, so content
        // `a` is unreferenced); then page 2 = `a` is committed before the content step deletes anything.
        let reused: Version | undefined;
        const scripted = scriptedKv(store.kv, (n) =>
          n === 2
            ? { between: async () => void (reused = await commitPages(db, { snapshot: await head(db), pages: new Map([[2, a]]) })) }
            : undefined,
        );
        const report = await collectGarbage({ ...db, kv: scripted }, { contentGraceMs: 0 });
        expect(report.pageVersions).toBe(1);
        expect(reused).toBeDefined();
        expect(await readPages(db, [1, 2], reused!)).toEqual([pageOf(P, 8), a]);
        expect(await storedCounts(db)).toEqual({ pageVersions: 2, contents: 2 });
      } finally {
        await store.close();
      }
    });

    it('writers, readers and GC at once, through kv faults: reads exact or VersionTooOld, commits whole or cleanly failed', async () => {
      const store = await backend.open();
      try {
        const kv: Kv = withFaults(store.kv, { seed: 7, notCommitted: 0.05, tooOld: 0.02, unknownCommitted: 0.04, unknownNotCommitted: 0.04 });
        const db = await createDatabase(kv, 'race', { retentionMs: 0 });
        const writers = twoPhaseSpy(kv, db.prefix);
        const commits: { version: Version; writes: Map<number, Uint8Array> }[] = [];
        const stateAt = (v: Version) => {
          const state = new Map<number, Uint8Array>();
          for (const c of [...commits].sort((x, y) => (x.version < y.version ? -1 : 1))) {
            if (c.version <= v) for (const [p, bytes] of c.writes) state.set(p, bytes);
          }
          return state;
        };
        const MAX_PAGE = BIG + 4;
        const outcomes = { committed: 0, interrupted: 0, tooOld: 0, reads: 0, readsTooOld: 0, gcs: 0 };
        let seed = 10_000;
        let running = true;
        // Commits in flight. One can land below a version already in `commits` and still be settling (a
        // maybe-committed attempt backs off before it learns it landed): a reader waits for the commits in
        // flight when it read before it compares, so the model then holds every commit at or below its version.
        const inFlight = new Set<Promise<Version>>();
        // The loops below yield to timers each round: on the memory store every kv call is a microtask,
        // and a loop that never yields would starve the writers' retry backoff.
        const yieldToTimers = () => new Promise((r) => setImmediate(r));

        const writer = async (id: number, rounds: number) => {
          for (let r = 0; r < rounds; r++) {
            const big = (r + id) % 3 === 0;
            const from = big ? 1 : 1 + ((r * 7 + id) % MAX_PAGE);
            // Seeds (so contents) never repeat: a page's content is stored once per database.
            seed += 1000;
            const writes = big ? pagesOf(1, BIG, seed) : pagesOf(from, Math.min(MAX_PAGE, from + 2), seed);
            for (;;) {
              try {
                const attempt = commitPages({ ...db, kv: writers }, { snapshot: await head(db), pages: writes });
                inFlight.add(attempt);
                const version = await attempt.finally(() => inFlight.delete(attempt));
                commits.push({ version, writes });
                outcomes.committed++;
                break;
              } catch (err) {
                if (err instanceof ConflictError) continue;
                if (err instanceof CommitInterruptedError) outcomes.interrupted++;
                else if (err instanceof VersionTooOldError) outcomes.tooOld++;
                else throw err;
                break;
              }
            }
          }
        };
        const reader = async () => {
          const sample = [1, 2, BIG, MAX_PAGE];
          while (running) {
            await yieldToTimers();
            if (commits.length === 0) continue;
            // Mostly one of the newest commits (GC keeps moving the watermark up to the head).
            const back = Math.floor(Math.random() * Math.min(commits.length, Math.random() < 0.8 ? 3 : commits.length));
            const { version } = commits[commits.length - 1 - back]!;
            const settling = [...inFlight];
            try {
              const got = await readPages(db, sample, version);
              await Promise.allSettled(settling);
              const expected = stateAt(version);
              expect(got).toEqual(sample.map((p) => expected.get(p)));
              outcomes.reads++;
            } catch (err) {
              if (!(err instanceof VersionTooOldError)) throw err;
              expect(err.truncatedBefore > version).toBe(true);
              outcomes.readsTooOld++;
            }
          }
        };
        const gc = async () => {
          while (running) {
            await yieldToTimers();
            await collectGarbage(db, { contentGraceMs: 0 });
            outcomes.gcs++;
          }
        };
        const work = Promise.all([writer(1, 12), writer(2, 12)]).finally(() => (running = false));
        await Promise.all([work, reader(), reader(), gc()]);

        expect(outcomes.committed).toBeGreaterThan(0);
        expect(writers.tokens).toBeGreaterThan(0); // the big writes did commit in two phases
        expect(outcomes.gcs).toBeGreaterThan(0);
        expect(outcomes.reads).toBeGreaterThan(0);
        // Quiet now: GC to the head and compare what stays with the model.
        await collectGarbage(db, { contentGraceMs: 0 });
        const { truncatedBefore } = await databaseInfo(db);
        expect(truncatedBefore).toBe(await head(db));
        const all = Array.from({ length: MAX_PAGE }, (_, i) => i + 1);
        const last = stateAt(truncatedBefore);
        expect(await readPages(db, all, truncatedBefore)).toEqual(all.map((p) => last.get(p)));
        expect(await storedCounts(db)).toEqual({ pageVersions: last.size, contents: last.size });
      } finally {
        await store.close();
      }
    });
  });
}

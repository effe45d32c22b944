/**
 * The engine's operations are written once as steps and run synchronously (runSync, on the embedded stores'
 * synchronous transactions) or asynchronously (runAsync). Differential and model-based: one random sequence
 * of snapshots, reads, commits (page- and database-level conflict checks, stale snapshots, two-phase
 * commits), reads at past versions, head, changes and head checks goes to three stores of one backend: one
 * driven only by runSync, one only by runAsync, one switching runner at every step (sync and async
 * transactions on one store). Each store's answers must match a plain model, and the three logs of answers
 * (versions as their position in the store's history, which is all that may differ) must be equal. Also
 * with kv faults injected (retried commits, maybe-committed results), at different points on each store.
 */

import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConflictError,
  INLINE_CONTENT_BYTES,
  MAX_CHANGED_COMMITS,
  MAX_CHANGED_PAGES,
  changesSteps,
  commitPagesSteps,
  headAndChangesSteps,
  headSteps,
  openDatabaseSteps,
  openDatabaseSync,
  readPagesSteps,
  runAsync,
  runSync,
  SyncUnavailableError,
  type DatabaseRef,
  type Steps,
  type Version,
} from '../../src/engine/index.ts';
import { withFaults } from '../../src/kv/index.ts';
import type { Kv } from '../../src/kv/types.ts';
import { pageOf, syncBackends, twoPhaseSpy } from './helpers.ts';

const CLIENTS = 2;
const BIG_PAGE_SIZE = 65536;
/** Enough pages that writing all of them at the big page size is a two-phase commit. */
const MAX_PAGE = Math.floor(INLINE_CONTENT_BYTES / BIG_PAGE_SIZE) + 4;
const ALL_PAGES = Array.from({ length: MAX_PAGE }, (_, i) => i + 1);

type Op =
  | { op: 'begin'; client: number }
  | { op: 'rewind'; client: number; pick: number }
  | { op: 'read'; client: number; pages: number[] }
  | { op: 'write'; client: number; pages: number[] }
  | { op: 'commit'; client: number; readSet: boolean }
  | { op: 'readPast'; pick: number; pages: number[] }
  | { op: 'changes'; from: number; to: number }
  | { op: 'check'; client: number };

const client = fc.integer({ min: 0, max: CLIENTS - 1 });
/** Mostly the first few pages, so that clients often touch the same ones (conflicts). */
const somePages = fc.uniqueArray(fc.oneof({ arbitrary: fc.integer({ min: 1, max: 4 }), weight: 3 }, fc.integer({ min: 1, max: MAX_PAGE })), {
  minLength: 1,
  maxLength: 4,
});
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('begin' as const), client }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('rewind' as const), client, pick: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('read' as const), client, pages: somePages }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('write' as const), client, pages: somePages }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('write' as const), client, pages: fc.constant(ALL_PAGES) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('commit' as const), client, readSet: fc.boolean() }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('readPast' as const), pick: fc.nat(), pages: somePages }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('changes' as const), from: fc.nat(), to: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('check' as const), client }), weight: 2 },
);
/** An operation and, for the store that switches runners, whether it runs synchronously. */
interface Step {
  op: Op;
  sync: boolean;
}
const step: fc.Arbitrary<Step> = fc.record({ op, sync: fc.boolean() });

/** Examples that always reach each path: a page conflict, a database conflict, a two-phase commit. */
const seq = (...ops: Op[]): Step[] => ops.map((o, i) => ({ op: o, sync: i % 2 === 0 }));
const SURE_PAGE_CONFLICT = seq(
  { op: 'read', client: 0, pages: [1] },
  { op: 'read', client: 1, pages: [1] },
  { op: 'write', client: 0, pages: [1] },
  { op: 'write', client: 1, pages: [1, 2] },
  { op: 'commit', client: 0, readSet: true },
  { op: 'commit', client: 1, readSet: true },
);
const SURE_DATABASE_CONFLICT = seq(
  { op: 'begin', client: 1 },
  { op: 'write', client: 0, pages: [3] },
  { op: 'commit', client: 0, readSet: true },
  { op: 'write', client: 1, pages: [4] },
  { op: 'commit', client: 1, readSet: false },
);
const SURE_TWO_PHASE = seq(
  { op: 'write', client: 0, pages: ALL_PAGES },
  { op: 'commit', client: 0, readSet: true },
  { op: 'changes', from: 0, to: 1 },
  { op: 'readPast', pick: 1, pages: ALL_PAGES },
);

const digest = (page: Uint8Array | undefined) => page && createHash('sha1').update(page).digest('hex').slice(0, 12);

/** The history the model keeps: version -> the pages that commit wrote (page -> seed). */
class Model {
  readonly versions: Version[];
  readonly writes: Map<number, number>[] = [new Map()];
  constructor(created: Version) {
    this.versions = [created];
  }
  get head(): number {
    return this.versions.length - 1;
  }
  indexOf(version: Version): number {
    const i = this.versions.indexOf(version);
    expect(i, `version ${version} is one of the store's commits`).toBeGreaterThanOrEqual(0);
    return i;
  }
  /** Seeds of `pages` as of version index `at`. */
  stateAt(at: number, pages: number[]): (number | undefined)[] {
    return pages.map((p) => {
      for (let i = at; i > 0; i--) if (this.writes[i]!.has(p)) return this.writes[i]!.get(p);
      return undefined;
    });
  }
  /** Indexes of the commits in (from, to]. */
  between(from: number, to: number): number[] {
    return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + 1 + i);
  }
  /** What `changes` answers for (from, to]. */
  changed(from: number, to: number): number[] | 'all' {
    const commits = this.between(from, to);
    if (commits.length > MAX_CHANGED_COMMITS) return 'all';
    const pages = new Set(commits.flatMap((i) => [...this.writes[i]!.keys()]));
    return pages.size > MAX_CHANGED_PAGES ? 'all' : [...pages].sort((a, b) => a - b);
  }
}

interface Client {
  /** Version index of the snapshot. */
  snapshot?: number;
  reads: Set<number>;
  writes: Map<number, number>;
  /** The last head check: its head (index) and kv read version. */
  checked?: { head: number; readVersion: bigint };
}

type Run = <T>(steps: Steps<T>) => Promise<T>;
const runners: Record<'sync' | 'async', Run> = { sync: async (s) => runSync(s), async: runAsync };

/**
 * Plays `ops` on `db` with the runner `runnerOf(step)` gives, checking every answer against a model; returns
 * the answers with versions as model indexes (what the three stores must agree on).
 */
async function play(db: DatabaseRef, ops: Step[], runnerOf: (s: Step) => Run): Promise<unknown[]> {
  const model = new Model(await runAsync(headSteps(db)));
  const clients: Client[] = Array.from({ length: CLIENTS }, () => ({ reads: new Set(), writes: new Map() }));
  const answers: unknown[] = [];
  let seed = 0;
  for (const s of ops) {
    const run = runnerOf(s);
    const o = s.op;
    const begin = async (c: Client) => (c.snapshot ??= model.indexOf(await run(headSteps(db))));
    /** Digests of `pages` read at a version index (or a version). */
    const readAt = async (at: number | Version, pages: number[]) =>
      (await run(readPagesSteps(db, pages, typeof at === 'number' ? model.versions[at]! : at))).map(digest);
    switch (o.op) {
      case 'begin': {
        const c = clients[o.client]!;
        c.snapshot = model.indexOf(await run(headSteps(db)));
        expect(c.snapshot).toBe(model.head);
        answers.push(['begin', c.snapshot]);
        break;
      }
      case 'rewind': {
        // A stale snapshot: the client goes on as if it had begun at an older version.
        const c = clients[o.client]!;
        c.snapshot = o.pick % model.versions.length;
        answers.push(['rewind', c.snapshot]);
        break;
      }
      case 'read': {
        const c = clients[o.client]!;
        const at = await begin(c);
        const got = await readAt(at, o.pages);
        expect(got, `pages ${o.pages.join(',')} at ${at}`).toEqual(expectedAt(model, db, at, o.pages));
        for (const p of o.pages) c.reads.add(p);
        answers.push(['read', got]);
        break;
      }
      case 'write': {
        const c = clients[o.client]!;
        await begin(c);
        for (const p of o.pages) c.writes.set(p, ++seed);
        break;
      }
      case 'commit': {
        const c = clients[o.client]!;
        const snapshot = await begin(c);
        const { reads, writes } = c;
        clients[o.client] = { reads: new Set(), writes: new Map(), ...(c.checked ? { checked: c.checked } : {}) };
        const request = {
          snapshot: model.versions[snapshot]!,
          pages: new Map([...writes].map(([p, seed]) => [p, pageOf(db.pageSize, seed)] as [number, Uint8Array])),
          ...(o.readSet ? { readSet: [...reads] } : {}),
        };
        // The model's verdict: stale reads (page level) or any commit since the snapshot (database level).
        const later = model.between(snapshot, model.head);
        const stale = o.readSet ? [...reads].filter((p) => later.some((i) => model.writes[i]!.has(p))).sort((a, b) => a - b) : [];
        const conflict = writes.size > 0 && (o.readSet ? stale.length > 0 : later.length > 0);
        const outcome = await run(commitPagesSteps(db, request)).then(
          (version) => ({ version }),
          (err: unknown) => {
            if (!(err instanceof ConflictError)) throw err;
            return { err };
          },
        );
        if ('version' in outcome) {
          expect(conflict, 'the commit should have conflicted').toBe(false);
          if (writes.size === 0) {
            expect(outcome.version).toBe(request.snapshot); // nothing to publish
          } else {
            expect(outcome.version > model.versions[model.head]!).toBe(true);
            model.versions.push(outcome.version);
            model.writes.push(writes);
          }
          answers.push(['commit', model.indexOf(outcome.version)]);
        } else {
          const { err } = outcome;
          expect(conflict, `unexpected conflict: ${err.message}`).toBe(true);
          const winning = o.readSet ? Math.max(...later.filter((i) => stale.some((p) => model.writes[i]!.has(p)))) : model.head;
          const changed = model.changed(snapshot, model.head);
          expect(err).toMatchObject({
            kind: o.readSet ? 'page' : 'database',
            pages: o.readSet ? stale : changed === 'all' ? [] : changed,
            winningVersion: model.versions[winning],
            snapshot: request.snapshot,
          });
          answers.push(['conflict', err.kind, err.pages, winning]);
        }
        break;
      }
      case 'readPast': {
        const at = o.pick % model.versions.length;
        const got = await readAt(at, o.pages);
        expect(got, `pages ${o.pages.join(',')} at ${at}`).toEqual(expectedAt(model, db, at, o.pages));
        // Just below that version (its commit version, batch order 0): the state before that commit.
        const v = model.versions[at]!;
        const below = v.slice(0, 16) + '0000';
        if (at > 0 && below !== v) expect(await readAt(below, o.pages)).toEqual(expectedAt(model, db, at - 1, o.pages));
        answers.push(['readPast', at, got]);
        break;
      }
      case 'changes': {
        const [from, to] = [o.from % model.versions.length, o.to % model.versions.length].sort((a, b) => a - b) as [number, number];
        const got = await run(changesSteps(db, model.versions[from]!, model.versions[to]!));
        expect(got, `changes in (${from}, ${to}]`).toEqual(model.changed(from, to));
        answers.push(['changes', from, to, got]);
        break;
      }
      case 'check': {
        // A connection's head check: since its last one (and the kv read version of that one), when it had one.
        const c = clients[o.client]!;
        const since = c.checked;
        const check = await run(
          since === undefined ? headAndChangesSteps(db) : headAndChangesSteps(db, model.versions[since.head], since.readVersion),
        );
        const head = model.indexOf(check.head);
        expect(head).toBe(model.head);
        expect(check.changed).toEqual(since === undefined ? [] : model.changed(since.head, head));
        c.checked = { head, readVersion: check.readVersion };
        answers.push(['check', head, check.changed]);
        break;
      }
    }
  }
  // Finally every page at every version, through both runners, and the head.
  for (let at = 0; at <= model.head; at++) {
    const version = model.versions[at]!;
    // Compared by digest: toEqual on 64 KiB arrays is slow.
    const sync = runSync(readPagesSteps(db, ALL_PAGES, version)).map(digest);
    expect((await runAsync(readPagesSteps(db, ALL_PAGES, version))).map(digest)).toEqual(sync);
    expect(sync, `every page at ${at}`).toEqual(expectedAt(model, db, at, ALL_PAGES));
  }
  expect(model.indexOf(runSync(headSteps(db)))).toBe(model.head);
  return answers;
}

/** Digests of `pages` as of version index `at`, as the model has them. */
function expectedAt(model: Model, db: DatabaseRef, at: number, pages: number[]) {
  return model.stateAt(at, pages).map((seed) => (seed === undefined ? undefined : digest(pageOf(db.pageSize, seed))));
}

const variants = syncBackends.flatMap((backend) => [
  { backend, faults: false },
  { backend, faults: true },
]);

for (const { backend, faults } of variants) {
  describe(`operations run synchronously and asynchronously agree (${backend.name}${faults ? ', with kv faults' : ''})`, () => {
    /** The three stores, each seen through its own fault injection when `faults`. */
    let kvs: Kv[];
    let injected: () => number = () => 0;
    let closes: (() => Promise<void>)[];
    beforeAll(async () => {
      const opened = await Promise.all([backend.open(), backend.open(), backend.open()]);
      closes = opened.map((o) => o.close);
      kvs = opened.map((o) => o.kv);
      if (faults) {
        // Commits fail (and are retried) at different points on each store: the answers must not change.
        const faulty = kvs.map((kv, i) =>
          withFaults(kv, { seed: 7 + i, notCommitted: 0.1, tooOld: 0.05, unknownCommitted: 0.1, unknownNotCommitted: 0.1 }),
        );
        kvs = faulty;
        injected = () => faulty.reduce((n, f) => n + Object.values(f.injected).reduce((a, b) => a + b, 0), 0);
      }
    });
    afterAll(() => Promise.all(closes.map((c) => c())));

    it('has synchronous transactions', () => {
      for (const kv of kvs) expect(typeof kv.createTransactionSync).toBe('function');
    });

    it('refuses a synchronous open on a store without synchronous transactions, creating nothing', async () => {
      const asyncOnly: Kv = { ...kvs[0]!, createTransactionSync: undefined };
      expect(() => openDatabaseSync(asyncOnly, 'nowhere', { create: true })).toThrow(SyncUnavailableError);
      await expect(runAsync(openDatabaseSteps(kvs[0]!, 'nowhere'))).rejects.toMatchObject({ code: 'DATABASE_NOT_FOUND' });
    });

    it('gives the same answers through runSync, runAsync and both, and each matches the model', async () => {
      let run = 0;
      let commits = 0;
      let conflicts = 0;
      let tokens = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 4, maxLength: 30, size: 'max' }), fc.constantFrom(4096, BIG_PAGE_SIZE), async (ops, pageSize) => {
          const name = `run${run++}`;
          const open = (kv: Kv, sync: boolean) => {
            const steps = openDatabaseSteps(kv, name, { create: true, pageSize });
            return sync ? runSync(steps) : runAsync(steps);
          };
          const [syncDb, asyncDb, mixedDb] = [await open(kvs[0]!, true), await open(kvs[1]!, false), await open(kvs[2]!, ops[0]?.sync ?? true)];
          // Opening again (without create) finds the same database, through either runner.
          expect(openDatabaseSync(kvs[1]!, name).id).toEqual(asyncDb.id);
          expect((await runAsync(openDatabaseSteps(kvs[0]!, name))).id).toEqual(syncDb.id);
          const spies = [syncDb, asyncDb, mixedDb].map((db) => twoPhaseSpy(db.kv, db.prefix));
          const logs = [
            await play({ ...syncDb, kv: spies[0]! }, ops, () => runners.sync),
            await play({ ...asyncDb, kv: spies[1]! }, ops, () => runners.async),
            await play({ ...mixedDb, kv: spies[2]! }, ops, (s) => (s.sync ? runners.sync : runners.async)),
          ];
          expect(logs[1]).toEqual(logs[0]);
          expect(logs[2]).toEqual(logs[0]);
          commits += logs[0]!.filter((a) => (a as unknown[])[0] === 'commit').length;
          conflicts += logs[0]!.filter((a) => (a as unknown[])[0] === 'conflict').length;
          tokens += Math.min(...spies.map((s) => s.tokens));
        }),
        {
          numRuns: backend.name === 'memory' ? 80 : 30,
          examples: [
            [SURE_PAGE_CONFLICT, 4096],
            [SURE_DATABASE_CONFLICT, 4096],
            [SURE_TWO_PHASE, BIG_PAGE_SIZE],
          ],
        },
      );
      // Both outcomes and both commit paths were taken, on every store (the examples make sure of it).
      expect(commits).toBeGreaterThan(0);
      expect(conflicts).toBeGreaterThan(0);
      expect(tokens).toBeGreaterThan(0);
      if (faults) expect(injected()).toBeGreaterThan(0);
    });
  });
}

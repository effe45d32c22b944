/**
 * Synchronous transactions on the lmdb store: the conformance suite through them, mixed with
 * asynchronous transactions, and LmdbStorage.commitSync beside the asynchronous group commit of
 * the same process (commits still queued, groups lmdb-js is still committing).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { keyAfter } from '../../src/kv/bytes.ts';
import { errorCode } from '../../src/kv/errors.ts';
import { LmdbStorage, openLmdbKv } from '../../src/kv/lmdb.ts';
import type { CommitRequest, Committed, KeyRange, Mutation } from '../../src/kv/storage.ts';
import type { Bytes } from '../../src/kv/types.ts';
import { describeKvConformance } from './conformance.ts';
import { describeSyncAlongsideAsync } from './sync-alongside.ts';
import { syncBacked } from './sync-adapter.ts';

// See sync-memory.test.ts: one conformance test interleaves 20 synchronous transactions in this thread.
vi.setConfig({ testTimeout: 30_000 });

const root = mkdtempSync(join(tmpdir(), 'mvdb-lmdb-sync-test-'));
let dirs = 0;
const freshDir = () => join(root, `store-${dirs++}`);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describeKvConformance('lmdb, synchronous transactions', async () => {
  const kv = await openLmdbKv(freshDir());
  return { kv: syncBacked(kv), close: () => kv.close() };
});

describeSyncAlongsideAsync('lmdb', async () => {
  const kv = await openLmdbKv(freshDir());
  return { kv, close: () => kv.close() };
});

const b = (text: string) => Buffer.from(text, 'latin1');
const text = (bytes: Bytes | undefined) => (bytes === undefined ? undefined : Buffer.from(bytes).toString('latin1'));
const one = (key: string): KeyRange => ({ begin: b(key), end: keyAfter(b(key)) });
const set = (key: string, value: string): Mutation => ({ type: 'set', key: b(key), value: b(value) });

function request(readVersion: bigint, sets: Mutation[], reads: string[] = []): CommitRequest {
  const writeConflicts = sets.map((m) => one(text((m as { key: Bytes }).key)!));
  return { readVersion, readConflicts: reads.map(one), writeConflicts, mutations: sets };
}

/** The commit's result, or its error code. */
function commitSyncOutcome(storage: LmdbStorage, req: CommitRequest): Committed | number {
  try {
    return storage.commitSync(req);
  } catch (err) {
    const code = errorCode(err);
    if (code === undefined) throw err;
    return code;
  }
}

async function withStorage(fn: (storage: LmdbStorage) => Promise<void>): Promise<void> {
  const storage = new LmdbStorage(freshDir());
  try {
    await fn(storage);
  } finally {
    await storage.close();
  }
}

function read(storage: LmdbStorage, key: string): string | undefined {
  const snap = storage.snapshot();
  try {
    return text(snap.get(b(key)));
  } finally {
    snap.release();
  }
}

describe('LmdbStorage.commitSync beside the asynchronous group commit', () => {
  it('commits still queued in this process commit first, in its transaction: all land, versions in request order', () =>
    withStorage(async (storage) => {
      const v0 = storage.commitSync(request(0n, [set('n', '0')])).version;
      const queued = [storage.commit(request(v0, [set('a', '1')])), storage.commit(request(v0, [set('b', '1')]))];
      expect(storage.inFlight.queued).toBe(2);
      const own = storage.commitSync(request(v0, [set('c', '1')]));
      expect(storage.inFlight.queued).toBe(0);
      const [a, bb] = await Promise.all(queued);
      expect(a!.version).toBeGreaterThan(v0);
      expect(bb!.previousVersion).toBe(a!.version);
      expect(own.previousVersion).toBe(bb!.version);
      expect(['a', 'b', 'c'].map((k) => read(storage, k))).toEqual(['1', '1', '1']);
    }));

  it('conflicts between a queued commit and a synchronous one are found; a failed one writes nothing', () =>
    withStorage(async (storage) => {
      const v0 = storage.commitSync(request(0n, [set('k', '0')])).version;
      // Queued first, so it commits first: the synchronous commit read 'k' at v0 and conflicts.
      const queued = storage.commit(request(v0, [set('k', 'async')]));
      expect(commitSyncOutcome(storage, request(v0, [set('mine', 'sync')], ['k']))).toBe(1020);
      await queued;
      expect(read(storage, 'mine')).toBeUndefined();
      // The other way round: a queued commit that read 'k' at v0 conflicts with the commit just made.
      const v1 = storage.commitSync(request(v0, [set('other', 'x')])).version;
      const stale = storage.commit(request(v0, [set('theirs', 'async')], ['k']));
      const fresh = storage.commit(request(v1, [set('fresh', 'async')], ['k']));
      storage.commitSync(request(v1, [set('z', '1')]));
      expect(await stale.then(() => undefined, errorCode)).toBe(1020);
      await fresh;
      expect(read(storage, 'theirs')).toBeUndefined();
      expect(read(storage, 'fresh')).toBe('async');
    }));

  it('a synchronous commit while a group is with lmdb-js: both land in some order, conflicts found either way', () =>
    withStorage(async (storage) => {
      // The group's commits read 's' and write g<i>; the synchronous one reads g0 and writes 's'. Whichever
      // lands first, the other read something it wrote after their common read version: exactly one side wins.
      const waits = [
        () => new Promise<void>((resolve) => setImmediate(resolve)),
        () => new Promise<void>((resolve) => setTimeout(resolve, 0)),
        () => new Promise<void>((resolve) => setTimeout(resolve, 1)),
        () => new Promise<void>((resolve) => setTimeout(resolve, 3)),
      ];
      let groupsInFlight = 0;
      for (let round = 0; round < 12; round++) {
        const v0 = storage.commitSync(request(0n, [set('round', String(round))])).version;
        const group = [0, 1].map((i) => storage.commit(request(v0, [set(`g${i}`, `r${round}`)], ['s'])));
        await waits[round % waits.length]!();
        if (storage.inFlight.groups > 0) groupsInFlight++;
        const own = commitSyncOutcome(storage, request(v0, [set('s', `r${round}`)], ['g0']));
        const results = await Promise.allSettled(group);
        const groupWon = results.map((r) => r.status === 'fulfilled');
        for (const r of results) if (r.status === 'rejected') expect(errorCode(r.reason)).toBe(1020);
        if (typeof own === 'number') {
          expect(own).toBe(1020);
          expect(groupWon).toEqual([true, true]);
          expect(read(storage, 's')).not.toBe(`r${round}`);
          expect(read(storage, 'g0')).toBe(`r${round}`);
        } else {
          expect(groupWon).toEqual([false, false]);
          expect(read(storage, 's')).toBe(`r${round}`);
          expect(read(storage, 'g0')).not.toBe(`r${round}`);
          expect(own.version).toBeGreaterThan(v0);
        }
      }
      // The rounds did overlap a group lmdb-js had not finished (what this test is about).
      expect(groupsInFlight).toBeGreaterThan(0);
    }));

  it('durable commits interleave: sync and async commits of one storage all land with distinct increasing versions', () =>
    withStorage(async (storage) => {
      const pending: Promise<Committed>[] = [];
      const sync: Committed[] = [];
      for (let i = 0; i < 30; i++) {
        pending.push(storage.commit(request(0n, [set(`a${i}`, 'x')])), storage.commit(request(0n, [set(`b${i}`, 'x')])));
        if (i % 3 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
        sync.push(storage.commitSync(request(0n, [set(`s${i}`, 'x')])));
      }
      const versions = [...(await Promise.all(pending)), ...sync].map((c) => c.version);
      expect(new Set(versions).size).toBe(versions.length);
      const snap = storage.snapshot();
      expect(snap.getRange(b('a'), b('t'))).toHaveLength(90);
      expect(snap.version).toBe(versions.reduce((max, v) => (v > max ? v : max), 0n));
      snap.release();
    }));

  it('after LMDB itself fails to commit, a commit whose body ran reports 1021; one that failed its check keeps its error', () =>
    withStorage(async (storage) => {
      const v0 = storage.commitSync(request(0n, [set('k', '0')])).version;
      const env = storage.store.env;
      const original = env.transactionSync;
      let depth = 0;
      // The outermost write transaction commits, then reports a failure (as an I/O error while syncing would).
      env.transactionSync = function <T>(this: typeof env, action: () => T, flags?: number): T {
        depth++;
        try {
          const result = original.call(this, action, flags as never) as T;
          if (depth === 1) throw new Error('injected: the sync failed');
          return result;
        } finally {
          depth--;
        }
      } as typeof env.transactionSync;
      try {
        expect(commitSyncOutcome(storage, request(v0, [set('lone', '1')]))).toBe(1021);
        const queuedOk = storage.commit(request(0n, [set('q', '1')]));
        const queuedStale = storage.commit(request(v0, [set('q2', '1')], ['k', 'lone']));
        expect(commitSyncOutcome(storage, request(0n, [set('own', '1')]))).toBe(1021);
        expect(await queuedOk.then(() => undefined, errorCode)).toBe(1021);
        expect(await queuedStale.then(() => undefined, errorCode)).toBe(1020);
      } finally {
        env.transactionSync = original;
      }
    }));

  it('refuses a key over the limit with 2102 and a closed storage with 2132, writing nothing', async () => {
    const storage = new LmdbStorage(freshDir());
    const long = 'k'.repeat(storage.maxKeyBytes + 1);
    expect(commitSyncOutcome(storage, request(0n, [set('ok', '1'), set(long, '1')]))).toBe(2102);
    expect(read(storage, 'ok')).toBeUndefined();
    await storage.close();
    expect(commitSyncOutcome(storage, request(0n, [set('ok', '1')]))).toBe(2132);
  });
});

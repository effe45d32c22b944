/**
 * The lmdb backend: LmdbStorage against the Storage port directly (snapshots,
 * the resolver and its conflict log, versions, range mapping, key limit,
 * directory checks, reopen), then the Kv it makes.
 */

import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { open } from 'lmdb';
import { afterAll, describe, expect, it } from 'vitest';
import { compareBytes, keyAfter, readU64be, versionstamp } from '../../src/kv/bytes.ts';
import { errorCode } from '../../src/kv/errors.ts';
import { LmdbStorage, openLmdbKv } from '../../src/kv/lmdb.ts';
import type { CommitRequest, KeyRange, Mutation } from '../../src/kv/storage.ts';
import type { Bytes, KeyValue } from '../../src/kv/types.ts';
import { describeKvConformance } from './conformance.ts';

const root = mkdtempSync(join(tmpdir(), 'mvdb-lmdb-test-'));
let dirs = 0;
const freshDir = () => join(root, `store-${dirs++}`);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describeKvConformance('lmdb', async () => {
  const kv = await openLmdbKv(freshDir());
  return { kv, close: () => kv.close() };
});

const b = (text: string) => Buffer.from(text, 'latin1');
const hex = (bytes: Bytes) => Buffer.from(bytes).toString('hex');
const rows = (kvs: KeyValue[]) => kvs.map(([k, v]) => [hex(k), hex(v)]);
const one = (key: Bytes): KeyRange => ({ begin: key, end: keyAfter(key) });

function request(readVersion: bigint, mutations: Mutation[], readConflicts: KeyRange[] = []): CommitRequest {
  const writeConflicts = mutations.flatMap((m): KeyRange[] =>
    m.type === 'set' || m.type === 'setVersionstampedValue'
      ? [one(m.key)]
      : m.type === 'clearRange'
        ? [{ begin: m.begin, end: m.end }]
        : [],
  );
  return { readVersion, readConflicts, writeConflicts, mutations };
}

const set = (key: string, value: string): Mutation => ({ type: 'set', key: b(key), value: b(value) });

function withStorage(fn: (storage: LmdbStorage, dir: string) => Promise<void>, now?: () => number) {
  return async () => {
    const dir = freshDir();
    const storage = new LmdbStorage(dir, { now });
    try {
      await fn(storage, dir);
    } finally {
      await storage.close();
    }
  };
}

function currentVersion(storage: LmdbStorage): bigint {
  const snap = storage.snapshot();
  snap.release();
  return snap.version;
}

async function expectCode(promise: Promise<unknown>, code: number): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected error ${code}`).toBeDefined();
  expect(errorCode(err)).toBe(code);
}

describe('LmdbStorage: snapshots and commits', () => {
  it(
    'a pinned snapshot keeps its view while later commits are visible to new snapshots',
    withStorage(async (storage) => {
      const empty = storage.snapshot();
      expect(empty.version).toBe(0n);
      const { version } = await storage.commit(request(0n, [set('a', '1'), set('b', '2')]));
      expect(version).toBeGreaterThan(0n);

      const first = storage.snapshot();
      expect(first.version).toBe(version);
      await storage.commit(request(version, [set('a', 'changed'), { type: 'clearRange', begin: b('b'), end: b('c') }]));
      // lmdb-js resets its shared read transaction on a timer: pinned snapshots must not follow it.
      await new Promise((resolve) => setTimeout(resolve, 5));

      expect(empty.get(b('a'))).toBeUndefined();
      expect(rows(first.getRange(b(''), b('z')))).toEqual([
        [hex(b('a')), hex(b('1'))],
        [hex(b('b')), hex(b('2'))],
      ]);
      const second = storage.snapshot();
      expect(second.version).toBeGreaterThan(first.version);
      expect(Buffer.from(second.get(b('a'))!).toString()).toBe('changed');
      expect(second.get(b('b'))).toBeUndefined();
      for (const s of [empty, first, second]) s.release();
      expect(() => first.get(b('a'))).toThrow(/released snapshot/);
    }),
  );

  it(
    'the empty key and keys with 0x00 and 0xff bytes are stored and ordered bytewise',
    withStorage(async (storage) => {
      const keys = [b(''), b('\x00'), b('\x00\x00'), b('\x00\xff'), b('\x01'), b('\xff'), b('\xff\xff')];
      await storage.commit(request(0n, keys.map((key, i) => ({ type: 'set', key, value: b(`v${i}`) }))));
      const snap = storage.snapshot();
      expect(snap.getRange(b(''), b('\xff\xff\xff')).map(([k]) => hex(k))).toEqual(keys.map(hex));
      expect(Buffer.from(snap.get(b(''))!).toString()).toBe('v0');
      snap.release();
    }),
  );

  it(
    'commit versions follow the clock at 1e6 per second and never go backwards',
    async () => {
      let clock = 5_000;
      const dir = freshDir();
      const storage = new LmdbStorage(dir, { now: () => clock });
      expect((await storage.commit(request(0n, [set('k', '1')]))).version).toBe(5_000_000n);
      expect((await storage.commit(request(0n, [set('k', '2')]))).version).toBe(5_000_001n);
      clock = 1_000; // the wall clock stepped back
      expect((await storage.commit(request(0n, [set('k', '3')]))).version).toBe(5_000_002n);
      clock = 9_000;
      expect((await storage.commit(request(0n, [set('k', '4')]))).version).toBe(9_000_000n);
      await storage.close();

      // Reopened by a process whose clock is far behind: versions continue from the store.
      clock = 0;
      const reopened = new LmdbStorage(dir, { now: () => clock });
      expect(currentVersion(reopened)).toBe(9_000_000n);
      expect((await reopened.commit(request(0n, [set('k', '5')]))).version).toBe(9_000_001n);
      const snap = reopened.snapshot();
      expect(Buffer.from(snap.get(b('k'))!).toString()).toBe('5');
      snap.release();
      await reopened.close();
    },
  );

  it(
    'versionstamps are substituted in keys and values, and a stamped key is a write conflict',
    withStorage(async (storage) => {
      const before = storage.snapshot();
      const { version, batchOrder } = await storage.commit(
        request(0n, [
          { type: 'setVersionstampedKey', prefix: b('log/'), suffix: b('/end'), value: b('entry') },
          { type: 'setVersionstampedValue', key: b('last'), prefix: b('at:'), suffix: b('') },
        ]),
      );
      expect(batchOrder).toBe(0);
      const stamp = versionstamp(version, 0);
      const stampedKey = Buffer.concat([b('log/'), stamp, b('/end')]);
      const snap = storage.snapshot();
      expect(rows(snap.getRange(b('log/'), b('log0')))).toEqual([[hex(stampedKey), hex(b('entry'))]]);
      expect(hex(snap.get(b('last'))!)).toBe(hex(Buffer.concat([b('at:'), stamp])));
      snap.release();

      // A transaction that read the final key before the commit conflicts; one that read next to it does not.
      await expectCode(storage.commit(request(before.version, [set('x', '1')], [one(stampedKey)])), 1020);
      await storage.commit(request(before.version, [set('x', '1')], [{ begin: b('log0'), end: b('log1') }]));
      before.release();
    }),
  );

  it(
    'mutations apply in order: sets, single-key clears and range clears',
    withStorage(async (storage) => {
      await storage.commit(
        request(0n, [
          set('a', '1'),
          set('b', '1'),
          set('c', '1'),
          { type: 'clearRange', begin: b('a'), end: b('c') },
          set('b', '2'),
          set('d', '1'),
          { type: 'clearRange', begin: b('d'), end: keyAfter(b('d')) },
          set('e', '1'),
          set('e', '2'),
        ]),
      );
      const snap = storage.snapshot();
      expect(rows(snap.getRange(b('a'), b('z')))).toEqual([
        [hex(b('b')), hex(b('2'))],
        [hex(b('c')), hex(b('1'))],
        [hex(b('e')), hex(b('2'))],
      ]);
      snap.release();
    }),
  );

  it(
    'keys and values given as views into larger buffers are stored as exactly their bytes',
    withStorage(async (storage) => {
      const backing = Uint8Array.from({ length: 64 }, (_, i) => i);
      await storage.commit(request(0n, [{ type: 'set', key: backing.subarray(40, 43), value: backing.subarray(3, 7) }]));
      const snap = storage.snapshot();
      expect(rows(snap.getRange(b(''), b('\xff')))).toEqual([['28292a', '03040506']]);
      snap.release();
    }),
  );

  it(
    'a range clear of thousands of keys removes exactly [begin, end)',
    withStorage(async (storage) => {
      const key = (i: number) => b(`k${String(i).padStart(5, '0')}`);
      const sets: Mutation[] = [];
      for (let i = 0; i < 3000; i++) sets.push({ type: 'set', key: key(i), value: b('v') });
      await storage.commit(request(0n, sets));
      await storage.commit(request(0n, [{ type: 'clearRange', begin: key(100), end: key(2900) }]));
      const snap = storage.snapshot();
      const left = snap.getRange(b('k'), b('l')).map(([k]) => Buffer.from(k).toString());
      snap.release();
      expect(left).toHaveLength(200);
      expect(left[99]).toBe('k00099');
      expect(left[100]).toBe('k02900');
    }),
  );

  it(
    'values read stay intact after the snapshot is released and the keys are overwritten',
    withStorage(async (storage) => {
      await storage.commit(request(0n, [set('a', 'alpha'), set('b', 'beta')]));
      const snap = storage.snapshot();
      const got = snap.get(b('a'))!;
      const range = snap.getRange(b('a'), b('c'));
      snap.release();
      await storage.commit(request(0n, [set('a', 'XXXXX'), set('b', 'YYYY')]));
      expect(Buffer.from(got).toString()).toBe('alpha');
      expect(range.map(([k, v]) => `${Buffer.from(k)}=${Buffer.from(v)}`)).toEqual(['a=alpha', 'b=beta']);
    }),
  );

  it(
    'close releases snapshots; later use fails with 2132',
    async () => {
      const storage = new LmdbStorage(freshDir());
      const snap = storage.snapshot();
      await storage.close();
      expect(() => snap.get(b('a'))).toThrow(/released/);
      expect(errorCode(captureSync(() => storage.snapshot()))).toBe(2132);
      await expectCode(storage.commit(request(0n, [set('a', '1')])), 2132);
    },
  );

  it(
    'latestVersion sees each commit and holds no snapshot between calls (LMDB can reuse older pages)',
    withStorage(async (storage) => {
      // readerList shows a reader holding a snapshot with its txnid, a reset one with "-".
      const holding = () => storage.store.env.readerList().split('\n').filter((line) => /\s\d+$/.test(line)).length;
      const endOfTurn = () => new Promise((resolve) => setTimeout(resolve, 0));
      for (let round = 0; round < 3; round++) {
        const { version } = await storage.commit(request(0n, [set('a', String(round))]));
        // lmdb-js ends its own shared read transaction on a timer.
        await endOfTurn();
        expect(holding()).toBe(0);
        expect(storage.latestVersion()).toBe(version);
        expect(holding()).toBe(0);
      }
    }),
  );
});

function captureSync(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('LmdbStorage: the resolver', () => {
  it(
    'a read range written by a newer commit fails with 1020 and writes nothing',
    withStorage(async (storage) => {
      const v0 = (await storage.commit(request(0n, [set('a', '0'), set('m', '0')]))).version;
      const v1 = (await storage.commit(request(v0, [set('m', '1')]))).version;

      await expectCode(storage.commit(request(v0, [set('z', 'lost')], [{ begin: b('l'), end: b('n') }])), 1020);
      expect(currentVersion(storage)).toBe(v1);
      const snap = storage.snapshot();
      expect(snap.get(b('z'))).toBeUndefined();
      snap.release();

      // Adjacent, disjoint and reads as of the newer commit pass; blind writes never conflict.
      await storage.commit(request(v0, [set('z', '1')], [{ begin: b('a'), end: b('m') }]));
      await storage.commit(request(v0, [set('z', '2')], [one(b('m\x00'))]));
      await storage.commit(request(v1, [set('z', '3')], [one(b('m'))]));
      await storage.commit(request(0n, [set('m', '2')]));
    }),
  );

  it(
    'checks every commit after the read version, across range clears and many ranges',
    withStorage(async (storage) => {
      const v0 = (await storage.commit(request(0n, [set('base', '1')]))).version;
      await storage.commit(request(v0, [{ type: 'clearRange', begin: b('c'), end: b('f') }]));
      await storage.commit(request(v0, [set('q', '1'), set('s', '1')]));
      const reads = (...keys: string[]) => keys.map((k) => one(b(k)));
      await expectCode(storage.commit(request(v0, [set('x', '1')], reads('a', 'b', 'e'))), 1020);
      await expectCode(storage.commit(request(v0, [set('x', '1')], reads('r', 's'))), 1020);
      await storage.commit(request(v0, [set('x', '1')], reads('a', 'b', 'f', 'r', 't')));
    }),
  );

  it(
    'two storages on one directory resolve against one log, and a snapshot sees every commit made before it',
    async () => {
      const dir = freshDir();
      const first = new LmdbStorage(dir);
      const second = new LmdbStorage(dir);
      const v0 = (await first.commit(request(0n, [set('n', '0')]))).version;
      const snap = second.snapshot();
      expect(snap.version).toBe(v0);
      await first.commit(request(v0, [set('n', '1')], [one(b('n'))]));
      await expectCode(second.commit(request(snap.version, [set('n', '1')], [one(b('n'))])), 1020);
      snap.release();
      const fresh = second.snapshot();
      expect(Buffer.from(fresh.get(b('n'))!).toString()).toBe('1');
      fresh.release();
      await first.close();
      await second.close();
    },
  );

  it('keeps 5 s (up to 6 s) of versions in the conflict log; a read version older than what it dropped fails with 1007', async () => {
    let clock = 1_000;
    const storage = new LmdbStorage(freshDir(), { now: () => clock });
    const logVersions = () => [...storage.store.conflicts.getKeys()].map((key) => readU64be(key));
    const v1 = (await storage.commit(request(0n, [set('a', '1')]))).version;
    clock = 4_000;
    const v2 = (await storage.commit(request(v1, [set('b', '1')]))).version;
    expect(logVersions()).toEqual([v1, v2]);

    clock = 8_000; // v1 is now more than 5e6 versions behind
    const v3 = (await storage.commit(request(v2, [set('c', '1')]))).version;
    expect(v3).toBe(8_000_000n);
    expect(logVersions()).toEqual([v2, v3]);

    // Read version 0 needs v1's entry, which is gone: too old. Read version v1 only needs v2 and v3.
    await expectCode(storage.commit(request(0n, [set('x', '1')], [one(b('zzz'))])), 1007);
    await storage.commit(request(v1, [set('x', '1')], [one(b('zzz'))]));
    await expectCode(storage.commit(request(v1, [set('x', '2')], [one(b('b'))])), 1020);
    // Without read conflicts nothing is checked, so an old read version still commits (as on FoundationDB).
    await storage.commit(request(0n, [set('x', '3')]));

    // The log is pruned in batches: an entry 5.5 s old stays until the oldest is more than 6 s old.
    clock = 9_500;
    const v4 = (await storage.commit(request(v3, [set('d', '1')]))).version;
    expect(logVersions()[0]).toBe(v2);
    clock = 10_100;
    const v5 = (await storage.commit(request(v4, [set('e', '1')]))).version;
    expect(logVersions()).not.toContain(v2);
    expect(logVersions()).toContain(v5);
    await expectCode(storage.commit(request(v1, [set('x', '4')], [one(b('zzz'))])), 1007);
    await storage.close();
  });
});

describe('LmdbStorage: commits requested together (group commit)', () => {
  it(
    'each gets its own version and conflict check: of racing read-modify-writes of one key exactly one commits',
    withStorage(async (storage) => {
      const v0 = (await storage.commit(request(0n, [set('n', '0')]))).version;
      // Requested in one turn, so they are resolved in one group; each read 'n' at v0.
      const racing = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) => storage.commit(request(v0, [set('n', String(i + 1)), set(`own${i}`, 'x')], [one(b('n'))]))),
      );
      const won = racing.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(won).toHaveLength(1);
      for (const r of racing) if (r.status === 'rejected') expect(errorCode(r.reason)).toBe(1020);
      const snap = storage.snapshot();
      // The losers wrote nothing, not even their own keys.
      expect(Buffer.from(snap.get(b('n'))!).toString()).toBe(String(won[0]! + 1));
      for (let i = 0; i < 6; i++) expect(snap.get(b(`own${i}`)) !== undefined).toBe(i === won[0]);
      snap.release();

      // Disjoint commits in one group all commit, with increasing versions, in request order.
      const disjoint = await Promise.all(
        Array.from({ length: 5 }, (_, i) => storage.commit(request(v0, [set(`d${i}`, 'y')], [one(b(`d${i}`))]))),
      );
      const versions = disjoint.map((r) => r.version);
      for (let i = 1; i < versions.length; i++) expect(versions[i]).toBeGreaterThan(versions[i - 1]!);
      expect(currentVersion(storage)).toBe(versions[versions.length - 1]);
    }),
  );

  it(
    'a later commit of a group sees the earlier ones: a range clear removes keys set just before it in the same group',
    withStorage(async (storage) => {
      const v0 = (await storage.commit(request(0n, [set('x0', '0')]))).version;
      const [first, second, third] = await Promise.all([
        storage.commit(request(v0, [set('x1', '1'), set('x2', '2'), set('y', '1')])),
        storage.commit(request(v0, [{ type: 'clearRange', begin: b('x'), end: b('y') }])),
        storage.commit(request(v0, [set('x3', '3')])),
      ]);
      expect(first.version < second.version && second.version < third.version).toBe(true);
      const snap = storage.snapshot();
      expect(snap.getRange(b('x'), b('z')).map(([k]) => Buffer.from(k).toString())).toEqual(['x3', 'y']);
      snap.release();
    }),
  );

  it('commits requested right before close() still commit, and are there after reopening', async () => {
    const dir = freshDir();
    const storage = new LmdbStorage(dir);
    const pending = [storage.commit(request(0n, [set('p1', '1')])), storage.commit(request(0n, [set('p2', '2')]))];
    await storage.close();
    await Promise.all(pending);
    const reopened = new LmdbStorage(dir);
    const snap = reopened.snapshot();
    expect(snap.get(b('p1'))).toBeDefined();
    expect(snap.get(b('p2'))).toBeDefined();
    snap.release();
    await reopened.close();
  });

  it('two storages on one directory committing concurrently lose no commit', async () => {
    const dir = freshDir();
    const stores = [new LmdbStorage(dir), new LmdbStorage(dir)];
    try {
      // Per round, a group on the first storage and a lone commit (a synchronous LMDB transaction) on the
      // second, requested in one turn, so the lone one starts while the group may still hold LMDB's lock.
      const all: Promise<{ version: bigint }>[] = [];
      for (let round = 0; round < 20; round++) {
        for (const [s, storage] of stores.entries()) {
          for (let i = 0; i < (s === 0 ? 3 : 1); i++) all.push(storage.commit(request(0n, [set(`s${s}-${round}-${i}`, 'v')])));
        }
        if (round % 4 === 3) await Promise.all(all);
      }
      const versions = (await Promise.all(all)).map((r) => r.version);
      expect(new Set(versions).size).toBe(versions.length);
      const snap = stores[0]!.snapshot();
      expect(snap.getRange(b('s'), b('t'))).toHaveLength(20 * 4);
      expect(snap.version).toBe(versions.reduce((a, v) => (v > a ? v : a), 0n));
      snap.release();
    } finally {
      for (const storage of stores) await storage.close();
    }
  });
});

describe('LmdbStorage: range reads', () => {
  const keyByte = fc.constantFrom(0x00, 0x01, 0x61, 0x62, 0xfe, 0xff);
  const key = fc.array(keyByte, { maxLength: 4 }).map((a) => Buffer.from(a));

  it('forward, reverse and limited ranges match a sorted model', async () => {
    const storage = new LmdbStorage(freshDir());
    let previous: Bytes[] = [];
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(key, { selector: hex, maxLength: 25 }),
        fc.array(fc.record({ begin: key, end: key, limit: fc.nat(6), reverse: fc.boolean() }), { minLength: 1, maxLength: 8 }),
        async (keys, queries) => {
          const clears: Mutation[] = previous.map((k) => ({ type: 'clearRange', begin: k, end: keyAfter(k) }));
          const sets: Mutation[] = keys.map((k, i) => ({ type: 'set', key: k, value: Buffer.from([i]) }));
          await storage.commit(request(0n, [...clears, ...sets]));
          previous = keys;
          const model = keys.map((k, i): KeyValue => [k, Buffer.from([i])]).sort((x, y) => compareBytes(x[0], y[0]));
          const snap = storage.snapshot();
          try {
            for (const { begin, end, limit, reverse } of queries) {
              let expected = model.filter(([k]) => compareBytes(k, begin) >= 0 && compareBytes(k, end) < 0);
              if (reverse) expected = expected.reverse();
              if (limit > 0) expected = expected.slice(0, limit);
              expect(rows(snap.getRange(begin, end, { limit, reverse }))).toEqual(rows(expected));
            }
          } finally {
            snap.release();
          }
        },
      ),
      { numRuns: 60 },
    );
    await storage.close();
  });

  it(
    'range bounds longer than the longest storable key select exactly the storable keys',
    withStorage(async (storage) => {
      const max = storage.maxKeyBytes;
      const long = Buffer.alloc(max, 0x61);
      const keys = [Buffer.alloc(max - 1, 0x61), long, Buffer.concat([Buffer.alloc(max - 1, 0x61), b('b')])];
      await storage.commit(request(0n, keys.map((key, i) => ({ type: 'set', key, value: Buffer.from([i]) }))));
      const snap = storage.snapshot();
      const pastLong = Buffer.concat([long, b('\x00')]);
      const names = (begin: Bytes, end: Bytes, reverse: boolean) =>
        snap.getRange(begin, end, { reverse }).map(([, v]) => v[0]);
      for (const reverse of [false, true]) {
        const order = (xs: number[]) => (reverse ? xs.reverse() : xs);
        // [long‖00, ...) excludes `long`; [..., long‖00) includes it.
        expect(names(pastLong, b('b'), reverse)).toEqual(order([2]));
        expect(names(b('a'), pastLong, reverse)).toEqual(order([0, 1]));
        expect(names(pastLong, Buffer.concat([long, b('\xff')]), reverse)).toEqual([]);
      }
      expect(snap.get(pastLong)).toBeUndefined();
      snap.release();
    }),
  );
});

describe('LmdbStorage: key size', () => {
  it(
    'accepts keys up to maxKeyBytes (4,025) and rejects longer ones with 2102, writing nothing',
    withStorage(async (storage) => {
      expect(storage.maxKeyBytes).toBe(4025);
      const atLimit = Buffer.alloc(4025, 0x6b);
      await storage.commit(request(0n, [{ type: 'set', key: atLimit, value: b('ok') }]));
      const version = currentVersion(storage);

      const tooLong = Buffer.alloc(4026, 0x6b);
      await expectCode(storage.commit(request(0n, [set('other', '1'), { type: 'set', key: tooLong, value: b('x') }])), 2102);
      const stamped: Mutation = { type: 'setVersionstampedKey', prefix: Buffer.alloc(4016, 0x6b), suffix: b(''), value: b('x') };
      await expectCode(storage.commit(request(0n, [set('other', '1'), stamped])), 2102);

      expect(currentVersion(storage)).toBe(version);
      const snap = storage.snapshot();
      expect(snap.get(b('other'))).toBeUndefined();
      expect(Buffer.from(snap.get(atLimit)!).toString()).toBe('ok');
      snap.release();
    }),
  );

  it('the Kv enforces the same limit with 2102 key_too_large', async () => {
    const kv = await openLmdbKv(freshDir());
    const tx = kv.createTransaction();
    expect(errorCode(captureSync(() => tx.set(Buffer.alloc(4026), b('x'))))).toBe(2102);
    tx.set(Buffer.alloc(4025), b('x'));
    await tx.commit();
    await kv.close();
  });
});

describe('opening a directory', () => {
  const digest = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
  const listing = (dir: string) => readdirSync(dir).sort();

  function expectInvalid(dir: string, message: RegExp) {
    const err = captureSync(() => new LmdbStorage(dir));
    expect(errorCode(err)).toBe(2130);
    expect((err as Error).message).toContain(dir);
    expect((err as Error).message).toMatch(message);
  }

  it('creates a store in a new nested directory, an empty one or one named like a file, and reopens it', async () => {
    const nested = join(freshDir(), 'a', 'b');
    const empty = freshDir();
    mkdirSync(empty);
    const dotted = `${freshDir()}.db`;
    for (const dir of [nested, empty, dotted]) {
      const kv = await openLmdbKv(dir);
      expect(kv.url).toBe(`lmdb:${dir}`);
      await kv.run(async (tx) => tx.set(b('k'), b(dir)));
      await kv.close();
      expect(listing(dir)).toEqual(['data.mdb', 'lock.mdb']);
      const again = await openLmdbKv(dir);
      expect(Buffer.from((await again.run((tx) => tx.get(b('k'))))!).toString()).toBe(dir);
      await again.close();
    }
  });

  it('refuses a file', () => {
    const file = join(freshDir() + '.txt');
    writeFileSync(file, 'hello');
    expectInvalid(file, /is a file, not a directory/);
    expect(readFileSync(file, 'utf8')).toBe('hello');
  });

  it('refuses a directory with other content, writing nothing', () => {
    const dir = freshDir();
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.md'), 'mine');
    expectInvalid(dir, /holds other files \(notes\.md\)/);
    expect(listing(dir)).toEqual(['notes.md']);
  });

  it('refuses a data.mdb that is not an LMDB file, writing nothing', () => {
    const dir = freshDir();
    mkdirSync(dir);
    writeFileSync(join(dir, 'data.mdb'), Buffer.alloc(8192, 7));
    const before = digest(join(dir, 'data.mdb'));
    expectInvalid(dir, /data\.mdb is not an LMDB data file/);
    expect(listing(dir)).toEqual(['data.mdb']);
    expect(digest(join(dir, 'data.mdb'))).toBe(before);
  });

  it("refuses another application's LMDB store, writing nothing", async () => {
    const dir = freshDir();
    const other = open({ path: dir });
    await other.put('user:1', { name: 'someone' });
    await other.close();
    const before = digest(join(dir, 'data.mdb'));
    expectInvalid(dir, /an LMDB store with other databases/);
    expect(digest(join(dir, 'data.mdb'))).toBe(before);
  });

  it('refuses a store with another format marker, writing nothing', async () => {
    const dir = freshDir();
    await new LmdbStorage(dir).close();
    const env = open({ path: dir, keyEncoding: 'binary', encoding: 'binary' });
    const meta = env.openDB({ name: 'meta', keyEncoding: 'binary', encoding: 'binary' });
    await meta.put(b('format'), b('mvdb-kv-lmdb 99'));
    await env.close();
    const before = digest(join(dir, 'data.mdb'));
    expectInvalid(dir, /format marker is "mvdb-kv-lmdb 99"/);
    expect(digest(join(dir, 'data.mdb'))).toBe(before);
  });
});

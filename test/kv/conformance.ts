/**
 * The kv conformance suite: FoundationDB's semantics, as the engine relies on them,
 * checked the same way on every backend. Each test works under its own key prefix
 * (and the run under a random one), so it can run on a shared FoundationDB cluster.
 */

import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareBytes, concatBytes, keyAfter, prefixEnd, readU64be, utf8, versionstamp } from '../../src/kv/bytes.ts';
import { ErrorCode, errorCode, KvError } from '../../src/kv/errors.ts';
import type { Bytes, KeyValue, Kv, KvTransaction } from '../../src/kv/types.ts';

export interface OpenedKv {
  kv: Kv;
  close(): Promise<void>;
}

const text = (b: Bytes | undefined) => (b === undefined ? undefined : Buffer.from(b).toString('utf8'));

/** The error code `fn` fails with, or undefined if it succeeds. */
async function failure(fn: () => unknown): Promise<number | undefined> {
  try {
    await fn();
  } catch (err) {
    const code = errorCode(err);
    if (code === undefined) throw err;
    return code;
  }
  return undefined;
}

export function describeKvConformance(backend: string, open: () => Promise<OpenedKv>): void {
  describe(`kv conformance: ${backend}`, () => {
    let opened: OpenedKv;
    let kv: Kv;
    const root = utf8(`kvconf/${randomBytes(6).toString('hex')}/`);
    let spaces = 0;

    beforeAll(async () => {
      opened = await open();
      kv = opened.kv;
    });
    afterAll(async () => {
      if (!opened) return;
      await kv.run(async (tx) => tx.clearRange(root, prefixEnd(root)));
      await opened.close();
    });

    /** A fresh key prefix for one test: k('a') is a key in it; range() spans all of it. */
    function space() {
      const prefix = concatBytes(root, utf8(`${++spaces}/`));
      const k = (name: string) => concatBytes(prefix, utf8(name));
      const strip = (key: Bytes) => Buffer.from(key.subarray(prefix.length)).toString('utf8');
      const rows = (kvs: KeyValue[]) => kvs.map(([key, value]) => [strip(key), text(value)]);
      const all = async (tx?: KvTransaction) => {
        const read = (t: KvTransaction) => t.getRange(prefix, prefixEnd(prefix));
        return rows(tx ? await read(tx) : await kv.run(read));
      };
      const put = (entries: Record<string, string>) =>
        kv.run(async (tx) => {
          for (const [name, value] of Object.entries(entries)) tx.set(k(name), utf8(value));
        });
      return { prefix, end: prefixEnd(prefix), k, strip, rows, all, put };
    }

    describe('reads', () => {
      it('get returns what was committed, undefined for a missing key', async () => {
        const s = space();
        await s.put({ a: '1' });
        const tx = kv.createTransaction();
        expect(text(await tx.get(s.k('a')))).toBe('1');
        expect(await tx.get(s.k('b'))).toBeUndefined();
      });

      it('getRange: end exclusive, ascending, limit counts from the start, reverse from the end', async () => {
        const s = space();
        await s.put({ a: '1', b: '2', c: '3', d: '4' });
        const tx = kv.createTransaction();
        const read = async (from: string, to: string, options?: { limit?: number; reverse?: boolean }) =>
          s.rows(await tx.getRange(s.k(from), s.k(to), options)).map(([key]) => key);
        expect(await read('b', 'd')).toEqual(['b', 'c']);
        expect(await read('a', 'e', { limit: 2 })).toEqual(['a', 'b']);
        expect(await read('a', 'e', { reverse: true })).toEqual(['d', 'c', 'b', 'a']);
        expect(await read('a', 'd', { reverse: true, limit: 2 })).toEqual(['c', 'b']);
        expect(await read('b', 'b')).toEqual([]);
        expect(await read('bb', 'c')).toEqual([]);
      });
    });

    describe('snapshot isolation', () => {
      it('a transaction keeps reading its read version while others commit', async () => {
        const s = space();
        await s.put({ a: 'old', b: 'old' });
        const reader = kv.createTransaction();
        expect(text(await reader.get(s.k('a')))).toBe('old');

        await kv.run(async (tx) => {
          tx.set(s.k('a'), utf8('new'));
          tx.clear(s.k('b'));
          tx.set(s.k('c'), utf8('new'));
        });

        expect(text(await reader.get(s.k('a')))).toBe('old');
        expect(text(await reader.snapshot().get(s.k('b')))).toBe('old');
        expect(await s.all(reader)).toEqual([
          ['a', 'old'],
          ['b', 'old'],
        ]);
        expect(await s.all()).toEqual([
          ['a', 'new'],
          ['c', 'new'],
        ]);
      });

      it('a read version is at least the version of every commit acknowledged before it', async () => {
        const s = space();
        const tx = kv.createTransaction();
        tx.set(s.k('a'), utf8('1'));
        const { version } = await tx.commit();
        expect(await kv.createTransaction().getReadVersion()).toBeGreaterThanOrEqual(version!);
      });
    });

    describe('read-your-writes', () => {
      // Committed: k00..k39. Pending in the transaction: overwrites, new keys, clears, a clearRange and a
      // set inside the cleared range. Every range read must equal the same read on a plain sorted model.
      async function setup() {
        const s = space();
        const committed = new Map<string, string>();
        for (let i = 0; i < 40; i++) committed.set(`k${String(i).padStart(2, '0')}`, `c${i}`);
        await s.put(Object.fromEntries(committed));
        const tx = kv.createTransaction();
        const model = new Map(committed);
        const set = (key: string, value: string) => {
          tx.set(s.k(key), utf8(value));
          model.set(key, value);
        };
        const clearRange = (from: string, to: string) => {
          tx.clearRange(s.k(from), s.k(to));
          for (const key of [...model.keys()]) if (key >= from && key < to) model.delete(key);
        };
        set('k03', 'p3');
        set('k035', 'new');
        tx.clear(s.k('k05'));
        model.delete('k05');
        clearRange('k10', 'k30');
        set('k20', 'p20');
        set('k45', 'new');
        tx.clear(s.k('k99')); // never existed
        const sorted = () => [...model.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        return { s, tx, sorted };
      }

      it('get sees pending sets and clears', async () => {
        const { s, tx } = await setup();
        expect(text(await tx.get(s.k('k03')))).toBe('p3');
        expect(text(await tx.get(s.k('k035')))).toBe('new');
        expect(await tx.get(s.k('k05'))).toBeUndefined();
        expect(await tx.get(s.k('k15'))).toBeUndefined();
        expect(text(await tx.get(s.k('k20')))).toBe('p20');
        expect(text(await tx.get(s.k('k31')))).toBe('c31');
        expect(text(await tx.snapshot().get(s.k('k035')))).toBe('new');
      });

      it('getRange merges pending writes forward and reverse, with and without limits', async () => {
        const { s, tx, sorted } = await setup();
        const expected = sorted();
        for (const reverse of [false, true]) {
          for (const limit of [0, 1, 2, 3, 5, 8, 13, expected.length, expected.length + 1]) {
            const want = (reverse ? [...expected].reverse() : expected).slice(0, limit || undefined);
            expect(s.rows(await tx.getRange(s.prefix, s.end, { limit, reverse })), `limit ${limit} reverse ${reverse}`).toEqual(want);
            expect(s.rows(await tx.snapshot().getRange(s.prefix, s.end, { limit, reverse }))).toEqual(want);
          }
        }
        // A sub-range starting and ending inside the cleared span.
        const inner = expected.filter(([key]) => key >= 'k15' && key < 'k25');
        expect(s.rows(await tx.getRange(s.k('k15'), s.k('k25')))).toEqual(inner);
        expect(s.rows(await tx.getRange(s.k('k15'), s.k('k25'), { reverse: true }))).toEqual([...inner].reverse());
      });

      it('what a transaction read back is what it commits', async () => {
        const { s, tx, sorted } = await setup();
        await tx.commit();
        expect(await s.all()).toEqual(sorted());
      });
    });

    describe('conflicts', () => {
      /** Runs `first` in tx1, commits a second transaction doing `other`, then commits tx1 (which writes a marker). */
      async function race(s: ReturnType<typeof space>, first: (tx: KvTransaction) => Promise<unknown>, other: (tx: KvTransaction) => void) {
        const tx1 = kv.createTransaction();
        await tx1.getReadVersion();
        await first(tx1);
        const tx2 = kv.createTransaction();
        other(tx2);
        await tx2.commit();
        tx1.set(s.k('~marker'), utf8('tx1')); // '~' sorts after every key the tests read
        return failure(() => tx1.commit());
      }

      it('a read of a key written by a newer commit fails with 1020, and writes nothing', async () => {
        const s = space();
        await s.put({ a: '0' });
        const code = await race(s, (tx) => tx.get(s.k('a')), (tx) => tx.set(s.k('a'), utf8('1')));
        expect(code).toBe(1020);
        expect(await kv.createTransaction().get(s.k('~marker'))).toBeUndefined();
      });

      it('a read of a missing key conflicts with a newer commit creating it', async () => {
        const s = space();
        expect(await race(s, (tx) => tx.get(s.k('a')), (tx) => tx.set(s.k('a'), utf8('1')))).toBe(1020);
      });

      it('a range read conflicts with a newer write anywhere in the range', async () => {
        const s = space();
        await s.put({ a: '0', z: '0' });
        expect(await race(s, (tx) => tx.getRange(s.k('a'), s.k('z')), (tx) => tx.set(s.k('m'), utf8('1')))).toBe(1020);
        expect(await race(s, (tx) => tx.getRange(s.k('a'), s.k('z')), (tx) => tx.clearRange(s.k('y'), s.k('zz')))).toBe(1020);
      });

      it('a range read does not conflict with writes outside [begin, end)', async () => {
        const s = space();
        await s.put({ b: '0' });
        expect(await race(s, (tx) => tx.getRange(s.k('b'), s.k('m')), (tx) => tx.set(s.k('m'), utf8('1')))).toBeUndefined();
        expect(await race(s, (tx) => tx.getRange(s.k('b'), s.k('m')), (tx) => tx.set(s.k('a'), utf8('1')))).toBeUndefined();
      });

      it('a forward read stopped by its limit covers [begin, lastKey\\x00) only', async () => {
        const s = space();
        await s.put({ a: '0', b: '0', c: '0', d: '0' });
        const read = (tx: KvTransaction) => tx.getRange(s.k('a'), s.k('z'), { limit: 2 }); // a, b
        expect(await race(s, read, (tx) => tx.set(s.k('b\x00'), utf8('1')))).toBeUndefined();
        expect(await race(s, read, (tx) => tx.set(s.k('c'), utf8('1')))).toBeUndefined();
        expect(await race(s, read, (tx) => tx.set(s.k('b'), utf8('1')))).toBe(1020);
        expect(await race(s, read, (tx) => tx.set(s.k('ab'), utf8('1')))).toBe(1020);
      });

      it('a reverse read stopped by its limit covers [lastKey, end) only', async () => {
        const s = space();
        await s.put({ a: '0', b: '0', c: '0', d: '0' });
        const read = (tx: KvTransaction) => tx.getRange(s.k('a'), s.k('z'), { limit: 2, reverse: true }); // d, c
        expect(await race(s, read, (tx) => tx.set(s.k('bz'), utf8('1')))).toBeUndefined();
        expect(await race(s, read, (tx) => tx.set(s.k('c'), utf8('1')))).toBe(1020);
        expect(await race(s, read, (tx) => tx.set(s.k('y'), utf8('1')))).toBe(1020);
      });

      it('a read that was not limited covers the whole range even when it returns few rows', async () => {
        const s = space();
        await s.put({ a: '0' });
        const read = (tx: KvTransaction) => tx.getRange(s.k('a'), s.k('z'), { limit: 5 }); // only a
        expect(await race(s, read, (tx) => tx.set(s.k('x'), utf8('1')))).toBe(1020);
      });

      it('blind writes never conflict; the later commit wins', async () => {
        const s = space();
        await s.put({ a: '0' });
        const tx1 = kv.createTransaction();
        tx1.set(s.k('a'), utf8('tx1'));
        tx1.clearRange(s.k('b'), s.k('z'));
        await kv.run(async (tx) => {
          tx.set(s.k('a'), utf8('tx2'));
          tx.set(s.k('c'), utf8('tx2'));
        });
        await tx1.commit();
        expect(await s.all()).toEqual([['a', 'tx1']]);
      });

      it('snapshot reads add no read conflict', async () => {
        const s = space();
        await s.put({ a: '0' });
        const read = async (tx: KvTransaction) => {
          await tx.snapshot().get(s.k('a'));
          await tx.snapshot().getRange(s.k('a'), s.k('z'));
        };
        expect(await race(s, read, (tx) => tx.set(s.k('a'), utf8('1')))).toBeUndefined();
      });

      it('reading a key the transaction itself wrote adds no read conflict (FoundationDB RYW)', async () => {
        const s = space();
        const read = async (tx: KvTransaction) => {
          tx.set(s.k('a'), utf8('mine'));
          expect(text(await tx.get(s.k('a')))).toBe('mine');
        };
        expect(await race(s, read, (tx) => tx.set(s.k('a'), utf8('theirs')))).toBeUndefined();
        expect(text(await kv.createTransaction().get(s.k('a')))).toBe('mine');
      });

      it('an explicit read-conflict range conflicts like a read', async () => {
        const s = space();
        const declare = async (tx: KvTransaction) => tx.addReadConflictRange(s.k('a'), s.k('c'));
        expect(await race(s, declare, (tx) => tx.set(s.k('b'), utf8('1')))).toBe(1020);
        expect(await race(s, declare, (tx) => tx.set(s.k('c'), utf8('1')))).toBeUndefined();
      });

      it('an explicit write-conflict range conflicts like a write, and writes nothing', async () => {
        const s = space();
        await s.put({ b: '0' });
        const read = (tx: KvTransaction) => tx.get(s.k('b'));
        expect(await race(s, read, (tx) => tx.addWriteConflictRange(s.k('a'), s.k('c')))).toBe(1020);
        expect(text(await kv.createTransaction().get(s.k('b')))).toBe('0');
        expect(await race(s, read, (tx) => tx.addWriteConflictRange(s.k('c'), s.k('d')))).toBeUndefined();
      });

      it("a versionstamped key's final key, and only it, is a write conflict", async () => {
        const s = space();
        // tx1 pins its read version first; tx2 then writes prefix‖stamp; tx1 reads exactly that key.
        const attempt = async (readKey: (finalKey: Bytes) => Bytes) => {
          const tx1 = kv.createTransaction();
          await tx1.getReadVersion();
          const tx2 = kv.createTransaction();
          tx2.setVersionstampedKey(s.k('page/'), utf8('/x'), utf8('v'));
          const { versionstamp } = await tx2.commit();
          const finalKey = concatBytes(s.k('page/'), versionstamp!, utf8('/x'));
          expect(await tx1.get(readKey(finalKey))).toBeUndefined(); // committed after tx1's read version
          tx1.set(s.k('marker'), utf8('tx1'));
          return failure(() => tx1.commit());
        };
        expect(await attempt((finalKey) => finalKey)).toBe(1020);
        expect(await attempt((finalKey) => keyAfter(finalKey))).toBeUndefined();
      });

      it('read-only transactions always commit, even when what they read changed', async () => {
        const s = space();
        const tx1 = kv.createTransaction();
        await tx1.get(s.k('a'));
        await s.put({ a: '1' });
        expect(await tx1.commit()).toEqual({});
      });
    });

    describe('versionstamps', () => {
      it('the stamp commit returns is the one written into keys and values; version = its first 8 bytes', async () => {
        const s = space();
        const tx = kv.createTransaction();
        tx.setVersionstampedKey(s.k('vk/'), utf8('/s'), utf8('value'));
        tx.setVersionstampedValue(s.k('vv'), utf8('pre:'), utf8(':suf'));
        tx.setVersionstampedValue(s.k('vw'), utf8('only-prefix:'));
        const { versionstamp, version } = await tx.commit();
        expect(versionstamp).toHaveLength(10);
        expect(readU64be(versionstamp!)).toBe(version);

        const check = kv.createTransaction();
        const [[key, value]] = (await check.getRange(s.k('vk/'), prefixEnd(s.k('vk/')))) as [KeyValue];
        expect(Buffer.from(key)).toEqual(Buffer.from(concatBytes(s.k('vk/'), versionstamp!, utf8('/s'))));
        expect(text(value)).toBe('value');
        expect(Buffer.from((await check.get(s.k('vv')))!)).toEqual(Buffer.from(concatBytes(utf8('pre:'), versionstamp!, utf8(':suf'))));
        expect(Buffer.from((await check.get(s.k('vw')))!)).toEqual(Buffer.from(concatBytes(utf8('only-prefix:'), versionstamp!)));
      });

      it('later commits get greater stamps', async () => {
        const s = space();
        const stamps: Bytes[] = [];
        for (let i = 0; i < 5; i++) {
          const tx = kv.createTransaction();
          tx.set(s.k(`a${i}`), utf8('x'));
          stamps.push((await tx.commit()).versionstamp!);
        }
        for (let i = 1; i < stamps.length; i++) expect(compareBytes(stamps[i - 1]!, stamps[i]!)).toBeLessThan(0);
      });

      it('a commit with only a write-conflict range gets a stamp; a read-only one gets none', async () => {
        const s = space();
        const tx = kv.createTransaction();
        tx.addWriteConflictRange(s.k('a'), s.k('b'));
        expect((await tx.commit()).versionstamp).toHaveLength(10);
        const ro = kv.createTransaction();
        await ro.get(s.k('a'));
        expect((await ro.commit()).versionstamp).toBeUndefined();
      });

      it('reading a pending versionstamped value, or where a pending versionstamped key may land, fails with 1036', async () => {
        const s = space();
        const page = s.k('page/');
        const first = kv.createTransaction();
        first.setVersionstampedKey(page, new Uint8Array(0), utf8('old'));
        first.set(s.k('vv'), utf8('old'));
        const { versionstamp: oldStamp } = await first.commit();

        const tx = kv.createTransaction();
        const readVersion = await tx.getReadVersion();
        tx.setVersionstampedValue(s.k('vv'), utf8('p'));
        tx.setVersionstampedKey(page, new Uint8Array(0), utf8('new'));
        expect(await failure(() => tx.get(s.k('vv')))).toBe(1036);
        expect(await failure(() => tx.getRange(page, prefixEnd(page)))).toBe(1036);
        expect(await failure(() => tx.snapshot().getRange(page, prefixEnd(page), { reverse: true, limit: 1 }))).toBe(1036);
        // Stamps up to the read version are readable: how the engine reads a page's latest version.
        const upToReadVersion = keyAfter(concatBytes(page, versionstamp(readVersion, 0xffff)));
        const latest = await tx.getRange(page, upToReadVersion, { reverse: true, limit: 1 });
        expect(latest.map(([key, value]) => [Buffer.from(key), text(value)])).toEqual([
          [Buffer.from(concatBytes(page, oldStamp!)), 'old'],
        ]);
      });
    });

    describe('limits', () => {
      it('a value over 100,000 bytes fails with 2103; 100,000 is accepted', async () => {
        const s = space();
        const tx = kv.createTransaction();
        expect(await failure(() => tx.set(s.k('big'), new Uint8Array(100_001)))).toBe(2103);
        expect(await failure(() => tx.setVersionstampedValue(s.k('big'), new Uint8Array(99_991)))).toBe(2103);
        tx.set(s.k('max'), new Uint8Array(100_000));
        await tx.commit();
        expect(await s.all()).toEqual([['max', text(new Uint8Array(100_000))]]);
      });

      it('a key over 10,000 bytes fails with 2102 and writes nothing', async () => {
        const s = space();
        const big = concatBytes(s.prefix, new Uint8Array(10_001).fill(0x61));
        const tx = kv.createTransaction();
        expect(await failure(() => tx.set(big, utf8('x')))).toBe(2102);
        expect(await failure(() => tx.setVersionstampedKey(big, new Uint8Array(0), utf8('x')))).toBe(2102);
        tx.clear(big); // no such key can exist: a no-op, not an error
        expect(await tx.get(big)).toBeUndefined();
        await tx.commit();
        expect(await s.all()).toEqual([]);
      });

      it('a transaction over 10,000,000 bytes fails with 2101 and writes nothing', async () => {
        const s = space();
        const value = new Uint8Array(100_000);
        const tx = kv.createTransaction();
        for (let i = 0; i < 100; i++) tx.set(s.k(`v${i}`), value);
        expect(await failure(() => tx.commit())).toBe(2101);
        expect(await s.all()).toEqual([]);
      });

      it('conflict ranges count toward sizeLimit', async () => {
        const s = space();
        const tx = kv.createTransaction({ sizeLimit: 1_000 });
        tx.set(s.k('a'), utf8('x'));
        tx.addReadConflictRange(concatBytes(s.k('r'), new Uint8Array(600)), concatBytes(s.k('r'), new Uint8Array(601)));
        expect(await failure(() => tx.commit())).toBe(2101);
        expect(await s.all()).toEqual([]);
      });
    });

    describe('bad input', () => {
      it('inverted ranges fail with 2005 and change nothing', async () => {
        const s = space();
        await s.put({ a: '0', b: '0' });
        const tx = kv.createTransaction();
        expect(await failure(() => tx.getRange(s.k('b'), s.k('a')))).toBe(2005);
        expect(await failure(() => tx.snapshot().getRange(s.k('b'), s.k('a')))).toBe(2005);
        expect(await failure(() => tx.clearRange(s.k('b'), s.k('a')))).toBe(2005);
        expect(await failure(() => tx.addReadConflictRange(s.k('b'), s.k('a')))).toBe(2005);
        expect(await failure(() => tx.addWriteConflictRange(s.k('b'), s.k('a')))).toBe(2005);
        tx.set(s.k('c'), utf8('0'));
        await tx.commit();
        expect(await s.all()).toEqual([
          ['a', '0'],
          ['b', '0'],
          ['c', '0'],
        ]);
      });

      it('use after commit fails with 2017 and writes nothing', async () => {
        const s = space();
        const tx = kv.createTransaction();
        tx.set(s.k('a'), utf8('1'));
        await tx.commit();
        expect(await failure(() => tx.set(s.k('b'), utf8('1')))).toBe(2017);
        expect(await failure(() => tx.get(s.k('a')))).toBe(2017);
        expect(await failure(() => tx.commit())).toBe(2017);
        expect(await s.all()).toEqual([['a', '1']]);
      });

      it('a cancelled transaction fails with 1025 and writes nothing', async () => {
        const s = space();
        const tx = kv.createTransaction();
        tx.set(s.k('a'), utf8('1'));
        tx.cancel();
        expect(await failure(() => tx.get(s.k('a')))).toBe(1025);
        expect(await failure(() => tx.set(s.k('b'), utf8('1')))).toBe(1025);
        expect(await failure(() => tx.commit())).toBe(1025);
        expect(await s.all()).toEqual([]);
      });
    });

    describe('time', () => {
      it('a transaction past its timeoutMs fails with 1031 and writes nothing', async () => {
        const s = space();
        const tx = kv.createTransaction({ timeoutMs: 50 });
        tx.set(s.k('a'), utf8('1'));
        await sleep(120);
        expect(await failure(async () => {
          await tx.get(s.k('a'));
          await tx.commit();
        })).toBe(1031);
        expect(await failure(() => kv.run(async (t) => {
          await sleep(120);
          t.set(s.k('b'), utf8('1'));
        }, { timeoutMs: 50 }))).toBe(1031);
        expect(await s.all()).toEqual([]);
      });

      it('a transaction older than 5 s fails with 1007 on reads and on commit; onError recovers', async () => {
        const s = space();
        await s.put({ a: '0' });
        const reader = kv.createTransaction();
        await reader.getReadVersion();
        const writer = kv.createTransaction();
        await writer.get(s.k('a'));
        writer.set(s.k('a'), utf8('1'));
        await sleep(6_000);
        expect(await failure(() => reader.get(s.k('a')))).toBe(1007);
        const tooOld = await writer.commit().then(() => undefined, (err: unknown) => err);
        expect(errorCode(tooOld)).toBe(1007);
        expect(await s.all()).toEqual([['a', '0']]);
        await writer.onError(tooOld);
        expect(text(await writer.get(s.k('a')))).toBe('0');
        writer.set(s.k('a'), utf8('1'));
        await writer.commit();
        expect(await s.all()).toEqual([['a', '1']]);
      }, 20_000);
    });

    describe('onError', () => {
      it('resets the transaction for a retryable error: pending writes dropped, fresh read version', async () => {
        const s = space();
        const tx = kv.createTransaction();
        await tx.get(s.k('a'));
        tx.set(s.k('a'), utf8('dropped'));
        await s.put({ a: 'theirs' });
        await tx.onError(new KvError(ErrorCode.notCommitted));
        expect(text(await tx.get(s.k('a')))).toBe('theirs');
        expect(await tx.commit()).toEqual({});
        expect(await s.all()).toEqual([['a', 'theirs']]);
      });

      it('rethrows errors that are not retryable, and retryable ones past retryLimit', async () => {
        const tx = kv.createTransaction({ retryLimit: 1 });
        const inverted = new KvError(ErrorCode.invertedRange);
        await expect(tx.onError(inverted)).rejects.toBe(inverted);
        const plain = new Error('not a kv error');
        await expect(tx.onError(plain)).rejects.toBe(plain);
        await tx.onError(new KvError(ErrorCode.notCommitted));
        const second = new KvError(ErrorCode.notCommitted);
        await expect(tx.onError(second)).rejects.toBe(second);
      });
    });

    describe('run', () => {
      it('retries a conflict and succeeds, running the body again on fresh state', async () => {
        const s = space();
        await s.put({ n: '0' });
        let attempts = 0;
        const result = await kv.run(async (tx) => {
          attempts++;
          const n = Number(text(await tx.get(s.k('n'))));
          if (attempts === 1) await s.put({ n: String(n + 10) }); // a concurrent writer wins the first attempt
          tx.set(s.k('n'), utf8(String(n + 1)));
          return n;
        });
        expect(attempts).toBe(2);
        expect(result).toBe(10);
        expect(await s.all()).toEqual([['n', '11']]);
      });

      it('gives up after retryLimit retries with the last error', async () => {
        const s = space();
        let attempts = 0;
        const code = await failure(() =>
          kv.run(async (tx) => {
            attempts++;
            await tx.get(s.k('n'));
            await s.put({ n: String(attempts) });
            tx.set(s.k('mine'), utf8('x'));
          }, { retryLimit: 2 }),
        );
        expect(code).toBe(1020);
        expect(attempts).toBe(3);
        expect(await s.all()).toEqual([['n', '3']]);
      });

      it('does not retry an error that is not retryable', async () => {
        const s = space();
        let attempts = 0;
        await expect(
          kv.run(async (tx) => {
            attempts++;
            tx.set(s.k('a'), utf8('1'));
            throw new Error('body failed');
          }),
        ).rejects.toThrow('body failed');
        expect(await failure(() => kv.run(async (tx) => tx.getRange(s.k('b'), s.k('a'))))).toBe(2005);
        expect(attempts).toBe(1);
        expect(await s.all()).toEqual([]);
      });

      it('makes concurrent read-modify-write transactions serializable', async () => {
        const s = space();
        await s.put({ n: '0' });
        const increment = () =>
          kv.run(async (tx) => {
            const n = Number(text(await tx.get(s.k('n'))));
            await sleep(0);
            tx.set(s.k('n'), utf8(String(n + 1)));
          });
        await Promise.all(Array.from({ length: 20 }, increment));
        expect(await s.all()).toEqual([['n', '20']]);
      });
    });
  });
}

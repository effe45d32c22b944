import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareBytes, utf8 } from '../../src/kv/bytes.ts';
import { createEmbeddedKv } from '../../src/kv/embedded.ts';
import { errorCode } from '../../src/kv/errors.ts';
import { MemoryStorage, openMemoryKv } from '../../src/kv/memory.ts';
import { clampRange } from '../../src/kv/transaction.ts';
import { describeKvConformance } from './conformance.ts';

describeKvConformance('memory', async () => {
  const kv = openMemoryKv();
  return { kv, close: () => kv.close() };
});

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString());

/** A memory Kv on a clock the test moves. */
function fakeClockKv() {
  let now = 1_700_000_000_000;
  const clock = () => now;
  const storage = new MemoryStorage({ now: clock });
  const kv = createEmbeddedKv(storage, 'memory:', { now: clock });
  return { kv, storage, advance: (ms: number) => (now += ms), now: clock };
}

describe('memory store: versions and the 5 s window (fake clock)', () => {
  it('commit versions follow the clock at 1e6 per second and never repeat', async () => {
    const { kv, advance, now } = fakeClockKv();
    const commit = async () => {
      const tx = kv.createTransaction();
      tx.set(utf8('k'), utf8('v'));
      return (await tx.commit()).version!;
    };
    const a = await commit();
    const b = await commit();
    expect(a).toBe(BigInt(now()) * 1000n);
    expect(b).toBe(a + 1n);
    advance(2_000);
    expect(await commit()).toBe(BigInt(now()) * 1000n);
  });

  it('a transaction whose read version is older than the window gets 1007 on read and commit', async () => {
    const { kv, advance } = fakeClockKv();
    const tx = kv.createTransaction();
    expect(await tx.get(utf8('a'))).toBeUndefined();
    tx.set(utf8('a'), utf8('1'));
    advance(5_001);
    expect(errorCode(await tx.get(utf8('b')).catch((e) => e))).toBe(1007);
    expect(errorCode(await tx.commit().catch((e) => e))).toBe(1007);
  });

  it('the store itself rejects a read version whose conflict history was pruned, but only for transactions that read', async () => {
    const { kv, storage, advance } = fakeClockKv();
    const old = storage.snapshot();
    old.release();
    for (let i = 0; i < 3; i++) {
      await kv.run(async (tx) => tx.set(utf8('k'), utf8(String(i))));
      advance(3_000);
    }
    const k = { begin: utf8('k'), end: utf8('k\x00') };
    const oldRead = { readVersion: old.version, writeConflicts: [k], mutations: [] };
    expect(errorCode(await storage.commit({ ...oldRead, readConflicts: [k] }).catch((e) => e))).toBe(1007);
    // A blind write cannot conflict, so its read version does not matter (as on FoundationDB).
    await expect(storage.commit({ ...oldRead, readConflicts: [] })).resolves.toBeDefined();
  });

  it('an idle store does not make a new transaction too old: its read version is the last commit', async () => {
    const { kv, advance } = fakeClockKv();
    await kv.run(async (tx) => tx.set(utf8('a'), utf8('0')));
    advance(60_000);
    await kv.run(async (tx) => {
      const n = Number(text(await tx.get(utf8('a'))));
      tx.set(utf8('a'), utf8(String(n + 1)));
    }, { retryLimit: 0 });
    expect(text(await kv.createTransaction().get(utf8('a')))).toBe('1');
  });
});

describe('memory store: sharing and closing', () => {
  it('memory:<name> stores are shared by name; unnamed ones are private', async () => {
    const a = openMemoryKv('shared-test');
    const b = openMemoryKv('shared-test');
    const other = openMemoryKv('shared-test-other');
    const priv = openMemoryKv();
    await a.run(async (tx) => tx.set(utf8('k'), utf8('from a')));
    expect(text(await b.createTransaction().get(utf8('k')))).toBe('from a');
    expect(await other.createTransaction().get(utf8('k'))).toBeUndefined();
    expect(await priv.createTransaction().get(utf8('k'))).toBeUndefined();
    await a.close();
    expect(text(await b.createTransaction().get(utf8('k')))).toBe('from a');
    expect(a.url).toBe('memory:shared-test');
  });

  it('a closed Kv refuses new transactions with 2132; run rejects rather than throwing', async () => {
    const kv = openMemoryKv();
    const open = kv.createTransaction();
    open.set(utf8('k'), utf8('v'));
    await kv.close();
    expect(() => kv.createTransaction()).toThrow(expect.objectContaining({ code: 2132 }));
    const running = kv.run(async () => {});
    await expect(running).rejects.toMatchObject({ code: 2132 });
    await expect(open.commit()).rejects.toMatchObject({ code: 2132 });
  });
});

describe('a store with a lower key limit (maxKeyBytes)', () => {
  const limited = () => createEmbeddedKv(new MemoryStorage(), 'memory:', { maxKeyBytes: 8 });

  it('rejects longer keys with 2102 naming the limit; reads and clears of them are no-ops', async () => {
    const kv = limited();
    const tx = kv.createTransaction();
    tx.set(utf8('12345678'), utf8('max'));
    expect(() => tx.set(utf8('123456789'), utf8('x'))).toThrow(/up to 8 bytes/);
    expect(await tx.get(utf8('123456789'))).toBeUndefined();
    tx.clear(utf8('123456789'));
    await tx.commit();
    expect(text(await kv.createTransaction().get(utf8('12345678')))).toBe('max');
  });

  it('ranges with endpoints longer than the limit select exactly the same stored keys', async () => {
    const L = 4;
    const key = fc.uint8Array({ minLength: 0, maxLength: L });
    const endpoint = fc.uint8Array({ minLength: 0, maxLength: L + 3 });
    fc.assert(
      fc.property(fc.array(key, { maxLength: 20 }), endpoint, endpoint, (keys, begin, end) => {
        const clamped = clampRange(begin, end, L);
        if (clamped) {
          expect(clamped.begin.length).toBeLessThanOrEqual(L + 1);
          expect(clamped.end.length).toBeLessThanOrEqual(L + 1);
        }
        for (const k of keys) {
          const inOriginal = compareBytes(begin, k) <= 0 && compareBytes(k, end) < 0;
          const inClamped = clamped !== undefined && compareBytes(clamped.begin, k) <= 0 && compareBytes(k, clamped.end) < 0;
          expect(inClamped).toBe(inOriginal);
        }
      }),
      { numRuns: 200 },
    );
  });
});

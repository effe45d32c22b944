import { describe, expect, it } from 'vitest';
import { utf8 } from '../../src/kv/bytes.ts';
import { errorCode } from '../../src/kv/errors.ts';
import { withFaults, type FaultKind, type FaultOptions, type FaultyKv } from '../../src/kv/faults.ts';
import { openMemoryKv } from '../../src/kv/memory.ts';
import type { Kv } from '../../src/kv/types.ts';
import { syncBacked } from './sync-adapter.ts';

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString());
const read = (kv: Kv, key: string) => kv.createTransaction().get(utf8(key)).then(text);

/** Commits one write per key through `faulty`; returns each commit's error code (undefined = success). */
async function commitEach(faulty: Kv, keys: string[]) {
  const codes: (number | undefined)[] = [];
  for (const key of keys) {
    const tx = faulty.createTransaction();
    tx.set(utf8(key), utf8('x'));
    codes.push(await tx.commit().then(() => undefined, errorCode));
  }
  return codes;
}

/**
 * withFaults on one path: the asynchronous transactions, or the synchronous ones (presented as
 * asynchronous by syncBacked, so the same tests run on both).
 */
function faultsOn(path: 'asynchronous' | 'synchronous') {
  return (inner: Kv, options: FaultOptions): FaultyKv => {
    const wrapped = withFaults(inner, options);
    return path === 'asynchronous' ? wrapped : Object.assign(syncBacked(wrapped), { injected: wrapped.injected });
  };
}

for (const path of ['asynchronous', 'synchronous'] as const) {
  describe(`withFaults, ${path} transactions`, () => {
    const withPathFaults = faultsOn(path);
    const single: [FaultKind, number, boolean][] = [
      ['notCommitted', 1020, false],
      ['tooOld', 1007, false],
      ['unknownCommitted', 1021, true],
      ['unknownNotCommitted', 1021, false],
      ['timeout', 1031, false],
    ];
    for (const [kind, code, applied] of single) {
      it(`${kind}: commit fails with ${code} and the write is ${applied ? '' : 'not '}applied`, async () => {
        const inner = openMemoryKv();
        const faulty = withPathFaults(inner, { seed: 1, [kind]: 1 });
        expect(await commitEach(faulty, ['k'])).toEqual([code]);
        expect(await read(inner, 'k')).toBe(applied ? 'x' : undefined);
        expect(faulty.injected[kind]).toBe(1);
      });
    }

    it('the same seed injects the same faults; the counters add up', async () => {
      const options: FaultOptions = { seed: 42, notCommitted: 0.2, unknownCommitted: 0.1, timeout: 0.1 };
      const keys = Array.from({ length: 60 }, (_, i) => `k${i}`);
      const a = withPathFaults(openMemoryKv(), options);
      const b = withPathFaults(openMemoryKv(), options);
      const codesA = await commitEach(a, keys);
      expect(await commitEach(b, keys)).toEqual(codesA);
      expect(a.injected).toEqual(b.injected);
      const count = (code: number) => codesA.filter((c) => c === code).length;
      expect(a.injected.notCommitted).toBe(count(1020));
      expect(a.injected.unknownCommitted).toBe(count(1021));
      expect(a.injected.timeout).toBe(count(1031));
      expect(a.injected.tooOld + a.injected.unknownNotCommitted).toBe(0);
      // A different seed gives a different sequence.
      expect(await commitEach(withPathFaults(openMemoryKv(), { ...options, seed: 43 }), keys)).not.toEqual(codesA);
    });

    it('injects at about the configured rate', async () => {
      const faulty = withPathFaults(openMemoryKv(), { seed: 7, notCommitted: 0.3 });
      const codes = await commitEach(faulty, Array.from({ length: 400 }, (_, i) => `k${i}`));
      const rate = codes.filter((c) => c === 1020).length / codes.length;
      expect(rate).toBeGreaterThan(0.2);
      expect(rate).toBeLessThan(0.4);
    });

    it('never faults a read-only commit (it cannot fail on FoundationDB)', async () => {
      const faulty = withPathFaults(openMemoryKv(), { seed: 1, notCommitted: 1 });
      const tx = faulty.createTransaction();
      await tx.get(utf8('k'));
      expect(await tx.commit()).toEqual({});
      expect(faulty.injected.notCommitted).toBe(0);
    });

    it('run retries injected faults; an idempotent body applies each increment exactly once', async () => {
      const inner = openMemoryKv();
      const faulty = withPathFaults(inner, {
        seed: 3,
        notCommitted: 0.15,
        tooOld: 0.1,
        unknownCommitted: 0.15,
        unknownNotCommitted: 0.1,
      });
      const n = 40;
      for (let i = 0; i < n; i++) {
        // The idempotency key is chosen outside the retry loop; a retry that finds it knows it committed.
        const id = utf8(`done/${i}`);
        await faulty.run(async (tx) => {
          if (await tx.get(id)) return;
          const count = Number(text(await tx.get(utf8('count'))) ?? '0');
          tx.set(utf8('count'), utf8(String(count + 1)));
          tx.set(id, utf8('1'));
        });
      }
      expect(await read(inner, 'count')).toBe(String(n));
      expect(faulty.injected.unknownCommitted).toBeGreaterThan(0);
    });

    it('run does not retry an injected timeout', async () => {
      const faulty = withPathFaults(openMemoryKv(), { seed: 1, timeout: 1 });
      let attempts = 0;
      const code = await faulty
        .run(async (tx) => {
          attempts++;
          tx.set(utf8('k'), utf8('x'));
        })
        .then(() => undefined, errorCode);
      expect(code).toBe(1031);
      expect(attempts).toBe(1);
    });
  });
}

describe('withFaults', () => {
  it('offers synchronous transactions exactly when the store does', () => {
    expect(typeof withFaults(openMemoryKv(), { seed: 1 }).createTransactionSync).toBe('function');
    const asyncOnly: Kv = { ...openMemoryKv(), createTransactionSync: undefined };
    expect(withFaults(asyncOnly, { seed: 1 }).createTransactionSync).toBeUndefined();
  });

  it('rejects rates outside [0, 1], rates adding up to more than 1, and a non-integer seed', () => {
    const inner = openMemoryKv();
    for (const options of [{ seed: 1, tooOld: 1.5 }, { seed: 1, tooOld: 0.6, timeout: 0.6 }, { seed: 0.5 }]) {
      expect(() => withFaults(inner, options)).toThrow(expect.objectContaining({ code: 2006 }));
    }
  });
});

/** The memory store's chunked key index against a sorted-array model, with tiny chunks so they split. */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareBytes } from '../../src/kv/bytes.ts';
import { SortedEntries } from '../../src/kv/sorted-entries.ts';

const keyArb = fc.uint8Array({ minLength: 0, maxLength: 2, max: 7 });
type Op = { kind: 'insert'; key: Uint8Array } | { kind: 'remove'; below: number };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: keyArb.map((key): Op => ({ kind: 'insert', key })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 7 }).map((below): Op => ({ kind: 'remove', below })) },
);

describe('SortedEntries', () => {
  it('finds, inserts, removes and lists ranges (both directions) exactly like a sorted array', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), keyArb, keyArb, fc.integer({ min: 1, max: 5 }), (ops, a, b, chunkMax) => {
        const index = new SortedEntries<{ key: Uint8Array }>(chunkMax);
        let model: Uint8Array[] = [];
        for (const op of ops) {
          if (op.kind === 'insert') {
            const entry = index.getOrInsert(op.key, () => ({ key: op.key }));
            expect(Buffer.compare(entry.key, op.key)).toBe(0);
            if (!model.some((k) => compareBytes(k, op.key) === 0)) model = [...model, op.key].sort(compareBytes);
          } else {
            // Drop keys whose first byte is below op.below (the empty key counts as below).
            const drop = (k: Uint8Array) => (k[0] ?? -1) < op.below;
            index.removeWhere((e) => drop(e.key));
            model = model.filter((k) => !drop(k));
          }
        }
        for (const k of [a, b]) {
          expect(index.get(k) !== undefined).toBe(model.some((m) => compareBytes(m, k) === 0));
        }
        const [begin, end] = compareBytes(a, b) <= 0 ? [a, b] : [b, a];
        const expected = model.filter((k) => compareBytes(begin, k) <= 0 && compareBytes(k, end) < 0).map((k) => [...k]);
        expect([...index.between(begin, end)].map((e) => [...e.key])).toEqual(expected);
        expect([...index.between(begin, end, true)].map((e) => [...e.key])).toEqual(expected.reverse());
      }),
      { numRuns: 300 },
    );
  });
});

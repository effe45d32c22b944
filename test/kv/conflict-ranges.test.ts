/**
 * Conflict-range sets: RangeList (collected, merged at commit), RangeSet (merged on every add) and
 * normalizeRanges must all describe exactly the union of the ranges added, as sorted, disjoint,
 * non-touching ranges (the form the resolvers compare).
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareBytes } from '../../src/kv/bytes.ts';
import { normalizeRanges, RangeList, RangeSet } from '../../src/kv/conflict-ranges.ts';
import type { KeyRange } from '../../src/kv/storage.ts';

// Keys over a 3-letter alphabet, up to 3 bytes: small enough to check every key of the universe.
const ALPHABET = [0x00, 0x61, 0xff];
const universe: Uint8Array[] = [new Uint8Array(0)];
for (let length = 1; length <= 3; length++) {
  for (const prefix of universe.filter((k) => k.length === length - 1)) {
    for (const byte of ALPHABET) universe.push(Uint8Array.from([...prefix, byte]));
  }
}
universe.sort(compareBytes);
const keyArb = fc.constantFrom(...universe);
const rangesArb = fc.array(fc.tuple(keyArb, keyArb).map(([begin, end]): KeyRange => ({ begin, end })), { maxLength: 12 });

const inRange = (key: Uint8Array, r: KeyRange) => compareBytes(r.begin, key) <= 0 && compareBytes(key, r.end) < 0;

function expectUnionOf(result: readonly KeyRange[], added: KeyRange[]): void {
  for (let i = 0; i < result.length; i++) {
    expect(compareBytes(result[i]!.begin, result[i]!.end)).toBeLessThan(0);
    // Sorted, disjoint and not touching: each range ends strictly before the next begins.
    if (i > 0) expect(compareBytes(result[i - 1]!.end, result[i]!.begin)).toBeLessThan(0);
  }
  for (const key of universe) {
    expect(result.some((r) => inRange(key, r))).toBe(added.some((r) => inRange(key, r)));
  }
}

describe('conflict-range sets', () => {
  it('RangeList, RangeSet and normalizeRanges hold exactly the union of the ranges added', () => {
    fc.assert(
      fc.property(rangesArb, (added) => {
        const list = new RangeList();
        const set = new RangeSet();
        for (const r of added) {
          list.add(r.begin, r.end);
          set.add(r.begin, r.end);
        }
        expectUnionOf(list.ranges, added);
        expectUnionOf(set.ranges, added);
        expectUnionOf(normalizeRanges(added), added);
        expect(list.isEmpty).toBe(list.ranges.length === 0);
      }),
      { numRuns: 300 },
    );
  });

  it('a RangeList read at commit and then added to still holds the union', () => {
    fc.assert(
      fc.property(rangesArb, rangesArb, (first, second) => {
        const list = new RangeList();
        for (const r of first) list.add(r.begin, r.end);
        expectUnionOf(list.ranges, first);
        for (const r of second) list.add(r.begin, r.end);
        expectUnionOf(list.ranges, [...first, ...second]);
      }),
      { numRuns: 200 },
    );
  });
});

/** Key order: compareBytes (a JavaScript loop for short keys) against memcmp order (Buffer.compare). */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareBytes } from '../../src/kv/bytes.ts';

// Shared prefixes make the interesting cases (equal up to the shorter length, one byte apart) common.
const prefix = fc.uint8Array({ minLength: 0, maxLength: 80 });
const tail = fc.uint8Array({ minLength: 0, maxLength: 3, max: 2 });

describe('compareBytes', () => {
  it('orders keys of any length as memcmp does, shorter prefix first', () => {
    fc.assert(
      fc.property(prefix, tail, tail, (p, a, b) => {
        const x = Buffer.concat([p, a]);
        const y = Buffer.concat([p, b]);
        expect(compareBytes(x, y)).toBe(Buffer.compare(x, y));
        expect(compareBytes(new Uint8Array(x), y.subarray(0))).toBe(Buffer.compare(x, y));
      }),
      { numRuns: 500 },
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareBytes } from '../../src/kv/bytes.ts';
import { decodeChangelogEntry, encodeChangelogEntry, MAX_CLIENT_TAG_BYTES } from '../../src/engine/changelog.ts';
import { InvalidNameError, InvalidOptionError, VersionFormatError } from '../../src/engine/errors.ts';
import { namespacePrefix, namespaceRange, nameKey, pageRangeAt, DEFAULT_ROOT } from '../../src/engine/keys.ts';
import { validatePageSize, validateRetention } from '../../src/engine/metadata.ts';
import { validateName } from '../../src/engine/names.ts';
import {
  commitVersionOf,
  parseVersion,
  versionFromBytes,
  versionOfReadVersion,
  versionToBytes,
} from '../../src/engine/version.ts';

const versionBytes = fc.uint8Array({ minLength: 10, maxLength: 10 });

describe('versions', () => {
  it('round-trip through bytes, and string order is byte order', () => {
    fc.assert(
      fc.property(versionBytes, versionBytes, (a, b) => {
        const va = versionFromBytes(a);
        const vb = versionFromBytes(b);
        expect(va).toMatch(/^[0-9a-f]{20}$/);
        expect(versionToBytes(va)).toEqual(a);
        expect(Math.sign(va < vb ? -1 : va > vb ? 1 : 0)).toBe(Math.sign(compareBytes(a, b)));
      }),
    );
  });

  it('parse normalizes upper case', () => {
    expect(parseVersion('00003A6ED63A7951FFFF')).toBe('00003a6ed63a7951ffff');
  });

  it.each(['', '00003a6ed63a7951fff', '00003a6ed63a7951ffff0', '00003a6ed63a7951fffg', ' 0003a6ed63a7951ffff', 'latest'])(
    'rejects %j with the expected form in the message',
    (text) => {
      expect(() => parseVersion(text)).toThrow(VersionFormatError);
      expect(() => parseVersion(text)).toThrow(/20 hexadecimal characters.*e\.g\. 00003a6ed63a7951ffff/);
    },
  );

  it('a read version as a snapshot is rv ‖ ffff', () => {
    const v = versionOfReadVersion(0x3a6ed63a7951n);
    expect(v).toBe('00003a6ed63a7951ffff');
    expect(commitVersionOf(v)).toBe(0x3a6ed63a7951n);
  });
});

describe('names', () => {
  it('accepts 1..128 of [A-Za-z0-9._-]', () => {
    for (const name of ['a', 'Orders_2024.v-1', 'x'.repeat(128), '..']) expect(validateName(name)).toBe(name);
  });

  it.each(['', 'x'.repeat(129), 'a/b', 'a b', 'naïve', 'a\u0000b', 'ä'])('rejects %j saying what is accepted', (name) => {
    expect(() => validateName(name)).toThrow(InvalidNameError);
    expect(() => validateName(name)).toThrow(/1 to 128 characters of A-Z, a-z, 0-9/);
  });

  it('rejects non-strings', () => {
    expect(() => validateName(42)).toThrow(InvalidNameError);
  });
});

describe('keys', () => {
  it('one namespace never contains another namespace key, nor a name key', () => {
    fc.assert(
      fc.property(versionBytes, versionBytes, fc.stringMatching(/^[A-Za-z0-9._-]{1,128}$/), (a, b, name) => {
        fc.pre(compareBytes(a, b) !== 0);
        const range = namespaceRange(namespacePrefix(DEFAULT_ROOT, a));
        const inside = (k: Uint8Array) => compareBytes(range.begin, k) <= 0 && compareBytes(k, range.end) < 0;
        expect(inside(namespacePrefix(DEFAULT_ROOT, b))).toBe(false);
        expect(inside(nameKey(DEFAULT_ROOT, name))).toBe(false);
      }),
    );
  });

  it('a page range at a version holds exactly the versions at or before it', () => {
    fc.assert(
      fc.property(versionBytes, versionBytes, fc.integer({ min: 0, max: 0xffffffff }), (at, v, page) => {
        const ns = namespacePrefix(DEFAULT_ROOT, new Uint8Array(10));
        const range = pageRangeAt(ns, page, at);
        const key = pageRangeAt(ns, page, v).end.subarray(0, -1); // ns ‖ 'p' ‖ page ‖ v
        const inside = compareBytes(range.begin, key) <= 0 && compareBytes(key, range.end) < 0;
        expect(inside).toBe(compareBytes(v, at) <= 0);
      }),
    );
  });
});

describe('metadata options', () => {
  it('accepts powers of two from 4096 to 65536', () => {
    for (const size of [4096, 8192, 16384, 32768, 65536]) expect(validatePageSize(size)).toBe(size);
  });

  it.each([0, 512, 2048, 4095, 5000, 131072, 4096.5, NaN, '4096', undefined])('rejects page size %j', (size) => {
    expect(() => validatePageSize(size)).toThrow(InvalidOptionError);
    expect(() => validatePageSize(size)).toThrow(/power of two from 4096 to 65536/);
  });

  it.each([-1, 1.5, NaN, Infinity, '7d'])('rejects retention %j', (ms) => {
    expect(() => validateRetention(ms)).toThrow(/whole number of milliseconds/);
  });
});

describe('changelog entries', () => {
  it('round-trip', () => {
    fc.assert(
      fc.property(
        fc.record({
          time: fc.integer({ min: 0, max: 2 ** 50 }),
          pageCount: fc.integer({ min: 0, max: 0xffffffff }),
          bytes: fc.integer({ min: 0, max: 2 ** 50 }),
          clientTag: fc.option(fc.string({ minLength: 1, maxLength: 60 }), { nil: undefined }),
          pages: fc.oneof(fc.constant('all' as const), fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 50 })),
          idempotencyKey: fc.uint8Array({ minLength: 16, maxLength: 16 }),
        }),
        (entry) => {
          const { clientTag, ...rest } = entry;
          const e = clientTag === undefined ? rest : entry;
          expect(decodeChangelogEntry(encodeChangelogEntry(e))).toEqual(e);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('reads entries written before the idempotency key was added (format 1)', () => {
    const v1 = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 32, 0, 1, 0x61, 0, 0, 0, 3, 0, 0, 0, 9]);
    expect(decodeChangelogEntry(v1)).toEqual({ time: 42, pageCount: 2, bytes: 8192, clientTag: 'a', pages: [3, 9] });
  });

  it('rejects a client tag over the limit', () => {
    const e = { time: 0, pageCount: 0, bytes: 0, pages: [], clientTag: 'x'.repeat(MAX_CLIENT_TAG_BYTES + 1), idempotencyKey: new Uint8Array(16) };
    expect(() => encodeChangelogEntry(e)).toThrow(/client tag/);
  });
});

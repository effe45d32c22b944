import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatTime, parseCount, parsePointInTime } from '../../src/cli/args.ts';
import { UsageError } from '../../src/cli/errors.ts';

const now = new Date('2025-06-15T12:00:00Z');

describe('parsePointInTime', () => {
  it('accepts versions (normalized to lowercase) and head', () => {
    expect(parsePointInTime('00003A6ED63A7951FFFF')).toEqual({ kind: 'version', version: '00003a6ed63a7951ffff' });
    expect(parsePointInTime('HEAD')).toEqual({ kind: 'head' });
  });

  it('accepts relative times', () => {
    expect(parsePointInTime('3 days ago', now)).toEqual({ kind: 'time', time: new Date('2025-06-12T12:00:00Z') });
    expect(parsePointInTime('90s ago', now)).toEqual({ kind: 'time', time: new Date('2025-06-15T11:58:30Z') });
    expect(parsePointInTime('1.5 hours ago', now)).toEqual({ kind: 'time', time: new Date('2025-06-15T10:30:00Z') });
  });

  it('accepts ISO times with a zone, and local times without one', () => {
    expect(parsePointInTime('2025-06-01T10:20:30.5Z')).toEqual({ kind: 'time', time: new Date('2025-06-01T10:20:30.500Z') });
    expect(parsePointInTime('2025-06-01 10:20+02:00')).toEqual({ kind: 'time', time: new Date('2025-06-01T08:20:00Z') });
    expect(parsePointInTime('2025-06-01 10:20')).toEqual({ kind: 'time', time: new Date(2025, 5, 1, 10, 20) });
    expect(parsePointInTime('2025-06-01')).toEqual({ kind: 'time', time: new Date(2025, 5, 1) });
  });

  it('reads back every time formatTime prints', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }), (ms) => {
        expect(parsePointInTime(formatTime(new Date(ms)))).toEqual({ kind: 'time', time: new Date(ms) });
      }),
      { numRuns: 100 },
    );
  });

  it.each([
    ['00003a6ed63a7951fff', /exactly 20 hex digits \(got 19\)/],
    ['yesterday-ish', /not a version or time; accepted: a version \(20 hex digits/],
    ['2025-06-01 25:00', /not a version or time/],
    ['3 fortnights ago', /not a version or time; accepted: .*"3 days ago"/],
    ['', /not a version or time/],
  ])('rejects %j with a message naming what is accepted', (text, message) => {
    expect(() => parsePointInTime(text)).toThrow(UsageError);
    expect(() => parsePointInTime(text)).toThrow(message);
  });
});

describe('parseCount', () => {
  it('accepts whole numbers at or above the minimum only', () => {
    expect(parseCount('--limit', '5')).toBe(5);
    for (const bad of ['0', '-1', '1.5', 'ten', '', '99999999999999999999']) {
      expect(() => parseCount('--limit', bad)).toThrow(/--limit must be a whole number ≥ 1/);
    }
  });
});

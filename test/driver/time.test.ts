/** The driver's point-in-time text (at(), versionAt(), the CLI's --at): what it reads, and what it refuses. */
import { describe, expect, it } from 'vitest';
import { ArgumentError, parsePointInTime } from '../../src/index.ts';

const REFUSED = /^cannot read a point in time from ".*"; accepted: a version \(20 hex digits\), a Date, "now"/;

function refusal(text: string): unknown {
  try {
    return parsePointInTime(text);
  } catch (error) {
    return error;
  }
}

describe('parsePointInTime', () => {
  it('reads real calendar dates and times, including 29 February of a leap year', () => {
    expect(parsePointInTime('2024-02-29T12:30:00Z')).toEqual({ time: new Date(Date.UTC(2024, 1, 29, 12, 30)) });
    expect(parsePointInTime('2000-02-29T00:00:00Z')).toEqual({ time: new Date(Date.UTC(2000, 1, 29)) });
    expect(parsePointInTime('2025-12-31 23:59:59')).toEqual({ time: new Date(2025, 11, 31, 23, 59, 59) });
    expect(parsePointInTime('2025-04-30')).toEqual({ time: new Date(2025, 3, 30) });
  });

  it.each([
    ['30 February', '2025-02-30'],
    ['29 February of a common year', '2025-02-29'],
    ['29 February of a century that is not a leap year', '1900-02-29T00:00:00Z'],
    ['31 April', '2025-04-31 10:00'],
    ['day 0', '2025-05-00'],
    ['month 13', '2025-13-01'],
    ['month 0', '2025-00-10'],
    ['hour 24', '2025-01-01T24:00:00Z'],
    ['minute 60', '2025-01-01 12:60'],
    ['second 60', '2025-01-01T12:00:60Z'],
  ])('refuses an impossible date or time (%s) with the usual error', (_what, text) => {
    const error = refusal(text);
    expect(error).toBeInstanceOf(ArgumentError);
    expect((error as Error).message).toMatch(REFUSED);
    expect((error as Error).message).toContain(JSON.stringify(text));
  });
});

/** Parsing of the CLI's argument values: points in history, counts. */

import { MvdbError, parseDuration, parsePointInTime as parseDriverPoint } from '../index.ts';
import { UsageError } from './errors.ts';

export type PointInTime =
  | { kind: 'head' }
  | { kind: 'version'; version: string }
  | { kind: 'time'; time: Date }
  | { kind: 'tag'; tag: string };

export const POINT_IN_TIME_FORMS =
  'a version (20 hex digits, e.g. 00003a6ed63a7951ffff), "head", ' +
  'a time ("2024-05-01 12:30:00" local, or ISO 8601 with Z or ±hh:mm), ' +
  'a relative time ("90 seconds ago", "3 days ago"), or a tag ("tag:<name>", mvdb tag <db> lists them)';

/**
 * Where in a database's history to look: "head", or any form the driver's
 * at() reads (so the CLI and the library accept the same text). Throws
 * UsageError naming the accepted forms.
 */
export function parsePointInTime(input: string, now: Date = new Date()): PointInTime {
  const text = input.trim();
  if (/^head$/i.test(text)) return { kind: 'head' };
  if (text.startsWith('tag:')) {
    // Whether the tag exists is the database's to say.
    if (text.length === 4) throw new UsageError(`"${input}" names no tag: write tag:<name> (mvdb tag <db> lists the tags)`);
    return { kind: 'tag', tag: text.slice(4) };
  }
  if (/^[0-9a-f]+$/i.test(text) && text.length !== 20) {
    throw new UsageError(`"${input}" is not a version: a version is exactly 20 hex digits (got ${text.length})`);
  }
  try {
    const point = parseDriverPoint(text, now.getTime());
    return 'version' in point ? { kind: 'version', version: point.version } : { kind: 'time', time: point.time };
  } catch (err) {
    if (err instanceof MvdbError) throw new UsageError(`"${input}" is not a version or time; accepted: ${POINT_IN_TIME_FORMS}`, { cause: err });
    throw err;
  }
}

/** A duration ("7 days", "12h", ms) for option or argument `what`; UsageError naming the accepted forms. */
export function parseDurationArgument(input: string, what: string): number {
  try {
    return parseDuration(input, what);
  } catch (err) {
    throw new UsageError((err as Error).message, { cause: err });
  }
}

/** A whole number ≥ `min`, for options like --limit. */
export function parseCount(name: string, input: string, min = 1): number {
  if (!/^\d+$/.test(input.trim()) || Number(input) < min || !Number.isSafeInteger(Number(input))) {
    throw new UsageError(`${name} must be a whole number ≥ ${min} (got "${input}")`);
  }
  return Number(input);
}

/** A point in time as a person reads it: local time with its offset, in a form parsePointInTime reads back. */
export function formatTime(date: Date): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const off = -date.getTimezoneOffset();
  const zone = `${off < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}${zone}`
  );
}

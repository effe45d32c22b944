/** Parsing of the CLI's argument values: points in history, counts. */

import { UsageError } from './errors.ts';

export type PointInTime =
  | { kind: 'head' }
  | { kind: 'version'; version: string }
  | { kind: 'time'; time: Date };

export const POINT_IN_TIME_FORMS =
  'a version (20 hex digits, e.g. 00003a6ed63a7951ffff), "head", ' +
  'a time ("2024-05-01 12:30:00" local, or ISO 8601 with Z or ±hh:mm), ' +
  'or a relative time ("90 seconds ago", "3 days ago")';

const UNIT_MS: Record<string, number> = {
  s: 1000, sec: 1000, secs: 1000, second: 1000, seconds: 1000,
  m: 60_000, min: 60_000, mins: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hr: 3_600_000, hrs: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000,
  w: 604_800_000, week: 604_800_000, weeks: 604_800_000,
};

const RELATIVE = /^(\d+(?:\.\d+)?)\s*([a-z]+)\s+ago$/i;
const ABSOLUTE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/** A zone-less time is local (what a person at this terminal means); Z or ±hh:mm fixes the zone. */
function parseAbsolute(text: string): Date | undefined {
  const m = ABSOLUTE.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '0', zone] = m;
  const fields = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)] as const;
  const ms = Math.floor(Number(`0.${frac}`) * 1000);
  let date: Date;
  if (zone === undefined) {
    date = new Date(fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], ms);
  } else {
    const offsetMin =
      zone.toUpperCase() === 'Z'
        ? 0
        : (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2)));
    date = new Date(Date.UTC(...fields, ms) - offsetMin * 60_000);
  }
  // Reject dates that do not exist (2024-02-30, 25:00) instead of rolling them over.
  const check = zone === undefined ? date : new Date(Date.UTC(...fields, ms));
  const got =
    zone === undefined
      ? [check.getFullYear(), check.getMonth(), check.getDate(), check.getHours(), check.getMinutes(), check.getSeconds()]
      : [check.getUTCFullYear(), check.getUTCMonth(), check.getUTCDate(), check.getUTCHours(), check.getUTCMinutes(), check.getUTCSeconds()];
  return got.every((v, i) => v === fields[i]) ? date : undefined;
}

/** Parses where in a database's history to look. Throws UsageError naming the accepted forms. */
export function parsePointInTime(input: string, now: Date = new Date()): PointInTime {
  const text = input.trim();
  if (/^head$/i.test(text)) return { kind: 'head' };
  if (/^[0-9a-f]{20}$/i.test(text)) return { kind: 'version', version: text.toLowerCase() };
  if (/^now$/i.test(text)) return { kind: 'time', time: now };
  const rel = RELATIVE.exec(text);
  if (rel) {
    const unit = UNIT_MS[rel[2]!.toLowerCase()];
    if (unit === undefined) {
      throw new UsageError(
        `unknown time unit "${rel[2]}" in "${input}"; accepted: seconds, minutes, hours, days, weeks (or s, m, h, d, w)`,
      );
    }
    return { kind: 'time', time: new Date(now.getTime() - Number(rel[1]) * unit) };
  }
  const abs = parseAbsolute(text);
  if (abs) return { kind: 'time', time: abs };
  if (/^[0-9a-f]+$/i.test(text)) {
    throw new UsageError(`"${input}" is not a version: a version is exactly 20 hex digits (got ${text.length})`);
  }
  throw new UsageError(`"${input}" is not a version or time; accepted: ${POINT_IN_TIME_FORMS}`);
}

/** A whole number ≥ `min`, for options like --limit. */
export function parseCount(name: string, input: string, min = 1): number {
  if (!/^\d+$/.test(input.trim()) || Number(input) < min || !Number.isSafeInteger(Number(input))) {
    throw new UsageError(`${name} must be a whole number ≥ ${min} (got "${input}")`);
  }
  return Number(input);
}

/** A point in time as the text a person reads, local time with the zone offset. */
export function formatTime(date: Date): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const off = -date.getTimezoneOffset();
  const zone = `${off < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)} ${zone}`
  );
}

/**
 * Points in time for at() and versionAt(): a version, a Date, or text.
 *
 * Text forms: a version (20 hex digits), "now", a relative time "<n> <unit> ago"
 * (units: s, sec, second(s), m, min, minute(s), h, hr, hour(s), d, day(s),
 * w, week(s)), or an ISO 8601 date/time ("2024-05-01", "2024-05-01T12:30:00Z",
 * "2024-05-01 12:30:00" local time).
 */
import { parseVersion } from '../../vfs/index.ts';
import { ArgumentError } from './errors.ts';

export type PointInTime = string | Date;

export const POINT_IN_TIME_FORMS =
  'a version (20 hex digits), a Date, "now", "<n> <unit> ago" (seconds, minutes, hours, days, weeks), ' +
  'or an ISO 8601 date/time such as "2024-05-01T12:30:00Z"';

/** Milliseconds per time unit, by every name the text forms accept (also used for durations). */
export const UNIT_MS: Record<string, number> = {
  s: 1e3, sec: 1e3, secs: 1e3, second: 1e3, seconds: 1e3,
  m: 60e3, min: 60e3, mins: 60e3, minute: 60e3, minutes: 60e3,
  h: 3600e3, hr: 3600e3, hrs: 3600e3, hour: 3600e3, hours: 3600e3,
  d: 86400e3, day: 86400e3, days: 86400e3,
  w: 604800e3, week: 604800e3, weeks: 604800e3,
};

const RELATIVE = /^(\d+(?:\.\d+)?)\s*([a-z]+)\s+ago$/i;
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/** A version, or the time to look a version up for. */
export function parsePointInTime(point: PointInTime, now = Date.now()): { version: string } | { time: Date } {
  if (point instanceof Date) {
    if (Number.isNaN(point.getTime())) throw new ArgumentError(`invalid Date; accepted: ${POINT_IN_TIME_FORMS}`);
    return { time: point };
  }
  if (typeof point !== 'string') throw new ArgumentError(`cannot read a point in time from ${typeof point}; accepted: ${POINT_IN_TIME_FORMS}`);
  const text = point.trim();
  if (/^[0-9a-f]{20}$/i.test(text)) return { version: parseVersion(text) };
  if (/^now$/i.test(text)) return { time: new Date(now) };
  const relative = RELATIVE.exec(text);
  if (relative) {
    const unit = UNIT_MS[relative[2]!.toLowerCase()];
    if (unit === undefined) {
      throw new ArgumentError(`unknown time unit "${relative[2]}" in "${point}"; accepted units: seconds, minutes, hours, days, weeks (or s, m, h, d, w)`);
    }
    return { time: new Date(now - Number(relative[1]) * unit) };
  }
  const iso = ISO.exec(text);
  if (iso && isCalendarTime(iso)) {
    // A date and time without a zone is local time (as Date.parse reads "YYYY-MM-DDTHH:MM").
    const time = new Date(text.length > 10 ? text.replace(' ', 'T') : `${text}T00:00`);
    if (!Number.isNaN(time.getTime())) return { time };
  }
  throw new ArgumentError(`cannot read a point in time from "${point}"; accepted: ${POINT_IN_TIME_FORMS}`);
}

/**
 * Whether the fields name a real day and time of day: Date would roll "2025-02-30"
 * over to 2 March and "24:00" to the next day instead of refusing them.
 */
function isCalendarTime(fields: RegExpExecArray): boolean {
  const [year, month, day, hour, minute, second] = fields.slice(1, 7).map((f) => Number(f ?? 0)) as [number, number, number, number, number, number];
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) && hour <= 23 && minute <= 59 && second <= 59;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

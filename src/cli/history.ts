/**
 * Shared by the history commands (gc, tag, fork, restore, diff, retention): a driver Database for a named
 * database, points in history that may name a tag, durations, and how sizes and durations read.
 */

import { open, type Database } from '../index.ts';
import type { PointInTime } from './args.ts';
import { CLIENT_TAG, driverPoint, notFound } from './connect.ts';
import type { CliContext, GlobalOptions } from './context.ts';

/** Runs `body` with database `name` of the store open (never created), closing it afterwards. */
export function withDatabase<T>(ctx: CliContext, globals: GlobalOptions, name: string, body: (db: Database) => Promise<T>): Promise<T> {
  return ctx.withStore(globals, { create: false }, async () => {
    let db: Database;
    try {
      db = await open(name, { store: globals.store, create: false, clientTag: CLIENT_TAG });
    } catch (err) {
      throw notFound(err, globals.store);
    }
    try {
      return await body(db);
    } finally {
      await db.close();
    }
  });
}

/** The version a point (parsed by args.ts parsePointInTime) names in `db`. */
export async function versionOf(db: Database, point: PointInTime): Promise<string> {
  const at = driverPoint(point);
  return at === undefined ? db.head() : db.versionAt(at);
}

const UNITS: [number, string][] = [
  [7 * 24 * 3600e3, 'week'],
  [24 * 3600e3, 'day'],
  [3600e3, 'hour'],
  [60e3, 'minute'],
  [1e3, 'second'],
];

/** "7 days", "36 hours", "90 seconds", "250 ms": the largest unit that divides the duration. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  for (const [size, unit] of UNITS) {
    if (ms % size === 0) return `${ms / size} ${unit}${ms / size === 1 ? '' : 's'}`;
  }
  return `${ms} ms`;
}

/** 123 B, 4.0 KiB, 12.5 MiB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

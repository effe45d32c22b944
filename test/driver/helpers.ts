/** Stores and values for driver tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let counter = 0;

/** A database name no other test in this process uses. */
export function uniqueName(prefix = 'db'): string {
  return `${prefix}-${process.pid}-${++counter}`;
}

/** A fresh LMDB store (`url`) in a temp directory (`dir`, which has room for other files); remove() deletes it. */
export function tempStoreDir(): { dir: string; url: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'mvdb-test-'));
  return { dir, url: `lmdb:${join(dir, 'store')}`, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Values in a form that compares and serializes the same from both drivers and across processes. */
export function canonical(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return { int: value.toString() };
  if (typeof value === 'number') return { real: value }; // with { bigint: true } every INTEGER is a bigint
  if (value instanceof Uint8Array) return { blob: Buffer.from(value).toString('hex') };
  if (Array.isArray(value)) return value.map(canonical);
  return value;
}

/** Stores and values for driver tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQLITE_BUILD_ENV } from '../../src/driver/sqlite-build.ts';
import { open } from '../../src/index.ts';
import { SQLITE_BUILDS, type SqliteBuild } from '../../vfs/index.ts';

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

/**
 * Declares the tests of `body` once per wa-sqlite build: in each block, open() (and child processes the
 * tests start) default to that build on stores with synchronous transactions (MVDB_SQLITE_BUILD is set
 * while the block runs). The first test of each block checks that the build is in effect.
 */
export function onEachBuild(body: (build: SqliteBuild) => void): void {
  describe.each(SQLITE_BUILDS)('%s build', (build) => {
    let before: string | undefined;
    beforeAll(() => {
      before = process.env[SQLITE_BUILD_ENV];
      process.env[SQLITE_BUILD_ENV] = build;
    });
    afterAll(() => {
      if (before === undefined) delete process.env[SQLITE_BUILD_ENV];
      else process.env[SQLITE_BUILD_ENV] = before;
    });
    it(`open() runs SQLite on the ${build} build here`, async () => {
      const db = await open(uniqueName('build'), { store: 'memory:' });
      try {
        expect(db.sqliteBuild).toBe(build);
        expect(await db.get('SELECT 6 * 7 AS x')).toEqual({ x: 42 });
      } finally {
        await db.close();
      }
    });
    body(build);
  });
}

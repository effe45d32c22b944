import { afterEach, describe, expect, it } from 'vitest';
import { ArgumentError, DEFAULT_PAGE_CACHE_BYTES, open, pageCacheUsage, setPageCacheBytes, type Database } from '../../src/index.ts';
import { uniqueName } from './helpers.ts';

afterEach(() => setPageCacheBytes(DEFAULT_PAGE_CACHE_BYTES));

const FILL = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
  INSERT INTO t SELECT i, printf('%0500d', i) FROM n`;

describe('the page cache budget shared by every connection of the process', () => {
  it('holds the pages of all open databases within the limit, serves correct rows, and frees them on close', async () => {
    const limit = 100 * 4096;
    setPageCacheBytes(limit);
    const dbs: Database[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const db = await open(uniqueName('budget'), { store: 'memory:' });
        dbs.push(db);
        await db.exec(`CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)`);
        await db.exec(FILL);
      }
      for (let round = 0; round < 2; round++) {
        for (const db of dbs) {
          expect(await db.get(`SELECT count(*) AS n, sum(length(v)) AS bytes FROM t`)).toEqual({ n: 2000, bytes: 1_000_000 });
          expect(pageCacheUsage().usedBytes).toBeLessThanOrEqual(limit);
        }
      }
      expect(pageCacheUsage()).toEqual({ maxBytes: limit, usedBytes: expect.any(Number) });
      expect(pageCacheUsage().usedBytes).toBeGreaterThan(limit / 2);
    } finally {
      for (const db of dbs) await db.close();
    }
    expect(pageCacheUsage().usedBytes).toBe(0);
  });

  it('refuses a size that is not a whole number of bytes >= 0 and keeps the one set', () => {
    setPageCacheBytes(1 << 20);
    for (const bad of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, '256MB', undefined]) {
      expect(() => setPageCacheBytes(bad as number)).toThrow(ArgumentError);
      expect(() => setPageCacheBytes(bad as number)).toThrow(/page cache size must be a whole number of bytes >= 0/);
    }
    expect(pageCacheUsage().maxBytes).toBe(1 << 20);
  });
});

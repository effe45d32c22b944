import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Sqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MemoryFile } from '../../vfs/memory-file.ts';
import { PageCache, PageCacheBudget } from '../../vfs/page-cache.ts';
import {
  emptyPageOne,
  headerChangeCounter,
  headerPageCount,
  headerPageSize,
  normalizePageOne,
  withChangeCounter,
} from '../../vfs/page-one.ts';
import { SequentialPrefetch } from '../../vfs/prefetch.ts';

describe('page 1 template', () => {
  it.each([4096, 8192, 65536])('matches the page SQLite itself writes for an empty %i-byte-page database', (pageSize) => {
    const dir = mkdtempSync(join(tmpdir(), 'mvdb-page1-'));
    try {
      const file = join(dir, 'empty.db');
      const db = new Sqlite3(file);
      db.pragma(`page_size=${pageSize}`);
      db.exec('CREATE TABLE x(a); DROP TABLE x; VACUUM');
      db.close();
      const sqlitePage = new Uint8Array(readFileSync(file));
      expect(sqlitePage.length).toBe(pageSize);
      const ours = emptyPageOne(pageSize);
      // Not compared: change counter and version-valid-for (virtual), schema cookie (SQLite's is 3
      // after CREATE+DROP), and the number of the SQLite version that wrote the file.
      const mask = (page: Uint8Array) => {
        const copy = normalizePageOne(page);
        copy.fill(0, 40, 44);
        copy.fill(0, 96, 100);
        return copy;
      };
      const header = (page: Uint8Array) => Buffer.from(mask(page).subarray(0, 108)).toString('hex');
      expect(header(ours)).toBe(header(sqlitePage));
      expect(Buffer.from(mask(ours)).equals(mask(sqlitePage))).toBe(true);
      expect(headerPageSize(ours)).toBe(pageSize);
      expect(headerPageCount(ours)).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shows a counter in both header fields without touching the page it came from', () => {
    const page = emptyPageOne(4096);
    const shown = withChangeCounter(page, 0xdeadbeef);
    expect(headerChangeCounter(shown)).toBe(0xdeadbeef);
    expect(new DataView(shown.buffer).getUint32(92)).toBe(0xdeadbeef);
    expect(headerChangeCounter(page)).toBe(0);
    expect(normalizePageOne(shown)).toEqual(page);
  });
});

/** A cache with its own cap of `capacity` pages, on a budget of its own that never binds. */
const capped = (capacity: number) => new PageCache({ capacity, budget: new PageCacheBudget() });

describe('PageCache', () => {
  it('drops the least recently used page past its capacity', () => {
    const cache = capped(2);
    const page = (n: number) => new Uint8Array([n]);
    cache.set(1, page(1));
    cache.set(2, page(2));
    cache.get(1); // 2 is now the least recently used
    cache.set(3, page(3));
    expect([cache.has(1), cache.has(2), cache.has(3)]).toEqual([true, false, true]);
    cache.peek(1); // peeking is not a use
    cache.set(4, page(4));
    expect([cache.has(1), cache.has(3), cache.has(4)]).toEqual([false, true, true]);
    cache.evict([3]);
    expect(cache.size).toBe(1);
  });

  it('a scan through it evicts its own pages, most recently read first, and keeps the others', () => {
    const cache = capped(8); // pages read once after a prefetch go first past 2 (a quarter of the cap)
    const page = (n: number) => new Uint8Array([n]);
    cache.set(1, page(1)); // pages SQLite asked for
    cache.set(2, page(2));
    for (let p = 10; p < 16; p++) cache.setPrefetched(p, page(p));
    for (let p = 10; p < 15; p++) cache.get(p); // 10-14 read once, 15 not yet
    cache.setPrefetched(16, page(16)); // evicts 14, the page read last
    expect([1, 2, 10, 13, 14, 15, 16].map((p) => cache.has(p))).toEqual([true, true, true, true, false, true, true]);
    cache.get(15);
    cache.get(15); // read twice: an ordinary page now
    cache.get(16);
    cache.setPrefetched(17, page(17)); // evicts 16
    cache.setPrefetched(18, page(18)); // evicts 13; 15 (read twice), 1 and 2 stay
    expect([1, 2, 13, 15, 16, 17, 18].map((p) => cache.has(p))).toEqual([true, true, false, true, false, true, true]);
    expect(cache.get(15)).toEqual(page(15));
  });

  it('a scan that fits in a quarter of it stays, evicting the least recently used pages', () => {
    const cache = capped(8);
    const page = (n: number) => new Uint8Array([n]);
    for (let p = 1; p <= 8; p++) cache.set(p, page(p));
    cache.get(1); // 2 is now the least recently used
    for (const p of [20, 21]) {
      cache.setPrefetched(p, page(p));
      cache.get(p);
    }
    expect([1, 2, 3, 4, 20, 21].map((p) => cache.has(p))).toEqual([true, false, false, true, true, true]);
    cache.setPrefetched(22, page(22)); // 3 pages of the scan now, more than a quarter: 21, the page read last, goes
    cache.get(22);
    expect([4, 20, 21, 22].map((p) => cache.has(p))).toEqual([true, true, false, true]);
    cache.get(20); // read twice: an ordinary page now
    cache.set(24, page(24)); // one page of the scan left: the least recently used goes, the page just inserted never
    expect([4, 5, 20, 22, 24].map((p) => cache.has(p))).toEqual([false, true, true, true, true]);
  });

  it('a page evicted or set again is no longer treated as a prefetched one', () => {
    const cache = capped(2);
    const page = (n: number) => new Uint8Array([n]);
    cache.setPrefetched(1, page(1));
    cache.get(1);
    cache.set(1, new Uint8Array([9])); // written by our own commit: ordinary
    cache.set(2, page(2));
    cache.get(1); // 2 is now the least recently used
    cache.set(3, page(3));
    expect([cache.peek(1), cache.has(2), cache.has(3)]).toEqual([new Uint8Array([9]), false, true]);
    cache.evict([1]);
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it('refuses a capacity that is not a positive whole number', () => {
    expect(() => new PageCache({ capacity: 0 })).toThrow(/positive integer/);
    expect(() => new PageCache({ capacity: 1.5 })).toThrow(/positive integer/);
  });
});

describe('PageCacheBudget (shared by every cache of the process)', () => {
  const page = (n: number, size = 1000) => new Uint8Array(size).fill(n);
  /** What one cached page of `size` bytes costs the budget. */
  const cost = (size = 1000) => {
    const budget = new PageCacheBudget();
    new PageCache({ budget }).set(1, page(1, size));
    return budget.usedBytes;
  };

  it('evicts the least recently used page of any cache sharing it, and counts what each cache holds', () => {
    const budget = new PageCacheBudget(3 * cost());
    const a = new PageCache({ budget });
    const b = new PageCache({ budget });
    a.set(1, page(1));
    b.set(1, page(2));
    a.set(2, page(3));
    expect(budget.usedBytes).toBe(3 * cost());
    a.get(1); // b's page 1 is now the least recently used of all
    b.set(2, page(4));
    expect([a.has(1), a.has(2), b.has(1), b.has(2)]).toEqual([true, true, false, true]);
    expect(a.get(1)).toEqual(page(1));
    expect(budget.usedBytes).toBe(3 * cost());
    a.clear(); // a closed database gives its pages back at once
    expect(budget.usedBytes).toBe(cost());
    expect(b.get(2)).toEqual(page(4));
  });

  it("one database's scan evicts its own pages read once, not other databases' pages", () => {
    const budget = new PageCacheBudget(4 * cost());
    const hot = new PageCache({ budget });
    const scan = new PageCache({ budget });
    hot.set(7, page(7));
    hot.set(8, page(8));
    for (let p = 100; p < 120; p++) {
      scan.setPrefetched(p, page(p));
      expect(scan.get(p)).toEqual(page(p)); // SQLite reads each page of the scan once
    }
    expect([hot.has(7), hot.has(8)]).toEqual([true, true]);
    expect(scan.size).toBe(2);
    expect(budget.usedBytes).toBe(4 * cost());
  });

  it('a cap of its own and the shared budget both hold', () => {
    const budget = new PageCacheBudget(3 * cost());
    const small = new PageCache({ capacity: 1, budget });
    const big = new PageCache({ budget });
    small.set(1, page(1));
    small.set(2, page(2)); // the cap: 1 goes
    expect([small.has(1), small.has(2)]).toEqual([false, true]);
    big.set(1, page(3));
    big.set(2, page(4));
    big.set(3, page(5)); // the budget: small's page 2, least recently used, goes
    expect([small.size, big.size]).toEqual([0, 3]);
  });

  it('a smaller limit evicts at once; a limit below one page still keeps the page just inserted', () => {
    const budget = new PageCacheBudget(10 * cost());
    const cache = new PageCache({ budget });
    for (let p = 1; p <= 10; p++) cache.set(p, page(p));
    cache.get(1);
    budget.setMaxBytes(2 * cost());
    expect([...Array(10).keys()].map((i) => cache.has(i + 1))).toEqual([true, false, false, false, false, false, false, false, false, true]);
    budget.setMaxBytes(0);
    expect(cache.size).toBe(0);
    cache.set(5, page(5));
    expect(cache.get(5)).toEqual(page(5));
    expect(budget.usedBytes).toBe(cost());
  });

  it('refuses a size that is not a whole number of bytes >= 0, and keeps its limit', () => {
    const budget = new PageCacheBudget(1000);
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '1000' as unknown as number]) {
      expect(() => budget.setMaxBytes(bad)).toThrow(/whole number of bytes >= 0/);
      expect(() => new PageCacheBudget(bad)).toThrow(/whole number of bytes >= 0/);
    }
    expect(budget.maxBytes).toBe(1000);
  });
});

describe('SequentialPrefetch', () => {
  it('doubles the window while misses follow the previous batch, and resets on a jump', () => {
    const prefetch = new SequentialPrefetch(8);
    const windows: number[] = [];
    let page = 2;
    for (let i = 0; i < 6; i++) {
      const w = prefetch.windowFor(page);
      windows.push(w);
      page += w;
    }
    expect(windows).toEqual([1, 2, 4, 8, 8, 8]);
    expect(prefetch.windowFor(500)).toBe(1);
  });
});

describe('MemoryFile', () => {
  it('reads back what was written, short at the end, and truncates', () => {
    const file = new MemoryFile();
    file.write(new Uint8Array([1, 2, 3]), 10_000);
    expect(file.size).toBe(10_003);
    const out = new Uint8Array(5);
    expect(file.read(out, 10_000)).toBe(3);
    expect([...out.subarray(0, 3)]).toEqual([1, 2, 3]);
    expect(file.read(out, 0)).toBe(5);
    expect([...out]).toEqual([0, 0, 0, 0, 0]);
    file.truncate(10_001);
    expect(file.size).toBe(10_001);
    file.write(new Uint8Array([9]), 10_005);
    const tail = new Uint8Array(5);
    file.read(tail, 10_001);
    expect([...tail]).toEqual([0, 0, 0, 0, 9]); // truncated bytes read as zeros when the file regrows
  });
});

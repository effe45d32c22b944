/**
 * Pages of one database file as of `version`, kept across transactions. The changelog keeps it correct:
 * a new snapshot evicts what changed since `version` (see PageStoreVfs#beginSnapshot).
 *
 * Every cache draws on one byte budget shared by the whole process (PageCacheBudget; default 256 MiB),
 * so a large database may keep its whole working set while a thousand small ones stay small; a cache
 * may also have its own cap in pages (the `cachePages` open option).
 *
 * Eviction is least recently used (process-wide for the budget, per cache for its cap), except for
 * pages a sequential prefetch brought in: while such pages, not yet read twice, hold more than a
 * quarter of the budget (or of the cap), those SQLite has read once are the first to go, the page read
 * most recently first. A scan larger than the cache then keeps the other pages (of this database
 * and of every other), and the start of the scan for the next one, instead of cycling every page
 * through; a smaller scan stays cached even when older pages fill the budget.
 */

/**
 * Bytes a cached page costs beyond its content: the entry, its links, the Uint8Array, its buffer and the
 * allocator's share (measured: ~650 bytes of resident memory per cached 4 KiB page), so the budget
 * tracks what the process holds.
 */
const ENTRY_OVERHEAD = 640;

export const DEFAULT_PAGE_CACHE_BYTES = 256 * 1024 * 1024;

/** The share of a budget (or cap) that pages read once after a prefetch may hold before they go first. */
const SCAN_SHARE = 0.25;

const NORMAL = 0;
/** Fetched ahead of SQLite asking for it, not read yet. */
const PREFETCHED = 1;
/** Fetched ahead, read once since: the first to evict. */
const READ_ONCE = 2;

class Entry {
  readonly size: number;
  /** Place in the budget's use order (every entry). */
  readonly shared: Link;
  /** Place in its cache's use order (only in a cache with a cap of its own). */
  readonly own: Link | undefined;

  constructor(
    readonly cache: PageCache,
    readonly page: number,
    readonly bytes: Uint8Array,
    public state: number,
    capped: boolean,
  ) {
    this.size = bytes.byteLength + ENTRY_OVERHEAD;
    this.shared = { entry: this, prev: undefined, next: undefined, linked: false };
    this.own = capped ? { entry: this, prev: undefined, next: undefined, linked: false } : undefined;
  }
}

interface Link {
  readonly entry: Entry;
  prev: Link | undefined;
  next: Link | undefined;
  linked: boolean;
}

/** The use order of the entries of one eviction scope, and which of them were read once after a prefetch. */
class UseOrder {
  /** Least recently used. */
  #first: Link | undefined;
  #last: Link | undefined;
  #count = 0;
  /** Prefetched entries in the order SQLite first read them; stale links are skipped (and compacted away). */
  #readOnce: Link[] = [];
  /** Entries of scans (prefetched, read at most once: not NORMAL), and their bytes. */
  scanCount = 0;
  scanBytes = 0;

  add(l: Link): void {
    l.prev = this.#last;
    l.next = undefined;
    if (this.#last === undefined) this.#first = l;
    else this.#last.next = l;
    this.#last = l;
    l.linked = true;
    this.#count++;
    if (l.entry.state !== NORMAL) this.#scanDelta(l, 1);
  }

  remove(l: Link): void {
    if (!l.linked) return;
    if (l.entry.state !== NORMAL) this.#scanDelta(l, -1);
    if (l.prev === undefined) this.#first = l.next;
    else l.prev.next = l.next;
    if (l.next === undefined) this.#last = l.prev;
    else l.next.prev = l.prev;
    l.prev = l.next = undefined;
    l.linked = false;
    this.#count--;
  }

  /** `l` was just used (an entry read once before is an ordinary one from now on: the caller sets its state). */
  touch(l: Link): void {
    if (l.entry.state !== NORMAL) this.#scanDelta(l, -1);
    if (l === this.#last) return;
    // Unlink and append without remove()/add(): the entry keeps its state and its count.
    if (l.prev === undefined) this.#first = l.next;
    else l.prev.next = l.next;
    l.next!.prev = l.prev;
    l.prev = this.#last;
    l.next = undefined;
    this.#last!.next = l;
    this.#last = l;
  }

  /** `l`, a prefetched entry, was read for the first time (its state is READ_ONCE now). */
  readOnce(l: Link): void {
    this.#readOnce.push(l);
    if (this.#readOnce.length > 2 * this.#count + 64) {
      this.#readOnce = this.#readOnce.filter((r) => r.linked && r.entry.state === READ_ONCE);
    }
  }

  /**
   * The entry to evict next (never `keep`): with `scanFirst`, the prefetched one read once most
   * recently; otherwise, or if there is none, the least recently used.
   */
  victim(keep: Entry | undefined, scanFirst: boolean): Entry | undefined {
    while (scanFirst && this.#readOnce.length > 0) {
      const l = this.#readOnce.pop()!;
      if (l.linked && l.entry.state === READ_ONCE && l.entry !== keep) return l.entry;
    }
    let l = this.#first;
    if (l !== undefined && l.entry === keep) l = l.next;
    return l?.entry;
  }

  clear(): void {
    this.#first = this.#last = undefined;
    this.#count = 0;
    this.#readOnce = [];
    this.scanCount = 0;
    this.scanBytes = 0;
  }

  #scanDelta(l: Link, sign: 1 | -1): void {
    this.scanCount += sign;
    this.scanBytes += sign * l.entry.size;
  }
}

/** The memory all page caches of the process share, in bytes. */
export class PageCacheBudget {
  #maxBytes: number;
  #usedBytes = 0;
  readonly #order = new UseOrder();

  constructor(maxBytes = DEFAULT_PAGE_CACHE_BYTES) {
    this.#maxBytes = checkBytes(maxBytes);
  }

  get maxBytes(): number {
    return this.#maxBytes;
  }

  /** Bytes the cached pages hold now (content plus a fixed overhead per page). */
  get usedBytes(): number {
    return this.#usedBytes;
  }

  /** A new limit; pages past it are evicted at once. */
  setMaxBytes(maxBytes: number): void {
    this.#maxBytes = checkBytes(maxBytes);
    this.trim(undefined);
  }

  /** @internal PageCache's side of the accounting. */
  add(entry: Entry): void {
    this.#order.add(entry.shared);
    this.#usedBytes += entry.size;
  }

  /** @internal */
  remove(entry: Entry): void {
    if (!entry.shared.linked) return;
    this.#order.remove(entry.shared);
    this.#usedBytes -= entry.size;
  }

  /** @internal */
  touch(entry: Entry): void {
    this.#order.touch(entry.shared);
  }

  /** @internal */
  readOnce(entry: Entry): void {
    this.#order.readOnce(entry.shared);
  }

  /** @internal Evicts (from whichever cache holds them) until within the budget; never `keep`. */
  trim(keep: Entry | undefined): void {
    while (this.#usedBytes > this.#maxBytes) {
      const victim = this.#order.victim(keep, this.#order.scanBytes > this.#maxBytes * SCAN_SHARE);
      if (victim === undefined) return;
      victim.cache.evict([victim.page]);
    }
  }
}

function checkBytes(bytes: number): number {
  if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0) {
    throw new RangeError(`the page cache size must be a whole number of bytes >= 0 (e.g. 268435456 for 256 MiB), got ${String(bytes)}`);
  }
  return bytes;
}

/** The budget every PageCache uses unless given another (setPageCacheBytes changes its size). */
export const processPageCacheBudget = new PageCacheBudget();

export interface PageCacheOptions {
  /** Most pages this cache keeps, whatever the budget allows (default: no cap of its own). */
  capacity?: number;
  /** The byte budget it shares (default: the process's). */
  budget?: PageCacheBudget;
}

export class PageCache {
  /** The snapshot every cached page is valid at; undefined until the first snapshot. */
  version: string | undefined;
  readonly capacity: number | undefined;
  readonly budget: PageCacheBudget;
  readonly #pages = new Map<number, Entry>();
  /** Use order of this cache's own entries: only with a capacity. */
  readonly #own: UseOrder | undefined;

  constructor(options: PageCacheOptions = {}) {
    const { capacity, budget } = options;
    if (capacity !== undefined && (!Number.isInteger(capacity) || capacity < 1)) {
      throw new RangeError(`page cache capacity must be a positive integer of pages, got ${capacity}`);
    }
    this.capacity = capacity;
    this.budget = budget ?? processPageCacheBudget;
    this.#own = capacity !== undefined ? new UseOrder() : undefined;
  }

  get size(): number {
    return this.#pages.size;
  }

  has(page: number): boolean {
    return this.#pages.has(page);
  }

  get(page: number): Uint8Array | undefined {
    const entry = this.#pages.get(page);
    if (entry === undefined) return undefined;
    if (entry.state === PREFETCHED) {
      entry.state = READ_ONCE;
      this.budget.readOnce(entry);
      if (entry.own !== undefined) this.#own!.readOnce(entry.own);
      return entry.bytes;
    }
    this.budget.touch(entry);
    if (entry.own !== undefined) this.#own!.touch(entry.own);
    entry.state = NORMAL;
    return entry.bytes;
  }

  /** Looks without counting as a use. */
  peek(page: number): Uint8Array | undefined {
    return this.#pages.get(page)?.bytes;
  }

  set(page: number, bytes: Uint8Array): void {
    this.#insert(page, bytes, NORMAL);
  }

  /** A page fetched ahead of SQLite asking for it (sequential prefetch). */
  setPrefetched(page: number, bytes: Uint8Array): void {
    this.#insert(page, bytes, PREFETCHED);
  }

  evict(pages: Iterable<number>): void {
    for (const page of pages) {
      const entry = this.#pages.get(page);
      if (entry !== undefined) this.#remove(entry);
    }
  }

  /** Drops every page (and gives their bytes back to the budget). */
  clear(): void {
    for (const entry of this.#pages.values()) this.budget.remove(entry);
    this.#pages.clear();
    this.#own?.clear();
  }

  #insert(page: number, bytes: Uint8Array, state: number): void {
    const old = this.#pages.get(page);
    if (old !== undefined) this.#remove(old);
    const entry = new Entry(this, page, bytes, state, this.#own !== undefined);
    if (entry.own !== undefined) this.#own!.add(entry.own);
    this.#pages.set(page, entry);
    this.budget.add(entry);
    if (this.#own !== undefined) {
      while (this.#pages.size > this.capacity!) {
        const victim = this.#own.victim(entry, this.#own.scanCount > this.capacity! * SCAN_SHARE);
        if (victim === undefined) break;
        this.#remove(victim);
      }
    }
    this.budget.trim(entry);
  }

  #remove(entry: Entry): void {
    this.#pages.delete(entry.page);
    this.budget.remove(entry);
    if (entry.own !== undefined) this.#own!.remove(entry.own);
  }
}

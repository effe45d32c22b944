/**
 * Pages of one database as of `version`, kept across transactions and bounded.
 * The changelog keeps it correct: a new snapshot evicts what changed since
 * `version` (see PageStoreVfs#beginSnapshot).
 *
 * Eviction is least recently used, except for pages a sequential prefetch
 * brought in: once SQLite has read such a page it is the first to go (the page
 * read most recently first), until it is read a second time. A scan larger than
 * the cache then keeps the cache's other pages, and the start of the scan for
 * the next one, instead of cycling every page through.
 */
export class PageCache {
  /** The snapshot every cached page is valid at; undefined until the first snapshot. */
  version: string | undefined;
  readonly capacity: number;
  // Map iteration order is insertion order: re-inserting on use makes the first key the LRU one.
  #pages = new Map<number, Uint8Array>();
  /** Prefetched pages not read twice yet -> whether SQLite has read them once. */
  #prefetched = new Map<number, boolean>();
  /** Prefetched pages in the order SQLite first read them; entries go stale when a page leaves #prefetched. */
  #readOnce: number[] = [];

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`page cache capacity must be a positive integer of pages, got ${capacity}`);
    }
    this.capacity = capacity;
  }

  get size(): number {
    return this.#pages.size;
  }

  has(page: number): boolean {
    return this.#pages.has(page);
  }

  get(page: number): Uint8Array | undefined {
    const bytes = this.#pages.get(page);
    if (bytes === undefined) return undefined;
    const readBefore = this.#prefetched.get(page);
    if (readBefore === false) {
      this.#prefetched.set(page, true);
      this.#readOnce.push(page);
      if (this.#readOnce.length > 2 * this.capacity) this.#compact();
      return bytes;
    }
    this.#prefetched.delete(page);
    this.#pages.delete(page);
    this.#pages.set(page, bytes);
    return bytes;
  }

  /** Looks without counting as a use. */
  peek(page: number): Uint8Array | undefined {
    return this.#pages.get(page);
  }

  set(page: number, bytes: Uint8Array): void {
    this.#prefetched.delete(page);
    this.#insert(page, bytes);
  }

  /** A page fetched ahead of SQLite asking for it (sequential prefetch). */
  setPrefetched(page: number, bytes: Uint8Array): void {
    this.#prefetched.set(page, false);
    this.#insert(page, bytes);
  }

  evict(pages: Iterable<number>): void {
    for (const page of pages) {
      this.#pages.delete(page);
      this.#prefetched.delete(page);
    }
  }

  clear(): void {
    this.#pages.clear();
    this.#prefetched.clear();
    this.#readOnce = [];
  }

  #insert(page: number, bytes: Uint8Array): void {
    this.#pages.delete(page);
    this.#pages.set(page, bytes);
    while (this.#pages.size > this.capacity) this.#evictOne(page);
  }

  /** Evicts the prefetched page read once most recently, else the least recently used page (never `keep`). */
  #evictOne(keep: number): void {
    while (this.#readOnce.length > 0) {
      const page = this.#readOnce.pop()!;
      if (page !== keep && this.#prefetched.get(page) === true) {
        this.#prefetched.delete(page);
        this.#pages.delete(page);
        return;
      }
    }
    for (const page of this.#pages.keys()) {
      if (page === keep) continue;
      this.#pages.delete(page);
      this.#prefetched.delete(page);
      return;
    }
  }

  /** Drops stale entries of #readOnce (pages evicted, re-read or re-set since), keeping each page's latest. */
  #compact(): void {
    const seen = new Set<number>();
    const kept: number[] = [];
    for (let i = this.#readOnce.length - 1; i >= 0; i--) {
      const page = this.#readOnce[i]!;
      if (seen.has(page) || this.#prefetched.get(page) !== true) continue;
      seen.add(page);
      kept.push(page);
    }
    this.#readOnce = kept.reverse();
  }
}

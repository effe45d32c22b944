/**
 * Pages of one database as of `version`, kept across transactions and bounded
 * (least recently used out first). The changelog keeps it correct: a new
 * snapshot evicts what changed since `version` (see PageStoreVfs#beginSnapshot).
 */
export class PageCache {
  /** The snapshot every cached page is valid at; undefined until the first snapshot. */
  version: string | undefined;
  readonly capacity: number;
  // Map iteration order is insertion order: re-inserting on use makes the first key the LRU one.
  #pages = new Map<number, Uint8Array>();

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
    if (bytes !== undefined) {
      this.#pages.delete(page);
      this.#pages.set(page, bytes);
    }
    return bytes;
  }

  /** Looks without counting as a use. */
  peek(page: number): Uint8Array | undefined {
    return this.#pages.get(page);
  }

  set(page: number, bytes: Uint8Array): void {
    this.#pages.delete(page);
    this.#pages.set(page, bytes);
    while (this.#pages.size > this.capacity) {
      this.#pages.delete(this.#pages.keys().next().value!);
    }
  }

  evict(pages: Iterable<number>): void {
    for (const page of pages) this.#pages.delete(page);
  }

  clear(): void {
    this.#pages.clear();
  }
}

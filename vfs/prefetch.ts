/**
 * Decides how many pages to fetch on a cache miss. Scans read pages in
 * ascending order, so while misses keep landing right after the previous
 * batch the window doubles (up to `max`); any other miss fetches one page.
 * One round trip then serves many sequential reads.
 */
export class SequentialPrefetch {
  readonly max: number;
  #nextExpected = -1;
  #window = 1;

  constructor(max: number) {
    this.max = Math.max(1, max);
  }

  /** How many consecutive pages, starting at `page`, to fetch for this miss. */
  windowFor(page: number): number {
    this.#window = page === this.#nextExpected ? Math.min(this.#window * 2, this.max) : 1;
    this.#nextExpected = page + this.#window;
    return this.#window;
  }

  reset(): void {
    this.#nextExpected = -1;
    this.#window = 1;
  }
}

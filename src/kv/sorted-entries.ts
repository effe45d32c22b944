/**
 * The memory store's key index: entries sorted by key, kept in chunks so an insert shifts one
 * chunk, not the whole store (one sorted array of 30,000 keys cost ~15% of a small commit's CPU
 * in array shifts).
 */

import { compareBytes } from './bytes.ts';
import { firstIndex } from './conflict-ranges.ts';
import type { Bytes } from './types.ts';

export class SortedEntries<T extends { key: Bytes }> {
  /** Non-empty chunks, each sorted, in key order. */
  #chunks: T[][] = [];

  /** `chunkMax`: entries per chunk before it splits in two (tests use tiny chunks). */
  constructor(private readonly chunkMax = 512) {}

  get(key: Bytes): T | undefined {
    const [c, i] = this.#lowerBound(key);
    const e = this.#chunks[c]?.[i];
    return e !== undefined && compareBytes(e.key, key) === 0 ? e : undefined;
  }

  /** The entry for `key`, inserted from `create()` when there is none. */
  getOrInsert(key: Bytes, create: () => T): T {
    const [c, i] = this.#lowerBound(key);
    const chunk = this.#chunks[c];
    const found = chunk?.[i];
    if (found !== undefined && compareBytes(found.key, key) === 0) return found;
    const entry = create();
    if (chunk === undefined) {
      this.#chunks.push([entry]);
      return entry;
    }
    chunk.splice(i, 0, entry);
    if (chunk.length > this.chunkMax) {
      const half = chunk.length >>> 1;
      this.#chunks.splice(c, 1, chunk.slice(0, half), chunk.slice(half));
    }
    return entry;
  }

  /** Entries with begin <= key < end, in key order (descending when `reverse`). */
  *between(begin: Bytes, end: Bytes, reverse = false): Generator<T, void, undefined> {
    const [c0, i0] = this.#lowerBound(begin);
    const [c1, i1] = this.#lowerBound(end);
    const chunks = this.#chunks;
    if (!reverse) {
      for (let c = c0, i = i0; c < c1 || (c === c1 && i < i1); ) {
        const chunk = chunks[c]!;
        if (i >= chunk.length) {
          c++;
          i = 0;
          continue;
        }
        yield chunk[i++]!;
      }
      return;
    }
    for (let c = c1, i = i1 - 1; c > c0 || (c === c0 && i >= i0); ) {
      if (i < 0) {
        c--;
        i = chunks[c]!.length - 1;
        continue;
      }
      yield chunks[c]![i--]!;
    }
  }

  /** Drops the entries for which `drop` is true. */
  removeWhere(drop: (entry: T) => boolean): void {
    this.#chunks = this.#chunks.map((chunk) => chunk.filter((e) => !drop(e))).filter((chunk) => chunk.length > 0);
  }

  /** [chunk, index] of the first entry with key >= `key`; the end position is [last chunk, its length]. */
  #lowerBound(key: Bytes): [number, number] {
    const chunks = this.#chunks;
    if (chunks.length === 0) return [0, 0];
    const c = firstIndex(chunks, (chunk) => compareBytes(chunk[chunk.length - 1]!.key, key) >= 0);
    if (c === chunks.length) return [c - 1, chunks[c - 1]!.length];
    return [c, firstIndex(chunks[c]!, (e) => compareBytes(e.key, key) >= 0)];
  }
}

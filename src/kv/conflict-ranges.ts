/**
 * Sets of keys kept as sorted, disjoint [begin, end) ranges, merged when they
 * overlap or touch, as FoundationDB coalesces a transaction's conflict ranges
 * before counting their size and sending them to the resolver.
 */

import { compareBytes } from './bytes.ts';
import type { KeyRange } from './storage.ts';
import type { Bytes } from './types.ts';

export class RangeSet {
  #ranges: KeyRange[] = [];

  /** Sorted, disjoint and non-adjacent. */
  get ranges(): readonly KeyRange[] {
    return this.#ranges;
  }

  get isEmpty(): boolean {
    return this.#ranges.length === 0;
  }

  add(begin: Bytes, end: Bytes): void {
    if (compareBytes(begin, end) >= 0) return;
    const ranges = this.#ranges;
    // First range that ends at or after `begin` (touching ranges merge), first that starts after `end`.
    const lo = firstIndex(ranges, (r) => compareBytes(r.end, begin) >= 0);
    const hi = firstIndex(ranges, (r) => compareBytes(r.begin, end) > 0);
    let newBegin = begin;
    let newEnd = end;
    if (lo < hi) {
      if (compareBytes(ranges[lo]!.begin, newBegin) < 0) newBegin = ranges[lo]!.begin;
      if (compareBytes(ranges[hi - 1]!.end, newEnd) > 0) newEnd = ranges[hi - 1]!.end;
    }
    ranges.splice(lo, hi - lo, { begin: newBegin, end: newEnd });
  }

  contains(key: Bytes): boolean {
    const i = firstIndex(this.#ranges, (r) => compareBytes(r.end, key) > 0);
    return i < this.#ranges.length && compareBytes(this.#ranges[i]!.begin, key) <= 0;
  }

  intersects(begin: Bytes, end: Bytes): boolean {
    if (compareBytes(begin, end) >= 0) return false;
    const i = firstIndex(this.#ranges, (r) => compareBytes(r.end, begin) > 0);
    return i < this.#ranges.length && compareBytes(this.#ranges[i]!.begin, end) < 0;
  }

  /** The parts of [begin, end) this set does not cover, in order. */
  uncovered(begin: Bytes, end: Bytes): KeyRange[] {
    const out: KeyRange[] = [];
    let cursor = begin;
    let i = firstIndex(this.#ranges, (r) => compareBytes(r.end, begin) > 0);
    for (; i < this.#ranges.length && compareBytes(cursor, end) < 0; i++) {
      const r = this.#ranges[i]!;
      if (compareBytes(r.begin, end) >= 0) break;
      if (compareBytes(r.begin, cursor) > 0) out.push({ begin: cursor, end: r.begin });
      if (compareBytes(r.end, cursor) > 0) cursor = r.end;
    }
    if (compareBytes(cursor, end) < 0) out.push({ begin: cursor, end });
    return out;
  }
}

/** Whether two sorted, disjoint range lists share any key. */
export function rangeListsIntersect(a: readonly KeyRange[], b: readonly KeyRange[]): boolean {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (compareBytes(x.end, y.begin) <= 0) i++;
    else if (compareBytes(y.end, x.begin) <= 0) j++;
    else return true;
  }
  return false;
}

/**
 * A transaction's conflict ranges: collected as added and sorted and merged only when asked for
 * (at commit), since nothing queries them before. A RangeSet keeps its ranges merged on every add,
 * which costs a search and an array shift per add: most of it wasted on a 10,000-key write.
 */
export class RangeList {
  #ranges: KeyRange[] = [];
  #normalized = true;

  get isEmpty(): boolean {
    return this.#ranges.length === 0;
  }

  add(begin: Bytes, end: Bytes): void {
    if (compareBytes(begin, end) >= 0) return;
    const ranges = this.#ranges;
    const last = ranges[ranges.length - 1];
    // Ranges added in key order (a scan, pages written in order) keep the list normalized as it grows.
    if (last !== undefined && compareBytes(last.end, begin) >= 0) {
      if (compareBytes(last.begin, begin) <= 0) {
        if (compareBytes(end, last.end) > 0) last.end = end;
        return;
      }
      this.#normalized = false;
    }
    ranges.push({ begin, end });
  }

  /** Sorted, disjoint and non-adjacent. */
  get ranges(): readonly KeyRange[] {
    if (!this.#normalized) {
      this.#ranges = normalizeRanges(this.#ranges);
      this.#normalized = true;
    }
    return this.#ranges;
  }
}

/** Sorts and merges arbitrary ranges (empty and inverted ones dropped). */
export function normalizeRanges(ranges: Iterable<KeyRange>): KeyRange[] {
  const sorted = [...ranges].filter((r) => compareBytes(r.begin, r.end) < 0).sort((a, b) => compareBytes(a.begin, b.begin));
  const out: KeyRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    // Overlapping or touching ranges merge.
    if (last !== undefined && compareBytes(r.begin, last.end) <= 0) {
      if (compareBytes(r.end, last.end) > 0) out[out.length - 1] = { begin: last.begin, end: r.end };
    } else out.push(r);
  }
  return out;
}

/** Bytes of range endpoints, as FoundationDB counts conflict ranges toward the transaction size. */
export function rangeBytes(ranges: readonly KeyRange[]): number {
  let n = 0;
  for (const r of ranges) n += r.begin.length + r.end.length;
  return n;
}

/** Binary search: the first index whose element satisfies `pred` (which must be monotonic). */
export function firstIndex<T>(items: readonly T[], pred: (item: T) => boolean): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(items[mid]!)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

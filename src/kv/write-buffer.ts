/**
 * A transaction's pending writes, as its own reads must see them (read-your-writes)
 * and as they are sent to the store at commit. Point writes override earlier clears;
 * clears remove earlier point writes, so the buffer holds the coalesced final state.
 */

import { compareBytes, concatBytes, keyAfter } from './bytes.ts';
import { firstIndex, RangeSet } from './conflict-ranges.ts';
import type { KeyRange, Mutation } from './storage.ts';
import type { Bytes } from './types.ts';

export type PendingWrite =
  | { kind: 'set'; value: Bytes }
  /** The value holds the commit's versionstamp, unknown until commit: reading it fails with 1036. */
  | { kind: 'stampedValue'; prefix: Bytes; suffix: Bytes };

/** What the buffer says about one key: a pending write, 'cleared', or undefined (ask the store). */
export type Overlay = PendingWrite | 'cleared' | undefined;

interface StampedKey {
  prefix: Bytes;
  suffix: Bytes;
  value: Bytes;
}

export class WriteBuffer {
  #keys: Bytes[] = [];
  #writes: PendingWrite[] = [];
  #clears = new RangeSet();
  #stampedKeys: StampedKey[] = [];
  /** Where a pending versionstamped key may land: reads reaching it fail with 1036, as on FoundationDB. */
  #unreadable = new RangeSet();

  /** No pending write, clear or versionstamped key: reads go straight to the store. */
  get isEmpty(): boolean {
    return this.#keys.length === 0 && this.#clears.isEmpty && this.#stampedKeys.length === 0;
  }

  set(key: Bytes, value: Bytes): void {
    this.#put(key, { kind: 'set', value });
  }

  setStampedValue(key: Bytes, prefix: Bytes, suffix: Bytes): void {
    this.#put(key, { kind: 'stampedValue', prefix, suffix });
  }

  /**
   * The key becomes prefix ‖ stamp ‖ suffix at commit. Like FoundationDB, every key it could
   * become (stamps above the read version, or any stamp before one is known) is unreadable.
   */
  setStampedKey(prefix: Bytes, suffix: Bytes, value: Bytes, lowestStamp: Bytes): void {
    this.#stampedKeys.push({ prefix, suffix, value });
    const highest = new Uint8Array(10).fill(0xff);
    this.#unreadable.add(concatBytes(prefix, lowestStamp, suffix), keyAfter(concatBytes(prefix, highest, suffix)));
  }

  clearRange(begin: Bytes, end: Bytes): void {
    const lo = this.#lowerBound(begin);
    const hi = this.#lowerBound(end);
    this.#keys.splice(lo, hi - lo);
    this.#writes.splice(lo, hi - lo);
    this.#clears.add(begin, end);
  }

  lookup(key: Bytes): Overlay {
    const i = this.#lowerBound(key);
    if (i < this.#keys.length && compareBytes(this.#keys[i]!, key) === 0) return this.#writes[i];
    return this.#clears.contains(key) ? 'cleared' : undefined;
  }

  isUnreadable(begin: Bytes, end: Bytes): boolean {
    return this.#unreadable.intersects(begin, end);
  }

  /** Index bounds of the pending point writes in [begin, end). */
  pointsIn(begin: Bytes, end: Bytes): { lo: number; hi: number } {
    return { lo: this.#lowerBound(begin), hi: this.#lowerBound(end) };
  }

  point(i: number): { key: Bytes; write: PendingWrite } {
    return { key: this.#keys[i]!, write: this.#writes[i]! };
  }

  /**
   * The parts of [begin, end) whose contents come from the store, not from this buffer.
   * Only these get read-conflict ranges: FoundationDB adds none for keys the transaction
   * itself set or cleared.
   */
  storageParts(begin: Bytes, end: Bytes): KeyRange[] {
    const out: KeyRange[] = [];
    for (const part of this.#clears.uncovered(begin, end)) {
      let cursor = part.begin;
      const { lo, hi } = this.pointsIn(part.begin, part.end);
      for (let i = lo; i < hi; i++) {
        const key = this.#keys[i]!;
        if (compareBytes(cursor, key) < 0) out.push({ begin: cursor, end: key });
        cursor = keyAfter(key);
      }
      if (compareBytes(cursor, part.end) < 0) out.push({ begin: cursor, end: part.end });
    }
    return out;
  }

  /**
   * The coalesced mutations, applied in this order: range clears, point writes, then
   * versionstamped keys in call order (their final keys are unknown until commit).
   * `clampRange` maps a cleared range to one the store can hold (see transaction.ts).
   */
  mutations(clampRange: (begin: Bytes, end: Bytes) => KeyRange | undefined): Mutation[] {
    const out: Mutation[] = [];
    for (const r of this.#clears.ranges) {
      const clamped = clampRange(r.begin, r.end);
      if (clamped) out.push({ type: 'clearRange', begin: clamped.begin, end: clamped.end });
    }
    for (let i = 0; i < this.#keys.length; i++) {
      const key = this.#keys[i]!;
      const w = this.#writes[i]!;
      if (w.kind === 'set') out.push({ type: 'set', key, value: w.value });
      else out.push({ type: 'setVersionstampedValue', key, prefix: w.prefix, suffix: w.suffix });
    }
    for (const s of this.#stampedKeys) {
      out.push({ type: 'setVersionstampedKey', prefix: s.prefix, suffix: s.suffix, value: s.value });
    }
    return out;
  }

  #put(key: Bytes, write: PendingWrite): void {
    const i = this.#lowerBound(key);
    if (i < this.#keys.length && compareBytes(this.#keys[i]!, key) === 0) {
      this.#writes[i] = write;
    } else {
      this.#keys.splice(i, 0, key);
      this.#writes.splice(i, 0, write);
    }
  }

  #lowerBound(key: Bytes): number {
    return firstIndex(this.#keys, (k) => compareBytes(k, key) >= 0);
  }
}

/** Bytes of mutations as FoundationDB counts them (a versionstamp operand carries a 4-byte offset). */
export function mutationBytes(mutations: readonly Mutation[]): number {
  let n = 0;
  for (const m of mutations) {
    switch (m.type) {
      case 'set':
        n += m.key.length + m.value.length;
        break;
      case 'clearRange':
        n += m.begin.length + m.end.length;
        break;
      case 'setVersionstampedKey':
        n += m.prefix.length + 10 + m.suffix.length + 4 + m.value.length;
        break;
      case 'setVersionstampedValue':
        n += m.key.length + m.prefix.length + 10 + m.suffix.length + 4;
        break;
    }
  }
  return n;
}

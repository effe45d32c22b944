/**
 * The port between the shared transaction logic (read-your-writes, conflict
 * ranges, limits, retries: `transaction.ts`) and an embedded store (memory,
 * lmdb). A store only has to give pinned snapshots and an atomic commit that
 * acts as FoundationDB's resolver. The fdb backend does not use this port.
 */

import { concatBytes, keyAfter, versionstamp } from './bytes.ts';
import { normalizeRanges } from './conflict-ranges.ts';
import { ErrorCode, KvError } from './errors.ts';
import type { Bytes, KeyValue, RangeOptions } from './types.ts';

export interface KeyRange {
  begin: Bytes;
  /** Exclusive. */
  end: Bytes;
}

/** A consistent view of the store as of `version`; reads are synchronous. */
export interface StorageSnapshot {
  readonly version: bigint;
  get(key: Bytes): Bytes | undefined;
  getRange(begin: Bytes, end: Bytes, options?: RangeOptions): KeyValue[];
  /** Lets the store reclaim the snapshot; no read may follow. */
  release(): void;
}

export type Mutation =
  | { type: 'set'; key: Bytes; value: Bytes }
  /** Clears [begin, end); a single-key clear is [key, keyAfter(key)). */
  | { type: 'clearRange'; begin: Bytes; end: Bytes }
  | { type: 'setVersionstampedKey'; prefix: Bytes; suffix: Bytes; value: Bytes }
  | { type: 'setVersionstampedValue'; key: Bytes; prefix: Bytes; suffix: Bytes };

export interface CommitRequest {
  readVersion: bigint;
  /** Commit fails with 1020 if any of these intersects a write range of a commit newer than readVersion. */
  readConflicts: KeyRange[];
  /** Recorded for later commits' checks. The store adds each versionstamped key's final key itself. */
  writeConflicts: KeyRange[];
  /** Applied in order, atomically, with the versionstamp substituted. The store may keep these bytes. */
  mutations: Mutation[];
}

/**
 * Keys reaching a store are at most its key limit (createEmbeddedKv's `maxKeyBytes`); range
 * endpoints may be one byte longer (the transaction layer clamps longer ones without changing
 * which keys they select). The transaction layer checks sizes, the 5 s wall-clock lifetime
 * and read-your-writes; the store only pins snapshots and resolves.
 */
export interface Storage {
  /** The newest committed state, pinned until released; its version is the last commit's. */
  snapshot(): StorageSnapshot;
  /**
   * Optional: the version snapshot() would have now (the last commit's), without pinning anything.
   * Like snapshot(), it includes every commit of any process that finished before the call.
   */
  latestVersion?(): bigint;
  /**
   * Checks conflicts and applies the mutations in one atomic step. Fails with 1020 when a read
   * range intersects the write ranges of a commit newer than readVersion, and with 1007 when
   * it cannot tell: a commit newer than readVersion was already pruned from the conflict log
   * (entries are kept for 5e6 versions). An idle store is therefore not "too old", and a
   * transaction without read conflicts is never checked. Resolves with the new commit version
   * (max(last + 1, ms * 1000): monotonic, ~1e6 per second) once durable. The caller hands over the
   * request's bytes: it must not change them afterwards (the memory store keeps them, uncopied).
   */
  commit(request: CommitRequest): Promise<Committed>;
  /**
   * Optional (it makes the store's Kv offer createTransactionSync): commit's synchronous twin, with
   * the same checks, errors (thrown) and durability: it returns once the commit is durable.
   */
  commitSync?(request: CommitRequest): Committed;
  close(): Promise<void>;
}

export interface Committed {
  version: bigint;
  batchOrder: number;
  /** The store's version just before this commit: nothing else committed between the two. */
  previousVersion: bigint;
}

/** Versions per millisecond: FoundationDB advances about 1e6 versions per second. */
const VERSIONS_PER_MS = 1000n;

/**
 * What a store exposes to `resolveCommit` while it holds its commit lock: its resolver state and
 * the writes of one commit. The store persists them atomically when resolveCommit returns.
 */
export interface ResolverTarget {
  /** The last commit's version. */
  lastVersion(): bigint;
  /** Every commit at or below this version has left the conflict log. */
  horizon(): bigint;
  /** Whether a commit newer than `readVersion` wrote into one of `reads` (sorted, merged). */
  writtenAfter(readVersion: bigint, reads: readonly KeyRange[]): boolean;
  /** Writes of the commit that gets `version`. */
  set(key: Bytes, value: Bytes, version: bigint): void;
  clearRange(begin: Bytes, end: Bytes, version: bigint): void;
  /** Makes `version` the last commit, logs its write ranges (sorted, merged) and prunes the log. */
  finish(version: bigint, writes: readonly KeyRange[]): void;
}

/**
 * FoundationDB's resolver, the same for every embedded store: fails with 1007 when the read
 * version is older than the conflict log reaches (only if it has read conflicts: an idle store is
 * not "too old"), with 1020 when a read range was written by a newer commit; otherwise assigns the
 * version (max(last + 1, ms * 1000)), applies the mutations with the versionstamp substituted and
 * records the write ranges (each versionstamped key's final key included). Throws before writing.
 * Returns the version with the one before it.
 */
export function resolveCommit(request: CommitRequest, target: ResolverTarget, nowMs: number): Committed {
  const reads = normalizeRanges(request.readConflicts);
  if (reads.length > 0) {
    if (request.readVersion < target.horizon()) {
      throw new KvError(ErrorCode.transactionTooOld, 'read version is older than the 5 s conflict window');
    }
    if (target.writtenAfter(request.readVersion, reads)) {
      throw new KvError(ErrorCode.notCommitted, 'a key this transaction read was written by a newer commit');
    }
  }
  const previousVersion = target.lastVersion();
  const next = previousVersion + 1n;
  const wall = BigInt(Math.floor(nowMs)) * VERSIONS_PER_MS;
  const version = next > wall ? next : wall;
  const stamp = versionstamp(version, 0);
  const writes: KeyRange[] = [...request.writeConflicts];
  for (const m of request.mutations) {
    switch (m.type) {
      case 'set':
        target.set(m.key, m.value, version);
        break;
      case 'clearRange':
        target.clearRange(m.begin, m.end, version);
        break;
      case 'setVersionstampedKey': {
        const key = concatBytes(m.prefix, stamp, m.suffix);
        target.set(key, m.value, version);
        writes.push({ begin: key, end: keyAfter(key) });
        break;
      }
      case 'setVersionstampedValue':
        target.set(m.key, concatBytes(m.prefix, stamp, m.suffix), version);
        break;
    }
  }
  target.finish(version, normalizeRanges(writes));
  return { version, batchOrder: 0, previousVersion };
}

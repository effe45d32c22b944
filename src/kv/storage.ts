/**
 * The port between the shared transaction logic (read-your-writes, conflict
 * ranges, limits, retries: `transaction.ts`) and an embedded store (memory,
 * lmdb). A store only has to give pinned snapshots and an atomic commit that
 * acts as FoundationDB's resolver. The fdb backend does not use this port.
 */

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
  /** Applied in order, atomically, with the versionstamp substituted. */
  mutations: Mutation[];
}

export interface Storage {
  /** The newest committed state, pinned until released. */
  snapshot(): StorageSnapshot;
  /**
   * Checks conflicts and applies the mutations in one atomic step. Fails with 1007 when
   * readVersion is older than the conflict window (5 s of versions), 1020 on a conflict.
   * Resolves with the new commit version (monotonic, ~1e6 per second) once durable.
   */
  commit(request: CommitRequest): Promise<{ version: bigint; batchOrder: number }>;
  close(): Promise<void>;
}

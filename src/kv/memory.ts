/**
 * MemoryStorage: the in-process reference store. A sorted multi-version map (each key
 * keeps the versions its live snapshots may still read), FoundationDB's resolver over
 * a conflict log of (commit version -> write ranges) kept for the 5e6-version window,
 * and commit versions that advance about 1e6 per second.
 */

import { compareBytes } from './bytes.ts';
import { firstIndex, rangeListsIntersect } from './conflict-ranges.ts';
import { SortedEntries } from './sorted-entries.ts';
import { createEmbeddedKv, type EmbeddedKvOptions } from './embedded.ts';
import { ErrorCode, KvError } from './errors.ts';
import {
  resolveCommit,
  type CommitRequest,
  type Committed,
  type KeyRange,
  type ResolverTarget,
  type Storage,
  type StorageSnapshot,
} from './storage.ts';
import type { Bytes, KeyValue, Kv, RangeOptions } from './types.ts';
import { LIMITS } from './types.ts';

interface Version_ {
  version: bigint;
  /** undefined: cleared at this version. */
  value: Bytes | undefined;
}

interface Entry {
  key: Bytes;
  /** Ascending by version. */
  versions: Version_[];
}

interface LogEntry {
  version: bigint;
  writes: KeyRange[];
}

export interface MemoryStorageOptions {
  /** Wall clock in ms, which commit versions follow (tests may pass a fake one). */
  now?: () => number;
}

export class MemoryStorage implements Storage {
  readonly #now: () => number;
  readonly #entries = new SortedEntries<Entry>();
  #version = 0n;
  #log: LogEntry[] = [];
  /** Every commit at or below this version has left the log: older read versions are too old. */
  #horizon = 0n;
  /** Read versions of live snapshots, with counts: the versions each key must keep. */
  #live = new Map<bigint, number>();
  #closed = false;

  constructor(options: MemoryStorageOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  snapshot(): StorageSnapshot {
    this.#assertOpen();
    const version = this.#version;
    this.#live.set(version, (this.#live.get(version) ?? 0) + 1);
    let released = false;
    const assertLive = () => {
      if (released) throw new Error('MemoryStorage: read from a released snapshot');
    };
    return {
      version,
      get: (key) => {
        assertLive();
        const e = this.#entries.get(key);
        return e && valueAt(e, version)?.slice();
      },
      getRange: (begin, end, options) => {
        assertLive();
        return this.#range(begin, end, version, options);
      },
      release: () => {
        if (released) return;
        released = true;
        const n = this.#live.get(version)! - 1;
        if (n === 0) this.#live.delete(version);
        else this.#live.set(version, n);
      },
    };
  }

  latestVersion(): bigint {
    this.#assertOpen();
    return this.#version;
  }

  async commit(request: CommitRequest): Promise<Committed> {
    return this.commitSync(request);
  }

  /** The commit itself: in memory there is nothing to wait for, so the asynchronous commit is this one. */
  commitSync(request: CommitRequest): Committed {
    this.#assertOpen();
    this.#touched.clear();
    return resolveCommit(request, this.#target, this.#now());
  }

  /** Entries the commit in progress wrote (#prune drops the versions of theirs no snapshot can read). */
  readonly #touched = new Set<Entry>();

  /** The resolver's view of the store (one object for every commit: commits run one at a time). */
  readonly #target: ResolverTarget = {
    lastVersion: () => this.#version,
    horizon: () => this.#horizon,
    writtenAfter: (readVersion, reads) => {
      for (let i = firstIndex(this.#log, (e) => e.version > readVersion); i < this.#log.length; i++) {
        if (rangeListsIntersect(reads, this.#log[i]!.writes)) return true;
      }
      return false;
    },
    set: (key, value, v) => this.#write(key, value, v, this.#touched),
    clearRange: (begin, end, v) => this.#clear(begin, end, v, this.#touched),
    finish: (v, writes) => {
      this.#version = v;
      this.#log.push({ version: v, writes: [...writes] });
      this.#prune(v, this.#touched);
    },
  };

  async close(): Promise<void> {
    this.#closed = true;
  }

  #clear(begin: Bytes, end: Bytes, version: bigint, touched: Set<Entry>): void {
    for (const e of this.#entries.between(begin, end)) {
      if (e.versions[e.versions.length - 1]!.value !== undefined) {
        pushVersion(e, version, undefined);
        touched.add(e);
      }
    }
  }

  #write(key: Bytes, value: Bytes, version: bigint, touched: Set<Entry>): void {
    // The commit's bytes are ours to keep (Storage.commit); reads hand out copies.
    const e = this.#entries.getOrInsert(key, () => ({ key, versions: [] }));
    pushVersion(e, version, value);
    touched.add(e);
  }

  /** Drops log entries past the window and key versions no live snapshot can read. */
  #prune(version: bigint, touched: Set<Entry>): void {
    const keepAfter = version - LIMITS.maxTransactionLifeVersions;
    let drop = 0;
    while (drop < this.#log.length && this.#log[drop]!.version < keepAfter) drop++;
    if (drop > 0) {
      this.#horizon = this.#log[drop - 1]!.version;
      this.#log.splice(0, drop);
    }

    let oldestReader = version;
    for (const v of this.#live.keys()) if (v < oldestReader) oldestReader = v;
    let emptied = false;
    for (const e of touched) {
      // Keep the newest version each reader sees (the last one <= oldestReader) and everything newer.
      const seen = firstIndex(e.versions, (x) => x.version > oldestReader) - 1;
      if (seen > 0) e.versions.splice(0, seen);
      if (e.versions.length === 1 && e.versions[0]!.value === undefined && e.versions[0]!.version <= oldestReader) {
        e.versions.length = 0;
        emptied = true;
      }
    }
    if (emptied) this.#entries.removeWhere((e) => e.versions.length === 0);
  }

  #range(begin: Bytes, end: Bytes, version: bigint, options: RangeOptions = {}): KeyValue[] {
    const limit = options.limit || Infinity;
    const out: KeyValue[] = [];
    if (compareBytes(begin, end) >= 0) return out;
    for (const e of this.#entries.between(begin, end, options.reverse === true)) {
      if (out.length >= limit) break;
      pushVisible(out, e, version);
    }
    return out;
  }

  #assertOpen(): void {
    if (this.#closed) throw new KvError(ErrorCode.storeClosed, 'this memory store was closed');
  }
}

function valueAt(e: Entry, version: bigint): Bytes | undefined {
  for (let i = e.versions.length - 1; i >= 0; i--) {
    const v = e.versions[i]!;
    if (v.version <= version) return v.value;
  }
  return undefined;
}

function pushVisible(out: KeyValue[], e: Entry, version: bigint): void {
  const value = valueAt(e, version);
  if (value !== undefined) out.push([e.key.slice(), value.slice()]);
}

/** Within one commit a later mutation of the same key replaces the earlier one. */
function pushVersion(e: Entry, version: bigint, value: Bytes | undefined): void {
  const last = e.versions[e.versions.length - 1];
  if (last?.version === version) last.value = value;
  else e.versions.push({ version, value });
}

const shared = new Map<string, MemoryStorage>();

/**
 * A Kv over a fresh private MemoryStorage, or with `name`, over the process-wide store of
 * that name (closing such a Kv leaves the store to its other users).
 */
export function openMemoryKv(name?: string, options: EmbeddedKvOptions & MemoryStorageOptions = {}): Kv {
  if (name === undefined || name === '') {
    return createEmbeddedKv(new MemoryStorage(options), 'memory:', options);
  }
  let storage = shared.get(name);
  if (!storage) {
    storage = new MemoryStorage(options);
    shared.set(name, storage);
  }
  const store = storage;
  const view: Storage = {
    snapshot: () => store.snapshot(),
    latestVersion: () => store.latestVersion(),
    commit: (request) => store.commit(request),
    commitSync: (request) => store.commitSync(request),
    close: async () => {},
  };
  return createEmbeddedKv(view, `memory:${name}`, options);
}

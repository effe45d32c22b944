/** Shared test setup: the backends the engine runs on, a fresh database per test, and Kv wrappers that record or script commits. */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { createDatabase, type DatabaseRef } from '../../src/engine/index.ts';
import { tokensRange } from '../../src/engine/keys.ts';
import { runAsync, runSync, wait, type AnyTransaction, type Steps } from '../../src/engine/steps.ts';
import { compareBytes } from '../../src/kv/bytes.ts';
import { ErrorCode, KvError, openKv } from '../../src/kv/index.ts';
import type { Bytes, CommitResult, Kv, KvTransaction, KvTransactionSync, KvWrites } from '../../src/kv/types.ts';

export interface Backend {
  name: string;
  open(): Promise<{ kv: Kv; close(): Promise<void> }>;
}

const memory: Backend = {
  name: 'memory',
  async open() {
    const kv = await openKv('memory:');
    return { kv, close: () => kv.close() };
  },
};

const lmdb: Backend = {
  name: 'lmdb',
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'mvdb-engine-'));
    const kv = await openKv('lmdb:' + dir);
    return {
      kv,
      async close() {
        await kv.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

export const backends: Backend[] = [memory, lmdb];
/** The backends with synchronous transactions (Kv.createTransactionSync): the engine's runSync path. */
export const syncBackends: Backend[] = [memory, lmdb];

/**
 * Before each test of the enclosing describe: a fresh store on `backend` holding an empty database 'db',
 * handed to `use`; the store is closed (and its files removed) after each test.
 */
export function freshDatabaseEachTest(backend: Backend, use: (kv: Kv, db: DatabaseRef) => void): void {
  let close: () => Promise<void>;
  beforeEach(async () => {
    const opened = await backend.open();
    close = opened.close;
    use(opened.kv, await createDatabase(opened.kv, 'db'));
  });
  afterEach(() => close());
}

export interface RecordingKv extends Kv {
  /** The largest getApproximateSize() seen just before a commit. */
  readonly largest: number;
  readonly commits: number;
}

/** Records, for every commit, the transaction's approximate size just before it. */
export function recordingKv(kv: Kv): RecordingKv {
  let largest = 0;
  let commits = 0;
  return {
    ...interceptCommits(kv, (tx) => {
      largest = Math.max(largest, tx.getApproximateSize());
      commits++;
      return wait(tx.commit());
    }),
    get largest() {
      return largest;
    },
    get commits() {
      return commits;
    },
  };
}

/**
 * Counts the commit tokens registered through it (by asynchronous or synchronous transactions) on the
 * database with namespace `ns`. Only a two-phase commit registers one (an inline commit never does), so a
 * test sized to be two-phase can check that it was.
 */
export function twoPhaseSpy(kv: Kv, ns: Bytes): Kv & { readonly tokens: number } {
  const { begin, end } = tokensRange(ns);
  let tokens = 0;
  const wrap = <T extends KvTransaction | KvTransactionSync>(tx: T): T =>
    withMethods<KvWrites>(tx, {
      set(key: Bytes, value: Bytes) {
        if (compareBytes(key, begin) >= 0 && compareBytes(key, end) < 0) tokens++;
        tx.set(key, value);
      },
    }) as T;
  const createSync = kv.createTransactionSync?.bind(kv);
  const committedVersionSync = kv.committedVersionSync?.bind(kv);
  return {
    get url() {
      return kv.url;
    },
    createTransaction: (options) => wrap(kv.createTransaction(options)),
    ...(createSync ? { createTransactionSync: (options) => wrap(createSync(options)) } : {}),
    ...(committedVersionSync ? { committedVersionSync } : {}),
    run: (body, options) => kv.run((tx) => body(wrap(tx)), options),
    close: () => kv.close(),
    get tokens() {
      return tokens;
    },
  };
}

/** Every key and value under the whole store, for "nothing changed" checks. */
export async function dumpStore(kv: Kv): Promise<string[]> {
  const tx = kv.createTransaction();
  const rows = await tx.snapshot().getRange(new Uint8Array([0]), new Uint8Array([0xff]));
  tx.cancel();
  return rows.map(([k, v]) => Buffer.from(k).toString('hex') + '=' + Buffer.from(v).toString('hex'));
}

/** A page of `size` bytes whose content is determined by `seed`. */
export function pageOf(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  for (let i = 0; i + 4 <= size; i += 64) view.setUint32(i, (seed * 2654435761 + i) >>> 0);
  out[size - 1] = seed & 0xff;
  return out;
}

export type ScriptedFault =
  /** The commit lands, then reports 1021 (maybe committed). */
  | 'unknownCommitted'
  /** The commit does not land and reports 1021. */
  | 'unknownNotCommitted'
  /** The commit does not land and the process "dies": a non-retryable error out of the engine. */
  | 'crash';

export class Crash extends Error {}

export interface ScriptStep {
  /** Absent: the commit goes through normally. */
  fault?: ScriptedFault;
  /**
   * Runs after the commit (or the fault) and before the result is reported, e.g. another client's commit;
   * synchronously (returning nothing) for a synchronous transaction's commit.
   */
  between?: () => Promise<void> | void;
}

/** A Kv whose n-th commit (1-based, counting every transaction's commit) goes as `script(n)` says. */
export function scriptedKv(kv: Kv, script: (n: number) => ScriptStep | undefined): Kv & { readonly commits: number } {
  let commits = 0;
  return {
    ...interceptCommits(kv, function* (tx) {
      const step = script(++commits);
      if (step?.fault === 'crash') throw new Crash(`injected crash at commit ${commits}`);
      const result = step?.fault === 'unknownNotCommitted' ? undefined : yield* wait(tx.commit());
      yield* wait(step?.between?.());
      if (step?.fault === undefined) return result!;
      throw new KvError(ErrorCode.commitUnknownResult);
    }),
    get commits() {
      return commits;
    },
  };
}

/**
 * A Kv whose transactions commit through `commit(tx)` (which calls tx.commit() itself, or not), written once
 * as steps: run asynchronously for its transactions, synchronously for its synchronous ones (when `kv` has them).
 */
function interceptCommits(kv: Kv, commit: (tx: AnyTransaction) => Steps<CommitResult>): Kv {
  const wrap = (tx: KvTransaction): KvTransaction => withMethods(tx, { commit: () => runAsync(commit(tx)) });
  const wrapSync = (tx: KvTransactionSync): KvTransactionSync => withMethods(tx, { commit: () => runSync(commit(tx)) });
  const createSync = kv.createTransactionSync?.bind(kv);
  const committedVersionSync = kv.committedVersionSync?.bind(kv);
  return {
    get url() {
      return kv.url;
    },
    createTransaction: (options) => wrap(kv.createTransaction(options)),
    ...(createSync ? { createTransactionSync: (options) => wrapSync(createSync(options)) } : {}),
    ...(committedVersionSync ? { committedVersionSync } : {}),
    async run(body, options) {
      const tx = wrap(kv.createTransaction(options));
      for (;;) {
        try {
          const value = await body(tx);
          await tx.commit();
          return value;
        } catch (err) {
          await tx.onError(err);
        }
      }
    },
    close: () => kv.close(),
  };
}

/** `target` with some of its methods replaced; every other property read from it (methods bound to it). */
export function withMethods<T extends object>(target: T, methods: Partial<T>): T {
  return new Proxy(target, {
    get(t, prop) {
      if (Object.hasOwn(methods, prop)) return methods[prop as keyof T];
      const value = Reflect.get(t, prop, t) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(t) : value;
    },
  });
}

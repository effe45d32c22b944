/** Shared setup for the reliability suite: temp stores, seeded randomness, child processes, kv dumps. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { toHex } from '../../src/kv/bytes.ts';
import { ErrorCode, KvError } from '../../src/kv/errors.ts';
import { runWithRetries } from '../../src/kv/retry.ts';
import type { Bytes, Kv, KvReader } from '../../src/kv/types.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');

/** More kills, writers and rounds: MVDB_LONG=1 npx vitest run test/reliability */
export const LONG = process.env.MVDB_LONG === '1';

/** One seed per test process, printed in failure messages; MVDB_SEED=<n> replays a run. */
export const SEED = process.env.MVDB_SEED !== undefined ? Number(process.env.MVDB_SEED) : Math.floor(Math.random() * 2 ** 31);

let counter = 0;
/** A database name no other test in this process uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${++counter}`;
}

/** A fresh LMDB store (`url`) in a temp directory; remove() deletes it. */
export function tempStore(): { dir: string; url: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'mvdb-reliability-'));
  return { dir, url: `lmdb:${join(dir, 'store')}`, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Seeded random numbers (mulberry32, shared with the benchmarks): rng(seed) in [0, 1), between(random, min, max) inclusive. */
export { makeRng as rng, randInt as between } from '../../bench/lib/rng.ts';

/** The error a promise rejects with, or undefined if it resolves (so a test can assert on both). */
export async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

export const pause = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/** A child process running a fixture of this folder under tsx, read line by line. */
export interface Child {
  process: ChildProcess;
  /** The next stdout line, or undefined once the output has ended. */
  nextLine(): Promise<string | undefined>;
  /** Resolves once the process has exited (with its code, or null when killed). */
  exited(): Promise<number | null>;
}

const children = new Set<ChildProcess>();

/** Kills every fixture child still running (call in afterEach, so a failing test leaves none behind). */
export function killChildren(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
}

export function startFixture(fixture: string, args: string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', fixture), ...args], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  return {
    process: child,
    nextLine: async () => {
      const { value, done } = await lines.next();
      return done ? undefined : (value as string);
    },
    exited: () => exit,
  };
}

/** Runs a fixture to the end; its stdout, or an error with its exit code. */
export async function runFixture(fixture: string, args: string[]): Promise<string[]> {
  const child = startFixture(fixture, args);
  const out: string[] = [];
  for (let line = await child.nextLine(); line !== undefined; line = await child.nextLine()) out.push(line);
  const code = await child.exited();
  if (code !== 0) throw new Error(`fixture ${fixture} ${args.join(' ')} exited with ${code}; output:\n${out.join('\n')}`);
  return out;
}

/** Every key and value in [begin, end) as hex, in key order: two dumps are equal iff the range is byte-identical. */
export async function dumpRange(kv: Kv, begin: Bytes, end: Bytes): Promise<string[]> {
  const out: string[] = [];
  for (let from = begin; ; ) {
    const tx = kv.createTransaction();
    const rows = await tx.snapshot().getRange(from, end, { limit: 1000 });
    tx.cancel();
    for (const [key, value] of rows) out.push(`${toHex(key)}=${toHex(value)}`);
    if (rows.length < 1000) return out;
    const last = rows[rows.length - 1]![0];
    from = new Uint8Array([...last, 0]);
  }
}

/** Every user key of the store (below 0xff, where FoundationDB keeps its system keys). */
export function dumpAll(kv: Kv): Promise<string[]> {
  return dumpRange(kv, new Uint8Array(0), Uint8Array.of(0xff));
}

/**
 * What a scripted commit does: fail with a code without committing, or commit and then report 1021
 * (commit_unknown_result) or 1031 (a timeout that struck while the commit was in flight: on
 * FoundationDB a transaction cancelled during its commit may still have committed).
 */
export type ScriptedFault = 1020 | 1021 | 1007 | 1031 | 'committed-1021' | 'committed-1031';

const WRITES = new Set(['set', 'clear', 'clearRange', 'setVersionstampedKey', 'setVersionstampedValue', 'addWriteConflictRange']);

/**
 * A Kv whose write commits fail exactly as scripted: each write commit takes the next entry of
 * `script` (undefined: commit normally), so a test can stage one precise sequence of faults.
 */
export function scriptedFaults(kv: Kv, script: (ScriptedFault | undefined)[]): Kv {
  const createTransaction: Kv['createTransaction'] = (options) => {
    const tx = kv.createTransaction(options);
    let writes = false;
    return new Proxy(tx, {
      get(target, property, receiver) {
        if (property === 'commit') {
          return async () => {
            const fault = writes ? script.shift() : undefined;
            if (fault === undefined) return target.commit();
            if (fault === 'committed-1021' || fault === 'committed-1031') {
              await target.commit();
              const code = fault === 'committed-1021' ? ErrorCode.commitUnknownResult : ErrorCode.transactionTimedOut;
              throw new KvError(code, `scripted fault after the commit landed`);
            }
            throw new KvError(fault, `scripted fault`);
          };
        }
        if (property === 'onError') {
          return async (error: unknown) => {
            await target.onError(error);
            writes = false;
          };
        }
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof value !== 'function') return value;
        if (typeof property === 'string' && WRITES.has(property)) {
          return (...args: unknown[]) => {
            writes = true;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return (value as (...a: unknown[]) => unknown).bind(target);
      },
    });
  };
  return {
    get url() {
      return kv.url;
    },
    createTransaction,
    run: (body, options) => runWithRetries(createTransaction(options), body),
    close: () => kv.close(),
  };
}

/** One key or range a transaction read or wrote: [begin, end), or a versionstamped key's prefix and suffix. */
export type Access =
  | { kind: 'read' | 'write'; begin: Bytes; end: Bytes }
  | { kind: 'stamped-key'; prefix: Bytes; suffix: Bytes };

/** A Kv that records every key and range read or written through it (into `accesses`). */
export function recordingKv(kv: Kv): { kv: Kv; accesses: Access[] } {
  const accesses: Access[] = [];
  const one = (key: Bytes): [Bytes, Bytes] => [key, new Uint8Array([...key, 0])];
  const reader = <R extends KvReader>(inner: R): R =>
    new Proxy(inner, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof value !== 'function') return value;
        const call = (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(target, args);
        switch (property) {
          case 'get':
            return (key: Bytes) => {
              const [begin, end] = one(key);
              accesses.push({ kind: 'read', begin, end });
              return call(key);
            };
          case 'getRange':
            return (begin: Bytes, end: Bytes, options?: unknown) => {
              accesses.push({ kind: 'read', begin, end });
              return call(begin, end, options);
            };
          case 'snapshot':
            return () => reader(call() as KvReader);
          case 'addReadConflictRange':
            return (begin: Bytes, end: Bytes) => (accesses.push({ kind: 'read', begin, end }), call(begin, end));
          case 'set':
          case 'clear':
          case 'setVersionstampedValue':
            return (key: Bytes, ...rest: unknown[]) => {
              const [begin, end] = one(key);
              accesses.push({ kind: 'write', begin, end });
              return call(key, ...rest);
            };
          case 'clearRange':
          case 'addWriteConflictRange':
            return (begin: Bytes, end: Bytes) => (accesses.push({ kind: 'write', begin, end }), call(begin, end));
          case 'setVersionstampedKey':
            return (prefix: Bytes, suffix: Bytes, v: Bytes) => (accesses.push({ kind: 'stamped-key', prefix, suffix }), call(prefix, suffix, v));
          default:
            return (value as (...a: unknown[]) => unknown).bind(target);
        }
      },
    });
  const createTransaction: Kv['createTransaction'] = (options) => reader(kv.createTransaction(options));
  return {
    accesses,
    kv: {
      get url() {
        return kv.url;
      },
      createTransaction,
      run: (body, options) => runWithRetries(createTransaction(options), body),
      close: () => kv.close(),
    },
  };
}

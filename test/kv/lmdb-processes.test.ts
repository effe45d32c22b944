/**
 * The lmdb backend across real processes: two writers on one directory stay
 * serializable (asynchronous transactions, synchronous ones, or one of each), synchronous
 * transactions of two processes see each other's commits as conflicts, and a writer killed
 * with SIGKILL mid-loop loses no acknowledged commit and leaves no partial one.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { errorCode } from '../../src/kv/errors.ts';
import { openLmdbKv } from '../../src/kv/lmdb.ts';
import { commitValue, WIDTH } from './fixtures/lmdb-writer.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const root = mkdtempSync(join(tmpdir(), 'mvdb-lmdb-proc-'));
const spawned: ChildProcess[] = [];
// A failed test leaves children waiting on stdin or writing: end them.
afterEach(() => {
  for (const child of spawned.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Child {
  process: ChildProcess;
  /** Resolves with the next stdout line (undefined at end of output). */
  lines: AsyncIterator<string>;
}

function startChild(fixture: string, args: string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', fixture), ...args], {
    cwd: repo,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  spawned.push(child);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return { process: child, lines };
}

/** Resolves with the exit code (null when killed by a signal). */
async function exited(child: Child): Promise<number | null> {
  const { exitCode, signalCode } = child.process;
  if (exitCode !== null || signalCode !== null) return exitCode;
  const [code] = (await once(child.process, 'exit')) as [number | null];
  return code;
}

async function nextLine(child: Child): Promise<string> {
  const { value, done } = await child.lines.next();
  if (done) throw new Error(`child exited (${child.process.exitCode}) before printing the expected line`);
  return value;
}

describe('lmdb: several processes on one directory', () => {
  it.each([
    ['asynchronous', 'async', 'async'],
    ['synchronous', 'sync', 'sync'],
    ['one synchronous, one asynchronous', 'sync', 'async'],
  ])('two processes (%s transactions) incrementing the same counters N times each end at exactly 2N', async (_name, ...modes) => {
    const dir = join(root, `counters-${modes.join('-')}`);
    const n = 150;
    const keys = ['count/a', 'count/b', 'count/c'];
    const children = modes.map((mode) => startChild('lmdb-counter.ts', [dir, String(n), keys.join(','), mode]));
    for (const child of children) expect(await nextLine(child)).toBe('ready');
    for (const child of children) child.process.stdin!.write('go\n');
    const attempts: number[] = [];
    for (const child of children) {
      const line = await nextLine(child);
      expect(line).toMatch(/^done \d+$/);
      attempts.push(Number(line.split(' ')[1]));
      expect(await exited(child)).toBe(0);
    }
    const kv = await openLmdbKv(dir);
    const values = await kv.run((tx) => Promise.all(keys.map((key) => tx.get(Buffer.from(key)))));
    await kv.close();
    expect(values.map((v) => Buffer.from(v!).readUInt32BE())).toEqual([2 * n, 2 * n, 2 * n]);
    // Conflicts are retried, never lost: each process ran its body at least n times.
    for (const count of attempts) expect(count).toBeGreaterThanOrEqual(n);
  });

  it('synchronous transactions of two processes find their conflicts both ways, and retry', async () => {
    const dir = join(root, 'sync-conflict');
    const kv = await openLmdbKv(dir);
    const key = Buffer.from('k');
    const value = (bytes: Uint8Array | undefined) => Buffer.from(bytes!).toString();
    const write = (v: string) => {
      const tx = kv.createTransactionSync!();
      tx.set(key, Buffer.from(v));
      return tx.commit().version!;
    };
    try {
      write('10');
      const child = startChild('lmdb-sync-conflict.ts', [dir]);
      expect(await nextLine(child)).toBe('read 10');
      const mine = kv.createTransactionSync!();
      expect(value(mine.get(key))).toBe('10');
      // Both read 10; this process's other transaction commits 20 before the child commits.
      write('20');
      child.process.stdin!.write('go\n');
      expect(await nextLine(child)).toBe('conflict 1020');
      expect(await nextLine(child)).toBe('committed 21');
      expect(await exited(child)).toBe(0);
      // The child's commit, from another process, conflicts with `mine` (which read 10) in turn.
      mine.set(key, Buffer.from('11'));
      let code: number | undefined;
      try {
        mine.commit();
      } catch (err) {
        code = errorCode(err);
        mine.onError(err);
      }
      expect(code).toBe(1020);
      expect(value(mine.get(key))).toBe('21');
    } finally {
      await kv.close();
    }
  });

  it.each([
    ['one commit at a time', 'single', 10],
    ['group commits (several requested at once)', 'group', 6],
  ])('SIGKILL mid-commit-loop, %s, repeated: every acknowledged commit is there, none is partial', async (_name, mode, rounds) => {
    const dir = join(root, `killed-${mode}`);
    const start = () => startChild('lmdb-writer.ts', [dir, mode]);
    let next = 0;
    // The next writer starts up while the current one runs, so a round costs no process startup.
    let child = start();
    for (let round = 0; round < rounds; round++) {
      expect(await nextLine(child)).toBe('ready');
      child.process.stdin!.write(`${next}\n`);
      let acked = Number((await nextLine(child)).split(' ')[1]);
      const following = round < rounds - 1 ? start() : undefined;
      // Let it run a random little while, then kill it wherever it is (often inside a commit).
      const deadline = Date.now() + Math.random() * 150;
      // Acks of one group may come in any order: keep the highest.
      while (Date.now() < deadline) acked = Math.max(acked, Number((await nextLine(child)).split(' ')[1]));
      child.process.kill('SIGKILL');
      for (let line = await child.lines.next(); !line.done; line = await child.lines.next()) {
        acked = Math.max(acked, Number(line.value.split(' ')[1])); // acknowledged before the kill landed
      }
      await exited(child);

      const kv = await openLmdbKv(dir);
      const rows = await kv.run((tx) => tx.getRange(Buffer.from('c/'), Buffer.from('c0')));
      await kv.close();
      const seen = new Map<number, number>();
      for (const [key, value] of rows) {
        const i = Number(Buffer.from(key).toString().split('/')[1]);
        expect(Buffer.from(value).equals(commitValue(i))).toBe(true);
        seen.set(i, (seen.get(i) ?? 0) + 1);
      }
      // Commits (or groups) are sequential: exactly 0..m are present, each with all its keys, and m >= every ack.
      const present = [...seen.keys()].sort((x, y) => x - y);
      expect(present).toEqual(present.map((_, i) => i));
      for (const [i, count] of seen) expect(count, `commit ${i}`).toBe(WIDTH);
      expect(present.length - 1).toBeGreaterThanOrEqual(acked);
      next = present.length;
      if (following) child = following;
    }
  });
});

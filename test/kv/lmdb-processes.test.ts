/**
 * The lmdb backend across real processes: two writers on one directory stay
 * serializable, and a writer killed with SIGKILL mid-loop loses no acknowledged
 * commit and leaves no partial one.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
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
  it('two processes incrementing the same counters N times each end at exactly 2N', async () => {
    const dir = join(root, 'counters');
    const n = 150;
    const keys = ['count/a', 'count/b', 'count/c'];
    const children = [0, 1].map(() => startChild('lmdb-counter.ts', [dir, String(n), keys.join(',')]));
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

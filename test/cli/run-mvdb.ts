/** Runs the real `mvdb` command (node bin/mvdb.js) as a child process. */

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = join(ROOT, 'bin/mvdb.js');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(
  command: string,
  args: string[],
  options: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? ROOT,
      // No MVDB_* from the developer's shell; MVDB_DEBUG would add stacks.
      env: { ...withoutMvdb(process.env), ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

function withoutMvdb(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('MVDB_')));
}

/** `mvdb <args>` against `store` (unless args already name one). */
export function mvdb(store: string | undefined, args: string[], options: { input?: string; cwd?: string } = {}) {
  return run(process.execPath, [BIN, ...(store === undefined ? [] : ['--store', store]), ...args], options);
}

/** A fresh directory removed by the returned cleanup. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `mvdb-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Asserts nothing here: returns the stderr lines, for tests that check the one-line error contract. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

/**
 * Runs the CLI's main() in this process with captured streams: the same
 * code path as bin/mvdb.js minus process start-up, for the many small
 * error cases (the child-process tests cover the bin itself).
 */

import { Readable, Writable } from 'node:stream';
import { main } from '../../src/cli/main.ts';
import type { RunResult } from './run-mvdb.ts';

function capture(): { stream: Writable & { isTTY: boolean }; text: () => string } {
  let text = '';
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        text += chunk.toString();
        done();
      },
    }),
    { isTTY: false },
  );
  return { stream, text: () => text };
}

export async function runMain(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  const stdout = capture();
  const stderr = capture();
  const stdin = Object.assign(Readable.from([options.input ?? '']), { isTTY: false });
  const code = await main(args, { stdin, stdout: stdout.stream, stderr: stderr.stream, env: options.env ?? {} });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** Runs the CLI: parses the arguments, runs the command, turns any failure into one line and an exit code. */

import { CommanderError } from 'commander';
import { CliContext, type CliIo } from './context.ts';
import { debugEnabled, describeError, ExitCode, exitCodeFor } from './errors.ts';
import { createProgram } from './program.ts';

/** Runs `mvdb <argv...>` and resolves with the exit code; never throws. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const ctx = new CliContext(io);
  try {
    await createProgram(ctx).parseAsync(argv, { from: 'user' });
    return ExitCode.ok;
  } catch (err) {
    // Help and --version end by throwing; help without a command is shown with exit code 1 (a usage error).
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    io.stderr.write(describeError(err, debugEnabled(io.env)));
    return exitCodeFor(err);
  }
}

/** The process entry point (bin/mvdb.js): real streams, one-line crash reports, exit when done. */
export async function runCli(): Promise<never> {
  const debug = debugEnabled(process.env);
  const crash = (err: unknown) => {
    process.stderr.write(describeError(err, debug));
    process.exit(ExitCode.failure);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  // `mvdb log db | head` closes the pipe early: stop quietly, as other tools do.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' ? process.exit(ExitCode.ok) : crash(err)));
  const code = await main(process.argv.slice(2), {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  });
  // Exit explicitly (an open store or stdin must not keep the process alive), once the output is flushed:
  // writes to a pipe are asynchronous, and exit() would cut them off.
  await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((done) => stream.write('', done))));
  process.exit(code);
}

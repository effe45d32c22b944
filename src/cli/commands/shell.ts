/** `mvdb shell <db>`: an interactive SQL shell like sqlite3's; reads a script from piped stdin too. */

import type { Command } from 'commander';
import { createInterface } from 'node:readline';
import type { CliContext } from '../context.ts';
import { CliError } from '../errors.ts';
import { ShellSession } from '../shell/session.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('shell')
    .description('interactive SQL shell (.help lists the dot-commands); runs a script piped on stdin')
    .argument('<db>', 'database name (created if needed)')
    .option('--bail', 'stop at the first error when reading a script')
    .action(async (name: string, opts: { bail?: boolean }, command: Command) => {
      const globals = ctx.globals(command);
      const interactive = ctx.io.stdin.isTTY === true;
      await ctx.withDatabase(globals, name, { create: true }, async (db, store) => {
        const session = new ShellSession(ctx, db, globals.json, !interactive);
        try {
          if (interactive) {
            ctx.out(`mvdb shell: ${name} in ${store.url} at ${await db.version()}\nEnter .help for the commands, .quit to leave.\n`);
          }
          await readLines(ctx, session, interactive, opts.bail === true);
        } finally {
          await session.close();
        }
        if (!interactive && session.errors > 0) {
          throw new CliError(`${session.errors} error${session.errors > 1 ? 's' : ''} (see above)`);
        }
      });
    });
}

async function readLines(ctx: CliContext, session: ShellSession, interactive: boolean, bail: boolean): Promise<void> {
  const rl = createInterface({
    input: ctx.io.stdin,
    output: interactive ? ctx.io.stdout : undefined,
    terminal: interactive,
    historySize: interactive ? 1000 : 0,
  });
  const showPrompt = () => {
    if (!interactive) return;
    rl.setPrompt(session.prompt());
    rl.prompt();
  };
  // Ctrl-C drops the statement being typed, as in sqlite3; Ctrl-D (end of input) leaves.
  rl.on('SIGINT', () => {
    if (!session.pending) ctx.out('\n(.quit or Ctrl-D to leave)');
    session.clearPending();
    ctx.out('\n');
    showPrompt();
  });
  try {
    const lines = rl[Symbol.asyncIterator]();
    for (;;) {
      showPrompt();
      const next = await lines.next();
      if (next.done) break;
      await session.feed(next.value);
      if (session.done || (bail && session.errors > 0)) return;
    }
    if (!(bail && session.errors > 0)) await session.finish();
    if (interactive) ctx.out('\n');
  } finally {
    rl.close();
  }
}

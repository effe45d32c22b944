/** The `mvdb` command line: global options and one module per command group. */

import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import * as at from './commands/at.ts';
import * as diff from './commands/diff.ts';
import * as exportCommand from './commands/export.ts';
import * as fork from './commands/fork.ts';
import * as gc from './commands/gc.ts';
import * as importCommand from './commands/import.ts';
import * as log from './commands/log.ts';
import * as ls from './commands/ls.ts';
import * as restore from './commands/restore.ts';
import * as retention from './commands/retention.ts';
import * as shell from './commands/shell.ts';
import * as sql from './commands/sql.ts';
import * as tag from './commands/tag.ts';
import { DEFAULT_STORE } from '../index.ts';
import type { CliContext } from './context.ts';
import { UsageError } from './errors.ts';

/** A command group: adds its command(s) to the program. New groups (tag, gc, fork, ...) add one line below. */
export interface CommandModule {
  register(program: Command, ctx: CliContext): void;
}

export const COMMANDS: CommandModule[] = [sql, shell, log, at, ls, importCommand, exportCommand, tag, diff, restore, fork, gc, retention];

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/** Commander's message for `err`, reworded to say what was wrong and what is accepted. */
function usageMessage(err: CommanderError, command: Command, program: Command): string {
  const message = err.message.replace(/^error: /, '');
  const usage = `usage: ${command === program ? 'mvdb' : `mvdb ${command.name()}`} ${command.usage()}`;
  switch (err.code) {
    case 'commander.unknownCommand':
      return `${message}; commands: ${program.commands.map((c) => c.name()).join(', ')} (mvdb --help)`;
    case 'commander.excessArguments':
      return `${message.replace(/\.$/, '')}; quote the SQL as one argument (${usage})`;
    default:
      return `${message.replace(/\.$/, '')} (${usage})`;
  }
}

export function createProgram(ctx: CliContext): Command {
  const program = new Command('mvdb')
    .description('mvdb: SQLite with every version kept, on LMDB or FoundationDB')
    .version(version, '-V, --version', 'print the mvdb version')
    .option(
      '--store <url>',
      `where databases live: a directory or lmdb:<dir>, memory:, fdb: or fdb:<cluster file> (default: $MVDB_STORE, else ${DEFAULT_STORE})`,
    )
    .option('--json', 'print results as JSON (one array of row objects per result set)')
    .configureOutput({
      writeOut: (text) => ctx.out(text),
      writeErr: (text) => ctx.io.stderr.write(text),
      // Errors are printed once, by main, as one `mvdb: ...` line.
      outputError: () => {},
    })
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  mvdb sql notes "create table note(body); insert into note values (\'hi\')"\n' +
        '  mvdb log notes\n' +
        '  mvdb at notes "5 minutes ago" "select * from note"\n' +
        '  mvdb shell notes\n',
    );
  for (const module of COMMANDS) module.register(program, ctx);
  for (const command of [program, ...program.commands]) {
    command.exitOverride((err) => {
      if (err.exitCode === 0 || err.code === 'commander.help' || err.code === 'commander.helpDisplayed') throw err;
      throw new UsageError(usageMessage(err, command, program), { cause: err });
    });
  }
  return program;
}

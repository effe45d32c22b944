/** `mvdb sql <db> [sql]`: run SQL against the head of a database. */

import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { runScript, sqlArgument } from '../run-script.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('sql')
    .description('run SQL statements (separated by ;) and print what they return; creates the database if needed')
    .argument('<db>', 'database name')
    .argument('[sql]', 'the SQL, quoted; "-" or omitted reads it from stdin')
    .action(async (name: string, sql: string | undefined, _opts: unknown, command: Command) => {
      const globals = ctx.globals(command);
      const text = await sqlArgument(ctx, sql);
      await ctx.withDatabase(globals, name, { create: true }, (db) => runScript(ctx, db, text, globals.json));
    });
}

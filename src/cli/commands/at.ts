/** `mvdb at <db> <version|time> [sql]`: read-only SQL against a past version. */

import type { Command } from 'commander';
import { formatTime, parsePointInTime } from '../args.ts';
import type { CliContext } from '../context.ts';
import { runScript, sqlArgument } from '../run-script.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('at')
    .description('run read-only SQL against the database as it was at a version or time')
    .argument('<db>', 'database name')
    .argument('<when>', 'a version (20 hex digits), "head", a time ("2024-05-01 12:30") or "3 days ago"')
    .argument('[sql]', 'the SQL, quoted; "-" or omitted reads it from stdin')
    .action(async (name: string, when: string, sql: string | undefined, _opts: unknown, command: Command) => {
      const globals = ctx.globals(command);
      const point = parsePointInTime(when);
      const text = await sqlArgument(ctx, sql);
      await ctx.withDatabase(globals, name, { create: false }, async (db) => {
        const snapshot = await db.at(point);
        try {
          await runScript(ctx, snapshot, text, globals.json);
          // Which version answered, after the results (so a failure stays a single line).
          if (!globals.json) {
            const asked = point.kind === 'time' ? ` (the newest version at or before ${formatTime(point.time)})` : '';
            ctx.note(`at ${snapshot.snapshot}${asked}`);
          }
        } finally {
          await snapshot.close();
        }
      });
    });
}

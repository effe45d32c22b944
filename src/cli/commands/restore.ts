/** `mvdb restore <db> --to <when>`: a new commit whose content equals an earlier version (nothing is destroyed). */

import type { Command } from 'commander';
import { parsePointInTime, POINT_IN_TIME_FORMS } from '../args.ts';
import type { CliContext } from '../context.ts';
import { jsonValue } from '../format.ts';
import { versionOf, withDatabase } from '../history.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('restore')
    .description('make the head equal to an earlier version, as a new commit (the previous head stays; restore to it to undo)')
    .argument('<db>', 'database name')
    .requiredOption('--to <when>', `the version to restore: ${POINT_IN_TIME_FORMS}`)
    .action(async (name: string, opts: { to: string }, command: Command) => {
      const globals = ctx.globals(command);
      const point = parsePointInTime(opts.to);
      await withDatabase(ctx, globals, name, async (db) => {
        const target = await versionOf(db, point);
        const result = await db.restoreTo(target);
        if (globals.json) {
          ctx.out(`${jsonValue({ database: name, restored: target, ...result })}\n`);
        } else if (result.pages === 0) {
          ctx.out(`${name} already equals ${target}: nothing to restore (head ${result.previous})\n`);
        } else {
          ctx.out(
            `restored ${name} to ${target} as commit ${result.version} (${result.pages} page${result.pages === 1 ? '' : 's'})\n` +
              `previous head: ${result.previous} (undo: mvdb restore ${name} --to ${result.previous})\n`,
          );
        }
      });
    });
}

/** `mvdb fork <src> <dst> [--at <when>]`: a new database starting from a version of another, in O(1). */

import type { Command } from 'commander';
import { parsePointInTime, POINT_IN_TIME_FORMS } from '../args.ts';
import type { CliContext } from '../context.ts';
import { jsonValue } from '../format.ts';
import { versionOf, withDatabase } from '../history.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('fork')
    .description('create a database that starts as a version of another (no pages are copied; both can change independently)')
    .argument('<src>', 'the database to fork')
    .argument('<dst>', 'the new database')
    .option('--at <when>', `the version of <src> to start from (default: the head): ${POINT_IN_TIME_FORMS}`)
    .action(async (source: string, target: string, opts: { at?: string }, command: Command) => {
      const globals = ctx.globals(command);
      const point = opts.at === undefined ? { kind: 'head' as const } : parsePointInTime(opts.at);
      await withDatabase(ctx, globals, source, async (db) => {
        const fork = await db.fork(target, { at: await versionOf(db, point) });
        try {
          const base = (await fork.history()).forkOf!.version;
          ctx.out(
            globals.json
              ? `${jsonValue({ database: target, forkOf: source, version: base })}\n`
              : `forked ${source} at ${base} as ${target}\n`,
          );
        } finally {
          await fork.close();
        }
      });
    });
}

/** `mvdb log <db> [--limit N]`: the commit history, newest first. */

import type { Command } from 'commander';
import { formatTime, parseCount } from '../args.ts';
import type { CliContext } from '../context.ts';
import { recordsToResult } from '../format.ts';
import type { CommitEntry } from '../store.ts';

export const DEFAULT_LOG_LIMIT = 20;

/** Commits as a printable result set: times in local time for tables, ISO 8601 for JSON. */
export function logResult(entries: CommitEntry[], json: boolean) {
  const rows = entries.map((e) => ({
    version: e.version,
    time: json ? e.time.toISOString() : formatTime(e.time),
    pages: e.pages,
    bytes: e.bytes,
    client: e.clientTag ?? null,
  }));
  return recordsToResult(rows, ['version', 'time', 'pages', 'bytes', 'client']);
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('log')
    .description('list the commits of a database, newest first')
    .argument('<db>', 'database name')
    .option('-n, --limit <n>', `how many commits to show (default ${DEFAULT_LOG_LIMIT})`)
    .action(async (name: string, opts: { limit?: string }, command: Command) => {
      const globals = ctx.globals(command);
      const limit = opts.limit === undefined ? DEFAULT_LOG_LIMIT : parseCount('--limit', opts.limit);
      await ctx.withDatabase(globals, name, { create: false }, async (db) => {
        // One more than asked tells whether to mention the rest.
        const entries = await db.log(limit + 1);
        ctx.printResult(logResult(entries.slice(0, limit), globals.json), globals.json);
        if (entries.length > limit && !globals.json) ctx.note(`(newest ${limit} commits shown; --limit N shows more)`);
      });
    });
}

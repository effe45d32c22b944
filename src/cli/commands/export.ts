/**
 * `mvdb export <db> <out.sqlite> [--at <version|time>]`: one version of a
 * database as an ordinary SQLite file that sqlite3 and every driver open
 * (the driver's exportDatabase, which writes the file atomically).
 */

import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { parsePointInTime, type PointInTime } from '../args.ts';
import type { CliContext } from '../context.ts';
import { CliError } from '../errors.ts';
import { jsonValue } from '../format.ts';
import { startProgress, type Progress } from '../progress.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('export')
    .description('write a version of a database (default: the head) to an ordinary SQLite file')
    .argument('<db>', 'database name')
    .argument('<file>', 'the SQLite file to create')
    .option('--at <when>', 'a version (20 hex digits), a time ("2024-05-01 12:30") or "3 days ago"')
    .option('-f, --force', 'replace the file if it exists')
    .action(async (name: string, file: string, opts: { at?: string; force?: boolean }, command: Command) => {
      const globals = ctx.globals(command);
      const at: PointInTime = opts.at === undefined ? { kind: 'head' } : parsePointInTime(opts.at);
      if (!opts.force && existsSync(file)) throw new CliError(`${file} already exists; choose another name or add --force to replace it`);
      await ctx.withStore(globals, { create: false }, async (store) => {
        let writing: Progress | undefined;
        let result;
        try {
          result = await store.exportFile(name, file, {
            at,
            replace: opts.force === true,
            onProgress: (p) => {
              writing ??= startProgress(ctx.io.stderr, p.total, 'pages', `writing ${file}`);
              writing.update(p.done);
            },
          });
        } finally {
          writing?.stop();
        }
        const summary = { database: name, version: result.version, file, pages: result.pages, bytes: result.pages * result.pageSize };
        if (globals.json) ctx.out(`${jsonValue(summary)}\n`);
        else ctx.out(`exported ${name} at ${result.version} to ${file}: ${summary.pages} pages (${summary.bytes} bytes)\n`);
      });
    });
}

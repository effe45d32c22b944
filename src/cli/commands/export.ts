/**
 * `mvdb export <db> <out.sqlite> [--at <version|time>]`: one version of a
 * database as an ordinary SQLite file that sqlite3 and every driver open.
 */

import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { parsePointInTime, type PointInTime } from '../args.ts';
import type { CliContext } from '../context.ts';
import { CliError } from '../errors.ts';
import { jsonValue } from '../format.ts';
import { startProgress } from '../progress.ts';
import { writeFileAtomically } from '../sqlite-file.ts';

/** Pages read per round trip. */
const BATCH_PAGES = 256;

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
      const point: PointInTime = opts.at === undefined ? { kind: 'head' } : parsePointInTime(opts.at);
      if (!opts.force && existsSync(file)) throw new CliError(`${file} already exists; choose another name or add --force to replace it`);
      await ctx.withStore(globals, { create: false }, async (store) => {
        const snapshot = await store.pagesAt(name, point);
        const progress = startProgress(ctx.io.stderr, snapshot.pageCount, 'pages', `writing ${file}`);
        try {
          await writeFileAtomically(file, async (append) => {
            for (let first = 1; first <= snapshot.pageCount; first += BATCH_PAGES) {
              const pages = await snapshot.read(first, Math.min(BATCH_PAGES, snapshot.pageCount - first + 1));
              await append(Buffer.concat(pages));
              progress.update(first + pages.length - 1);
            }
          });
        } finally {
          progress.stop();
        }
        const summary = { database: name, version: snapshot.version, file, pages: snapshot.pageCount, bytes: snapshot.pageCount * snapshot.pageSize };
        if (globals.json) ctx.out(`${jsonValue(summary)}\n`);
        else ctx.out(`exported ${name} at ${snapshot.version} to ${file}: ${summary.pages} pages (${summary.bytes} bytes)\n`);
      });
    });
}

/**
 * `mvdb import <db> <file.sqlite>`: an ordinary SQLite file becomes a new
 * mvdb database. The file's pages are copied as they are (an SQLite database
 * is its pages), so the result is exactly the file: schema, rowids, free
 * pages, FTS shadow tables and all; then SQLite checks it (the driver's
 * importDatabase, which leaves nothing behind on failure).
 */

import type { Command } from 'commander';
import type { TransferProgress } from '../../index.ts';
import type { CliContext } from '../context.ts';
import { jsonValue } from '../format.ts';
import { startProgress, type Progress } from '../progress.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('import')
    .description('create a database from an SQLite file (copied page by page, in one commit)')
    .argument('<db>', 'name of the new database')
    .argument('<file>', 'the SQLite file to read (e.g. app.sqlite)')
    .action(async (name: string, file: string, _opts: unknown, command: Command) => {
      const globals = ctx.globals(command);
      await ctx.withStore(globals, { create: true }, async (store) => {
        let reading: Progress | undefined;
        const onProgress = (p: TransferProgress) => {
          if (p.phase === 'read') {
            reading ??= startProgress(ctx.io.stderr, p.total, 'pages', `reading ${file}`);
            reading.update(p.done);
          } else if (p.phase === 'commit' && p.done === 0) {
            reading?.stop();
            if (ctx.io.stderr.isTTY) ctx.note(`committing ${p.total} pages...`);
          }
        };
        let result;
        try {
          result = await store.importFile(name, file, { clientTag: `mvdb import ${file}`, onProgress });
        } finally {
          reading?.stop();
        }
        const { version, tables } = result;
        const summary = { database: name, version, file, pages: result.pages, bytes: result.pages * result.pageSize, tables };
        if (globals.json) ctx.out(`${jsonValue(summary)}\n`);
        else ctx.out(`imported ${file} into ${name}: ${summary.pages} pages (${summary.bytes} bytes), ${tables} tables, at ${version}\n`);
      });
    });
}

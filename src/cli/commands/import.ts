/**
 * `mvdb import <db> <file.sqlite>`: an ordinary SQLite file becomes a new
 * mvdb database. The file's pages are copied as they are (an SQLite database
 * is its pages), so the result is exactly the file: schema, rowids, free
 * pages, FTS shadow tables and all; then SQLite checks it.
 */

import type { Command } from 'commander';
import { MAX_COMMIT_PAGES, MIN_PAGE_SIZE } from '../../engine/index.ts';
import type { CliContext } from '../context.ts';
import { CliError, oneLine } from '../errors.ts';
import { jsonValue } from '../format.ts';
import { startProgress } from '../progress.ts';
import { checkNoSidecars, importedPageOne, readSqliteFile, type SqliteFileLayout } from '../sqlite-file.ts';
import type { CliStore } from '../store.ts';

function checkImportable(layout: SqliteFileLayout, file: string): void {
  if (layout.pageCount > 0 && layout.pageSize < MIN_PAGE_SIZE) {
    throw new CliError(
      `${file} uses ${layout.pageSize}-byte pages; mvdb needs at least ${MIN_PAGE_SIZE}: ` +
        `convert it first with sqlite3 ${file} "PRAGMA page_size=${MIN_PAGE_SIZE}; VACUUM"`,
    );
  }
  if (layout.pageCount > MAX_COMMIT_PAGES) {
    throw new CliError(
      `${file} has ${layout.pageCount} pages; one import commits at most ${MAX_COMMIT_PAGES} ` +
        `(a larger page size holds more: sqlite3 ${file} "PRAGMA page_size=65536; VACUUM")`,
    );
  }
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('import')
    .description('create a database from an SQLite file (copied page by page, in one commit)')
    .argument('<db>', 'name of the new database')
    .argument('<file>', 'the SQLite file to read (e.g. app.sqlite)')
    .action(async (name: string, file: string, _opts: unknown, command: Command) => {
      const globals = ctx.globals(command);
      await checkNoSidecars(file);
      const pages = new Map<number, Uint8Array>();
      let progress = startProgress(ctx.io.stderr, 0, 'pages', '');
      let layout: SqliteFileLayout;
      try {
        layout = await readSqliteFile(
          file,
          (n, page) => {
            pages.set(n, page);
            progress.update(n);
          },
          (found) => {
            checkImportable(found, file);
            progress = startProgress(ctx.io.stderr, found.pageCount, 'pages', `reading ${file}`);
          },
        );
      } finally {
        progress.stop();
      }
      if (layout.pageCount > 0) pages.set(1, importedPageOne(pages.get(1)!, layout.pageCount));

      await ctx.withStore(globals, { create: true }, async (store) => {
        if (ctx.io.stderr.isTTY) ctx.note(`committing ${layout.pageCount} pages...`);
        const version = await store.importPages(name, layout.pageSize, pages, `mvdb import ${file}`);
        let tables: number;
        try {
          tables = await checkImported(store, name);
        } catch (err) {
          // The file was not a sound database: leave the store as it was.
          await store.deleteDatabase(name);
          throw new CliError(`${file} is damaged (${oneLine(err)}); nothing was imported`, { cause: err });
        }
        const summary = { database: name, version, file, pages: layout.pageCount, bytes: layout.pageCount * layout.pageSize, tables };
        if (globals.json) ctx.out(`${jsonValue(summary)}\n`);
        else ctx.out(`imported ${file} into ${name}: ${summary.pages} pages (${summary.bytes} bytes), ${tables} tables, at ${version}\n`);
      });
    });
}

/** Runs SQLite's quick_check on the imported database; returns its number of tables. */
async function checkImported(store: CliStore, name: string): Promise<number> {
  const db = await store.open(name, { create: false });
  try {
    const check = await db.execute('PRAGMA quick_check');
    const problems = check.rows.map((r) => String(r[0])).filter((m) => m !== 'ok');
    if (problems.length > 0) throw new CliError(`SQLite's quick_check: ${problems.slice(0, 3).join('; ')}`);
    const tables = await db.execute("SELECT count(*) FROM sqlite_schema WHERE type = 'table'");
    return Number(tables.rows[0]![0]);
  } finally {
    await db.close();
  }
}

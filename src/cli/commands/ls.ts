/** `mvdb ls`: the databases in the store. */

import type { Command } from 'commander';
import { formatTime } from '../args.ts';
import type { CliContext } from '../context.ts';
import { recordsToResult } from '../format.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('ls')
    .description('list the databases in the store')
    .action(async (_opts: unknown, command: Command) => {
      const globals = ctx.globals(command);
      await ctx.withStore(globals, { create: false }, async (store) => {
        const databases = await store.list();
        const rows = databases.map((d) => ({
          name: d.name,
          head: d.head,
          page_size: d.pageSize,
          created: globals.json ? d.createdAt.toISOString() : formatTime(d.createdAt),
        }));
        ctx.printResult(recordsToResult(rows, ['name', 'head', 'page_size', 'created']), globals.json);
        if (databases.length === 0 && !globals.json) ctx.note(`(no databases in ${store.url})`);
      });
    });
}

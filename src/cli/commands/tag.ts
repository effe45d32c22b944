/** `mvdb tag <db> [name] [when] [--delete]`: list tags, tag a version (default: the head), or remove a tag. */

import type { Command } from 'commander';
import { formatTime, parsePointInTime, POINT_IN_TIME_FORMS } from '../args.ts';
import type { CliContext } from '../context.ts';
import { UsageError } from '../errors.ts';
import { jsonValue, recordsToResult } from '../format.ts';
import { versionOf, withDatabase } from '../history.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('tag')
    .description('name a version (default: the head) so GC keeps it; without a name, list the tags')
    .argument('<db>', 'database name')
    .argument('[name]', "the tag: 1 to 128 of A-Z a-z 0-9 . _ -")
    .argument('[when]', `the version to tag: ${POINT_IN_TIME_FORMS}`)
    .option('-d, --delete', 'remove the tag (its version may then be garbage-collected)')
    .action(async (name: string, tag: string | undefined, when: string | undefined, opts: { delete?: boolean }, command: Command) => {
      const globals = ctx.globals(command);
      if (opts.delete && (tag === undefined || when !== undefined)) {
        throw new UsageError(`--delete takes the tag's name only (usage: mvdb tag ${name} <name> --delete)`);
      }
      const point = when === undefined ? undefined : parsePointInTime(when);
      await withDatabase(ctx, globals, name, async (db) => {
        if (tag === undefined) {
          const tags = await db.tags();
          const rows = tags.map((t) => ({ tag: t.name, version: t.version, created: globals.json ? t.createdAt.toISOString() : formatTime(t.createdAt) }));
          ctx.printResult(recordsToResult(rows, ['tag', 'version', 'created']), globals.json);
          if (tags.length === 0 && !globals.json) ctx.note(`(no tags; mvdb tag ${name} <name> [version] adds one)`);
          return;
        }
        if (opts.delete) {
          await db.untag(tag);
          ctx.out(globals.json ? `${jsonValue({ database: name, tag, deleted: true })}\n` : `removed tag ${tag} from ${name}\n`);
          return;
        }
        const info = await db.tag(tag, point === undefined ? undefined : await versionOf(db, point));
        ctx.out(globals.json ? `${jsonValue({ database: name, tag: info.name, version: info.version })}\n` : `tagged ${name} at ${info.version} as ${info.name} (read it with mvdb at ${name} tag:${info.name})\n`);
      });
    });
}

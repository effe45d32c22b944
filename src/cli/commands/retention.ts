/** `mvdb retention <db> [duration]`: show or set how long history stays readable. */

import type { Command } from 'commander';
import { DURATION_FORMS } from '../../index.ts';
import { parseDurationArgument } from '../args.ts';
import type { CliContext } from '../context.ts';
import { jsonValue } from '../format.ts';
import { formatDuration, withDatabase } from '../history.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('retention')
    .description('show or set how long history stays readable before mvdb gc may drop it')
    .argument('<db>', 'database name')
    .argument('[duration]', `the new retention window: ${DURATION_FORMS}`)
    .action(async (name: string, duration: string | undefined, _opts: unknown, command: Command) => {
      const globals = ctx.globals(command);
      const retentionMs = duration === undefined ? undefined : parseDurationArgument(duration, 'the retention');
      await withDatabase(ctx, globals, name, async (db) => {
        const before = await db.history();
        if (retentionMs !== undefined) await db.setRetention(retentionMs);
        const now = retentionMs ?? before.retentionMs;
        if (globals.json) {
          ctx.out(`${jsonValue({ database: name, retentionMs: now, oldestVersion: before.oldestVersion, tags: before.tags.length, forks: before.forks.length })}\n`);
          return;
        }
        const change = retentionMs === undefined ? '' : ` (was ${formatDuration(before.retentionMs)})`;
        const pins = [
          before.tags.length > 0 ? `${before.tags.length} tag${before.tags.length === 1 ? '' : 's'}` : '',
          before.forks.length > 0 ? `${before.forks.length} fork${before.forks.length === 1 ? '' : 's'}` : '',
        ].filter((p) => p !== '');
        ctx.out(
          `${name} keeps history for ${formatDuration(now)}${change}; oldest readable version ${before.oldestVersion}` +
            `${pins.length > 0 ? `; pinned by ${pins.join(' and ')}` : ''}\n`,
        );
      });
    });
}

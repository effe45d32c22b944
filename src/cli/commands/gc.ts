/** `mvdb gc <db> [--dry-run]`: drop history older than the retention window (never a tagged version or a fork's base). */

import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { GcReport } from '../../index.ts';
import { parseDurationArgument } from '../args.ts';
import type { CliContext } from '../context.ts';
import { jsonValue } from '../format.ts';
import { formatBytes, withDatabase } from '../history.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('gc')
    .description('garbage-collect history older than the retention window (mvdb retention); tags and forks keep their versions')
    .argument('<db>', 'database name')
    .option('-n, --dry-run', 'print what would be freed; delete nothing')
    .option('--grace <duration>', 'keep stored pages uploaded within this long, for commits in flight (default 1 hour)')
    .action(async (name: string, opts: { dryRun?: boolean; grace?: string }, command: Command) => {
      const globals = ctx.globals(command);
      const contentGraceMs = opts.grace === undefined ? undefined : parseDurationArgument(opts.grace, '--grace');
      await withDatabase(ctx, globals, name, async (db) => {
        const bar = progressBar(ctx);
        let report: GcReport;
        try {
          report = await db.gc({
            dryRun: opts.dryRun === true,
            ...(contentGraceMs !== undefined ? { contentGraceMs } : {}),
            onProgress: (p) => bar?.update(Math.round(p.fraction * 1000), { phase: p.phase }),
          });
        } finally {
          bar?.stop();
        }
        ctx.out(globals.json ? `${jsonValue(report)}\n` : describe(name, report));
      });
    });
}

/** The report as a person reads it. */
export function describe(name: string, r: GcReport): string {
  const { from, to } = r.watermark;
  const moved = to > from ? `watermark ${from} -> ${to}` : `watermark stays at ${from}`;
  const held = r.heldBy ? ` (held by ${r.heldBy.kind} ${JSON.stringify(r.heldBy.name)} at ${r.heldBy.version})` : '';
  const counts =
    `${r.versions} version${r.versions === 1 ? '' : 's'} (commits before ${to}), ` +
    `${r.pageVersions} page version${r.pageVersions === 1 ? '' : 's'}, ` +
    `${r.contents} stored page${r.contents === 1 ? '' : 's'}, ${formatBytes(r.bytes)}`;
  const lines = [`gc ${name}${r.dryRun ? ' (dry run)' : ''}: ${moved}${held}`, `${r.dryRun ? 'would free' : 'freed'}: ${counts}`];
  if (r.dryRun) lines.push(`(nothing was deleted; run mvdb gc ${name} to free it)`);
  return `${lines.join('\n')}\n`;
}

/** A bar over the whole run, with the phase, on a terminal only. */
function progressBar(ctx: CliContext): cliProgress.SingleBar | undefined {
  if (!ctx.io.stderr.isTTY) return undefined;
  const bar = new cliProgress.SingleBar(
    { stream: ctx.io.stderr, format: 'gc {bar} {percentage}% | {phase}', barsize: 30, hideCursor: true, clearOnComplete: true, fps: 10 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(1000, 0, { phase: 'watermark' });
  return bar;
}

/** `mvdb diff <db> <from> [to]`: which tables and indexes changed between two versions, and the rows. */

import type { Command } from 'commander';
import type { DatabaseDiff, Row, TableDiff } from '../../index.ts';
import { parseCount, parsePointInTime, POINT_IN_TIME_FORMS } from '../args.ts';
import type { CliContext } from '../context.ts';
import { cellText, jsonValue } from '../format.ts';
import { versionOf, withDatabase } from '../history.ts';

/** Rows listed per table and kind unless --limit says otherwise (text output; JSON lists every row). */
export const DEFAULT_DIFF_ROWS = 20;

export function register(program: Command, ctx: CliContext): void {
  program
    .command('diff')
    .description('show what changed between two versions: schema, indexes, and inserted/updated/deleted rows')
    .argument('<db>', 'database name')
    .argument('<from>', `the older version: ${POINT_IN_TIME_FORMS}`)
    .argument('[to]', 'the newer version (default: the head)')
    .option('-n, --limit <n>', `rows listed per table and kind (default ${DEFAULT_DIFF_ROWS}; with --json, all)`)
    .action(async (name: string, from: string, to: string | undefined, opts: { limit?: string }, command: Command) => {
      const globals = ctx.globals(command);
      const [a, b] = [parsePointInTime(from), parsePointInTime(to ?? 'head')];
      const limit = opts.limit !== undefined ? parseCount('--limit', opts.limit, 0) : globals.json ? undefined : DEFAULT_DIFF_ROWS;
      await withDatabase(ctx, globals, name, async (db) => {
        const [va, vb] = await Promise.all([versionOf(db, a), versionOf(db, b)]);
        const diff = await db.diff(va, vb, limit === undefined ? {} : { maxRows: limit });
        ctx.out(globals.json ? `${jsonValue(diff)}\n` : describe(name, diff));
      });
    });
}

/** A value as in SQL: 'text', 42, NULL, x'00ff'. */
function literal(value: unknown): string {
  return typeof value === 'string' ? `'${cellText(value).replace(/'/g, "''")}'` : cellText(value);
}

const keyText = (key: Row) => Object.entries(key).map(([k, v]) => `${k}=${literal(v)}`).join(', ');
const rowText = (row: Row) => `(${Object.entries(row).map(([k, v]) => `${k}: ${literal(v)}`).join(', ')})`;

function describeTable(t: TableDiff): string[] {
  const { inserted, updated, deleted } = t.counts;
  const head = `table ${t.name}${t.change === 'changed' ? '' : ` (${t.change})`}: ${inserted} inserted, ${updated} updated, ${deleted} deleted`;
  const lines = [head];
  for (const r of t.inserted) lines.push(`  + ${keyText(r.key)}  ${rowText(r.row)}`);
  for (const r of t.updated) {
    const columns = [...new Set([...Object.keys(r.old), ...Object.keys(r.new)])];
    const changes = columns.filter((c) => literal(r.old[c]) !== literal(r.new[c])).map((c) => `${c}: ${literal(r.old[c])} -> ${literal(r.new[c])}`);
    lines.push(`  ~ ${keyText(r.key)}  ${changes.join(', ')}`);
  }
  for (const r of t.deleted) lines.push(`  - ${keyText(r.key)}  ${rowText(r.row)}`);
  const shown = t.inserted.length + t.updated.length + t.deleted.length;
  if (shown < inserted + updated + deleted) lines.push(`  (${inserted + updated + deleted - shown} more rows; --limit N lists more, --json all)`);
  return lines;
}

export function describe(name: string, d: DatabaseDiff): string {
  const lines = [`diff ${name} ${d.from} -> ${d.to}: ${d.pages} page${d.pages === 1 ? '' : 's'} differ`];
  if (d.pages === 0) lines[0] = `diff ${name} ${d.from} -> ${d.to}: no changes`;
  const sign = { added: '+', dropped: '-', changed: '~' } as const;
  for (const s of d.schema) lines.push(`schema ${sign[s.change]} ${s.type} ${s.name}${s.after !== null ? `: ${s.after}` : ''}`);
  for (const t of d.tables) lines.push(...describeTable(t));
  for (const i of d.indexes) lines.push(`index ${i.name} on ${i.table}: ${i.change}`);
  return `${lines.join('\n')}\n`;
}

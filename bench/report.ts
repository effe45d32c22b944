/** Writes a bench result as JSON, a markdown report (targets, one table, what each workload does) and one SVG chart per workload. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderChart } from './lib/chart.ts';
import { formatRatio, formatValue, speedRatio } from './lib/format.ts';
import type { BenchResult } from './lib/harness.ts';
import { evaluateTargets, type TargetOutcome } from './lib/targets.ts';
import { REFERENCE_ID } from './systems/index.ts';

function cellFor(r: BenchResult, wId: string, kase: string, sys: string): string {
  const w = r.workloads.find((x) => x.id === wId)!;
  const c = w.results.find((x) => x.case === kase && x.system === sys);
  if (!c) return w.errors.some((e) => e.system === sys) ? 'error' : '';
  const ref = w.results.find((x) => x.case === kase && x.system === REFERENCE_ID)?.value;
  const ratio = sys === REFERENCE_ID ? '' : formatRatio(speedRatio(c.value, ref, c.better));
  const rate = c.extra?.conflictRate;
  const conflicts = typeof rate === 'number' && rate > 0 ? `, ${(rate * 100).toFixed(rate < 0.01 ? 2 : 0)}% confl.` : '';
  const lost = typeof c.extra?.lostUpdates === 'number' && c.extra.lostUpdates !== 0 ? `, **${c.extra.lostUpdates} lost updates**` : '';
  return `${formatValue(c.value)}${ratio ? ` (${ratio})` : ''}${conflicts}${lost}`;
}

export function renderMarkdown(r: BenchResult, targets: TargetOutcome[]): string {
  const m = r.machine;
  const label = new Map(r.systems.map((s) => [s.id, s.label]));
  const lines: string[] = [];
  lines.push('# mvdb benchmark results', '');
  lines.push(
    `${r.sizes.quick ? '**Quick smoke run (sizes cut down; numbers mean nothing).** ' : ''}${m.date} · git ${m.gitCommit} · Node ${m.node} · ${m.platform}`,
    '',
    `${m.cpu}, **${m.cores} cores**, ${m.memoryGB} GB · load average (1/5/15 min) **${m.loadAverageAtStart.join(' / ')}** at start, **${m.loadAverageAtEnd.join(' / ')}** at end · ${Math.round(m.seconds)} s in total · median of ${r.sizes.reps} runs unless a workload says otherwise`,
    '',
    `SQLite: ${r.systems.map((s) => `${s.label} ${s.sqlite}`).join('; ')}.`,
    '',
  );

  lines.push('## Targets', '', '| target | measured | result |', '|---|---|---|');
  for (const t of targets) lines.push(`| ${t.target} | ${t.measured} | ${t.pass === undefined ? 'n/a' : t.pass ? 'pass' : '**FAIL**'} |`);
  lines.push('');

  lines.push(
    '## Results',
    '',
    `Each cell: the median, then in parentheses the ratio to ${label.get(REFERENCE_ID) ?? REFERENCE_ID} on the same case: how many times better, so >1 is better (value ÷ reference for throughput, reference ÷ value for ms and MB).`,
    '',
  );
  const sysIds = r.systems.map((s) => s.id);
  lines.push(`| workload | case | unit | ${sysIds.map((id) => label.get(id)).join(' | ')} |`, `|---|---|---|${sysIds.map(() => '---:').join('|')}|`);
  for (const w of r.workloads) {
    const cases = [...new Set(w.results.map((c) => c.case))];
    for (const kase of cases) {
      const unit = w.results.find((c) => c.case === kase)!.unit;
      lines.push(`| [${w.id}](${w.id}.svg) | ${kase} | ${unit} | ${sysIds.map((id) => cellFor(r, w.id, kase, id)).join(' | ')} |`);
    }
    if (cases.length === 0) lines.push(`| ${w.id} | (no results) | | ${sysIds.map((id) => cellFor(r, w.id, '', id)).join(' | ')} |`);
  }
  lines.push('');

  lines.push('## Workloads', '');
  for (const w of r.workloads) {
    lines.push(`- **${w.title}** (\`${w.id}\`, chart: [${w.id}.svg](${w.id}.svg)): ${w.description} ${w.reps} run(s), ${Math.round(w.seconds)} s, load average ${w.loadAverage.start[0]} → ${w.loadAverage.end[0]}.`);
  }
  lines.push('');

  const errors = r.workloads.flatMap((w) => w.errors.map((e) => ({ w: w.id, ...e })));
  if (errors.length) {
    lines.push('## Errors', '');
    for (const e of errors) lines.push(`- \`${e.w}\` on \`${e.system}\`: ${e.error.split('\n')[0]}`);
    lines.push('');
  }
  return lines.join('\n');
}

/** Writes results.json, results.md and <workload>.svg into `dir`; returns the files written. */
export function writeReport(r: BenchResult, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const targets = evaluateTargets(r);
  const files: string[] = [];
  const put = (name: string, text: string): void => {
    writeFileSync(join(dir, name), text);
    files.push(join(dir, name));
  };
  put('results.json', `${JSON.stringify({ ...r, targets }, null, 2)}\n`);
  put('results.md', renderMarkdown(r, targets));
  const labels = new Map(r.systems.map((s) => [s.id, s.label]));
  const order = r.systems.map((s) => s.id);
  for (const w of r.workloads) if (w.results.length) put(`${w.id}.svg`, renderChart(w, labels, order, REFERENCE_ID));
  return files;
}

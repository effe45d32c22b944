/**
 * One SVG per workload: a horizontal bar per system, grouped by case, each bar labelled with its value
 * and its ratio to the reference system. Written by hand so the charts need no dependency.
 */
import { formatRatio, formatValue, speedRatio } from './format.ts';
import type { CaseResult, WorkloadResult } from './harness.ts';

const COLORS: Record<string, string> = {
  'sqlite-file-full': '#4c78a8',
  'sqlite-file-normal': '#9ecae9',
  'sqlite-memory': '#72b7b2',
  'wa-sqlite-memory': '#f58518',
  'wa-sqlite-sync-memory': '#ffbf79',
  'mvdb-memory': '#b279a2',
  'mvdb-lmdb': '#e45756',
  'mvdb-lmdb-asyncify': '#ff9d98',
  'mvdb-fdb': '#54a24b',
};
const FALLBACK = ['#8c564b', '#7f7f7f', '#bcbd22', '#17becf'];

const WIDTH = 1080;
const LABEL_X = 260; // bars start here; system labels end just left of it
const BAR_W = 520;
const ROW = 22;
const BAR_H = 15;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Greedy word wrap to at most `width` characters per line. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

function extraLabel(c: CaseResult): string {
  const rate = c.extra?.conflictRate;
  return typeof rate === 'number' ? ` · ${(rate * 100).toFixed(rate > 0 && rate < 0.01 ? 2 : 0)}% conflicts` : '';
}

export function renderChart(w: WorkloadResult, labels: Map<string, string>, systemOrder: string[], referenceId: string): string {
  const cases = [...new Set(w.results.map((r) => r.case))];
  // Bars share one scale per unit when the cases are meant to be compared (writer counts, version
  // depths); otherwise each case gets its own, so a slow case is not squashed by a fast one.
  const scaleKey = (r: CaseResult): string => (w.chartScale === 'per-unit' ? r.unit : `${r.unit}\0${r.case}`);
  const maxByKey = new Map<string, number>();
  for (const r of w.results) maxByKey.set(scaleKey(r), Math.max(maxByKey.get(scaleKey(r)) ?? 0, r.value));
  const color = (id: string): string => COLORS[id] ?? FALLBACK[systemOrder.indexOf(id) % FALLBACK.length]!;

  const parts: string[] = [];
  let y = 30;
  parts.push(`<text x="16" y="${y}" font-size="18" font-weight="bold">${esc(w.title)}</text>`);
  for (const line of wrap(w.description, 140)) {
    y += 17;
    parts.push(`<text x="16" y="${y}" font-size="12" fill="#555">${esc(line)}</text>`);
  }
  y += 10;
  for (const kase of cases) {
    const rows = w.results.filter((r) => r.case === kase).sort((a, b) => systemOrder.indexOf(a.system) - systemOrder.indexOf(b.system));
    const first = rows[0]!;
    y += 24;
    parts.push(`<text x="16" y="${y}" font-size="13" font-weight="bold">${esc(kase)}<tspan font-weight="normal" fill="#555" dx="6">— ${esc(first.unit)}, ${first.better} is better</tspan></text>`);
    y += 6;
    const ref = w.results.find((r) => r.case === kase && r.system === referenceId)?.value;
    const max = maxByKey.get(scaleKey(first)) || 1;
    for (const r of rows) {
      const len = Math.max(0, (r.value / max) * BAR_W);
      const ratio = r.system === referenceId ? '' : formatRatio(speedRatio(r.value, ref, r.better));
      const label = `${formatValue(r.value)} ${r.unit}${ratio ? ` · ${ratio}` : ''}${extraLabel(r)}`;
      parts.push(
        `<text x="${LABEL_X - 8}" y="${y + BAR_H - 3}" font-size="12" text-anchor="end">${esc(labels.get(r.system) ?? r.system)}</text>`,
        `<rect x="${LABEL_X}" y="${y}" width="${len.toFixed(1)}" height="${BAR_H}" fill="${color(r.system)}"><title>${esc(`${r.system}: ${label}`)}</title></rect>`,
        `<text x="${(LABEL_X + len + 6).toFixed(1)}" y="${y + BAR_H - 3}" font-size="12" fill="#222">${esc(label)}</text>`,
      );
      y += ROW;
    }
  }
  y += 10;
  parts.push(`<text x="16" y="${y + 8}" font-size="11" fill="#777">${esc(`Ratios (×) are to ${labels.get(referenceId) ?? referenceId}, >1 is better. Median of ${w.reps} run(s). ${w.chartScale === 'per-unit' ? 'One scale for all cases.' : 'Each case has its own scale.'}`)}</text>`);
  const height = y + 22;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

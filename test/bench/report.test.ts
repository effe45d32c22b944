/** The bench's own logic that a reader of its report relies on: target verdicts, ratios, keys. */
import { describe, expect, it } from 'vitest';
import type { BenchResult, CaseResult } from '../../bench/lib/harness.ts';
import { evaluateTargets } from '../../bench/lib/targets.ts';
import { speedRatio } from '../../bench/lib/format.ts';
import { makeRng, makeZipfian } from '../../bench/lib/rng.ts';
import { median } from '../../bench/lib/time.ts';
import { renderChart } from '../../bench/lib/chart.ts';

function result(rows: [workload: string, kase: string, system: string, value: number][]): BenchResult {
  const ids = [...new Set(rows.map((r) => r[0]))];
  return {
    machine: { date: '', node: '', platform: '', cpu: '', cores: 2, memoryGB: 1, loadAverageAtStart: [0, 0, 0], loadAverageAtEnd: [0, 0, 0], gitCommit: '', seconds: 1 },
    sizes: { quick: false, reps: 1 },
    systems: [],
    workloads: ids.map((id) => ({
      id,
      title: id,
      description: id === 'many-dbs' ? 'A fresh process opens 1,000 existing databases' : '',
      reps: 1,
      chartScale: 'per-case',
      loadAverage: { start: [0], end: [0] },
      seconds: 0,
      errors: [],
      results: rows
        .filter((r) => r[0] === id)
        .map(([, kase, system, value]): CaseResult => ({ system, case: kase, unit: 'u', better: 'higher', value, samples: [value] })),
    })),
  };
}

const verdict = (r: BenchResult, prefix: string): boolean | undefined => evaluateTargets(r).find((t) => t.target.startsWith(prefix))?.pass;

describe('targets', () => {
  it('passes a ratio at the threshold and fails just below it', () => {
    const at = result([['point-select', 'selects/s', 'mvdb-lmdb', 80], ['point-select', 'selects/s', 'wa-sqlite-memory', 100]]);
    const below = result([['point-select', 'selects/s', 'mvdb-lmdb', 79], ['point-select', 'selects/s', 'wa-sqlite-memory', 100]]);
    expect(verdict(at, 'point selects: mvdb-lmdb ≥ 0.8×')).toBe(true);
    expect(verdict(below, 'point selects: mvdb-lmdb ≥ 0.8×')).toBe(false);
  });

  it('says "not measured" rather than pass or fail when a system is missing', () => {
    const t = evaluateTargets(result([['point-select', 'selects/s', 'wa-sqlite-memory', 100]]));
    const ps = t.find((x) => x.target.startsWith('point selects: mvdb-lmdb ≥ 0.8×'))!;
    expect(ps.pass).toBeUndefined();
    expect(ps.measured).toBe('not measured');
  });

  it('compares time per read at the deepest version with the head', () => {
    const ok = result([['versions', 'reads/s, head', 'mvdb-lmdb', 1000], ['versions', 'reads/s, 100 deep', 'mvdb-lmdb', 500], ['versions', 'reads/s, 10,000 deep', 'mvdb-lmdb', 850]]);
    const slow = result([['versions', 'reads/s, head', 'mvdb-lmdb', 1000], ['versions', 'reads/s, 10,000 deep', 'mvdb-lmdb', 800]]);
    const deep = (r: BenchResult) => evaluateTargets(r).find((t) => t.target.startsWith('read 10,000 versions deep') && t.target.includes('in use'))!;
    expect(deep(ok).pass).toBe(true); // 1000/850 = 1.18 ≤ 1.2; the 100-deep case is not the deepest
    expect(deep(slow).pass).toBe(false); // 1.25
  });

  it('needs 4 disjoint writers to beat 1', () => {
    const same = result([['writers', 'disjoint ×1 procs', 'mvdb-lmdb', 100], ['writers', 'disjoint ×4 procs', 'mvdb-lmdb', 100]]);
    expect(verdict(same, '4 writers')).toBe(false);
  });
});

describe('ratios', () => {
  it('are "times better": value/ref for throughput, ref/value for time', () => {
    expect(speedRatio(50, 100, 'higher')).toBe(0.5);
    expect(speedRatio(50, 100, 'lower')).toBe(2);
    expect(speedRatio(50, undefined, 'higher')).toBeUndefined();
  });

  it('median of an even count is the mean of the middle two', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([5, 1, 3])).toBe(3);
  });
});

describe('keys', () => {
  it('zipfian keys stay in range, are skewed, and repeat for a seed', () => {
    const draw = (seed: number) => {
      const next = makeZipfian(1000, makeRng(seed));
      return Array.from({ length: 10_000 }, next);
    };
    const keys = draw(1);
    expect(keys.every((k) => Number.isInteger(k) && k >= 0 && k < 1000)).toBe(true);
    const counts = new Map<number, number>();
    for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
    const top = Math.max(...counts.values());
    expect(top / keys.length).toBeGreaterThan(0.05); // uniform would give ~0.001
    expect(counts.size).toBeGreaterThan(100);
    expect(draw(1)).toEqual(keys);
  });
});

describe('chart', () => {
  it('escapes text from labels and descriptions', () => {
    const w = result([['x', 'a<b', 's&t', 1]]).workloads[0]!;
    w.description = '"quotes" & <tags>';
    const svg = renderChart(w, new Map([['s&t', 'S & T']]), ['s&t'], 'ref');
    expect(svg).not.toMatch(/<tags>|a<b|S & T/);
    expect(svg).toContain('&lt;tags&gt;');
  });
});

/** The targets of issue 7, each evaluated against one bench result. */
import type { BenchResult } from './harness.ts';

export interface TargetOutcome {
  target: string;
  measured: string;
  /** The number compared with the threshold. */
  value?: number;
  /** true / false, or undefined when the run did not measure what the target needs. */
  pass?: boolean;
}

const MVDB = 'mvdb-lmdb';

function find(r: BenchResult, workload: string, kase: string, system: string): number | undefined {
  return r.workloads.find((w) => w.id === workload)?.results.find((c) => c.case === kase && c.system === system)?.value;
}

function cases(r: BenchResult, workload: string): string[] {
  return [...new Set(r.workloads.find((w) => w.id === workload)?.results.map((c) => c.case) ?? [])];
}

const x = (v: number): string => `${v.toFixed(2)}×`;

/** Throughput ratio of mvdb-lmdb to `ref`, which must be at least `min`. */
function ratioAtLeast(r: BenchResult, target: string, workload: string, kase: string, ref: string, min: number): TargetOutcome {
  const a = find(r, workload, kase, MVDB);
  const b = find(r, workload, kase, ref);
  if (a === undefined || b === undefined) return { target, measured: 'not measured' };
  const v = a / b;
  return { target, measured: x(v), value: v, pass: v >= min };
}

export function evaluateTargets(r: BenchResult): TargetOutcome[] {
  const out: TargetOutcome[] = [];
  const wa = 'wa-sqlite-memory';
  const full = 'sqlite-file-full';
  out.push(ratioAtLeast(r, 'point selects: mvdb-lmdb ≥ 0.8× wa-sqlite :memory:', 'point-select', 'selects/s', wa, 0.8));
  out.push(ratioAtLeast(r, '100-row range scans: mvdb-lmdb ≥ 0.8× wa-sqlite :memory:', 'range-scan', '100-row ranges', wa, 0.8));
  out.push(ratioAtLeast(r, 'full scans: mvdb-lmdb ≥ 0.8× wa-sqlite :memory:', 'range-scan', 'full scan', wa, 0.8));
  out.push(ratioAtLeast(r, 'bulk insert: mvdb-lmdb ≥ 0.8× wa-sqlite :memory:', 'bulk-insert', 'rows/s', wa, 0.8));
  out.push(ratioAtLeast(r, 'point selects: mvdb-lmdb ≥ 0.5× better-sqlite3 file', 'point-select', 'selects/s', full, 0.5));
  out.push(ratioAtLeast(r, 'durable autocommit inserts: mvdb-lmdb ≥ 0.5× better-sqlite3 file sync=FULL', 'autocommit-insert', 'rows/s', full, 0.5));

  // Depth: time per read at the deepest measured version over time per read at the head (≤ 1.2).
  const deep = cases(r, 'versions')
    .map((c) => /^reads\/s, ([\d,]+) deep$/.exec(c)?.[1])
    .filter((d): d is string => d !== undefined)
    .sort((a, b) => Number(b.replace(/,/g, '')) - Number(a.replace(/,/g, '')))[0];
  for (const [kind, perRead] of [['reads/s', (v: number) => 1 / v], ['open + first read', (v: number) => v]] as const) {
    const label = kind === 'reads/s' ? 'snapshot in use' : 'fresh snapshot: open + first read';
    const target = `read ${deep ?? '10,000'} versions deep ≤ 1.2× a read at the head (${label})`;
    const head = find(r, 'versions', `${kind}, head`, MVDB);
    const d = deep && find(r, 'versions', `${kind}, ${deep} deep`, MVDB);
    if (head === undefined || !d) out.push({ target, measured: 'not measured' });
    else {
      const v = perRead(d) / perRead(head);
      out.push({ target, measured: x(v), value: v, pass: v <= 1.2 });
    }
  }

  for (const [kase, label] of [
    ['open + first query', 'cold open + first query < 20 ms'],
    ['open + first query, wasm code cache', 'cold open + first query < 20 ms (opt-in MVDB_WASM_CODE_CACHE)'],
  ] as const) {
    const cold = find(r, 'cold-open', kase, MVDB);
    out.push(cold === undefined ? { target: label, measured: 'not measured' } : { target: label, measured: `${cold.toFixed(1)} ms`, value: cold, pass: cold < 20 });
  }

  const many = r.workloads.find((w) => w.id === 'many-dbs');
  const count = many?.description.match(/opens ([\d,]+)/)?.[1] ?? '1,000';
  for (const [kase, how] of [['resident MB', 'default connection cap'], ['resident MB, all live', 'every connection live']] as const) {
    const rss = find(r, 'many-dbs', kase, MVDB);
    const target = `${count} open databases < 1.5 GB (1,536 MB) resident (${how})`;
    if (rss !== undefined) out.push({ target, measured: `${Math.round(rss)} MB`, value: rss, pass: rss < 1536 });
    else if (kase === 'resident MB') out.push({ target, measured: 'not measured' });
  }

  const one = find(r, 'writers', 'disjoint ×1 procs', MVDB);
  const four = find(r, 'writers', 'disjoint ×4 procs', MVDB);
  const wt = '4 writers (processes) on disjoint rows > 1 writer, total commits/s';
  out.push(one === undefined || four === undefined ? { target: wt, measured: 'not measured' } : { target: wt, measured: `${Math.round(four)} vs ${Math.round(one)} commits/s (${x(four / one)})`, value: four / one, pass: four > one });
  return out;
}

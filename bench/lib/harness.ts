/**
 * Runs the selected workloads on the selected systems. Repetitions are interleaved across systems
 * (rep 1 on every system, then rep 2, …) so a change in machine load hits every system alike; each
 * reported value is the median over repetitions.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { formatValue } from './format.ts';
import { loadAverage, machineInfo, type MachineInfo } from './machine.ts';
import { profiled } from './profiler.ts';
import { median } from './time.ts';
import type { Conn, DbLocation, RunContext, Sample, Sizes, System, Workload } from './types.ts';

export interface CaseResult {
  system: string;
  case: string;
  unit: string;
  better: 'higher' | 'lower';
  /** Median over repetitions. */
  value: number;
  samples: number[];
  /** Extras of the repetition closest to the median. */
  extra?: Sample['extra'];
}

export interface WorkloadResult {
  id: string;
  title: string;
  description: string;
  reps: number;
  chartScale: 'per-unit' | 'per-case';
  loadAverage: { start: number[]; end: number[] };
  seconds: number;
  results: CaseResult[];
  errors: { system: string; error: string }[];
}

export interface BenchResult {
  machine: MachineInfo & { loadAverageAtEnd: number[]; seconds: number };
  sizes: Sizes;
  systems: { id: string; label: string; sqlite: string }[];
  workloads: WorkloadResult[];
}

/** Per-system state that outlives one workload: scratch directory, fixtures, name counter. */
class SystemState {
  private readonly fixtures = new Map<string, Promise<{ conn: Conn; loc: DbLocation }>>();
  private names = 0;
  constructor(
    readonly sys: System,
    readonly dir: string,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  freshName(prefix: string): string {
    return `${prefix}-${++this.names}`;
  }

  fixture(key: string, build: (conn: Conn, loc: DbLocation) => Promise<void>): Promise<{ conn: Conn; loc: DbLocation }> {
    let f = this.fixtures.get(key);
    if (!f) {
      f = (async () => {
        const loc = { dir: this.dir, name: `fixture-${key}` };
        const conn = await this.sys.open(loc);
        await build(conn, loc);
        return { conn, loc };
      })();
      this.fixtures.set(key, f);
      // A failed build is not cached: the next workload that needs it tries again and reports its own error.
      f.catch(() => this.fixtures.delete(key));
    }
    return f;
  }

  async close(): Promise<void> {
    for (const f of this.fixtures.values()) {
      const got = await f.catch(() => undefined);
      await got?.conn.close();
    }
    this.fixtures.clear();
  }
}

function summarize(sys: string, samples: Sample[][]): CaseResult[] {
  const byCase = new Map<string, Sample[]>();
  for (const rep of samples) for (const s of rep) byCase.set(s.case, [...(byCase.get(s.case) ?? []), s]);
  return [...byCase.entries()].map(([name, list]) => {
    const values = list.map((s) => s.value);
    const m = median(values);
    const closest = list.reduce((a, b) => (Math.abs(b.value - m) < Math.abs(a.value - m) ? b : a));
    const first = list[0]!;
    return { system: sys, case: name, unit: first.unit, better: first.better, value: m, samples: values, ...(closest.extra ? { extra: closest.extra } : {}) };
  });
}

export interface HarnessOptions {
  sizes: Sizes;
  systems: System[];
  workloads: Workload[];
  keepScratch: boolean;
  /** Write a CPU profile of each workload's last repetition on each system into this directory. */
  profileDir?: string | undefined;
  log(msg: string): void;
}

export async function runBench(opts: HarnessOptions): Promise<BenchResult> {
  const started = performance.now();
  const machine = machineInfo();
  const scratch = mkdtempSync(join(os.tmpdir(), 'mvdb-bench-'));
  opts.log(`scratch directory ${scratch}`);
  const states = opts.systems.map((sys) => new SystemState(sys, join(scratch, sys.id)));
  const systems = [];
  for (const sys of opts.systems) systems.push({ id: sys.id, label: sys.label, sqlite: await sys.sqliteVersion() });

  const workloads: WorkloadResult[] = [];
  try {
    for (const w of opts.workloads) {
      const t0 = performance.now();
      const load = loadAverage();
      const applicable = states.filter((s) => w.applies(s.sys));
      const reps = w.reps?.(opts.sizes) ?? opts.sizes.reps;
      const samples = new Map<string, Sample[][]>();
      const errors: { system: string; error: string }[] = [];
      const failed = new Set<string>();
      for (let rep = 0; rep < reps; rep++) {
        for (const st of applicable) {
          if (failed.has(st.sys.id)) continue;
          const ctx: RunContext = {
            sys: st.sys,
            sizes: opts.sizes,
            rep,
            dir: st.dir,
            freshName: (p) => st.freshName(p),
            fixture: (key, build) => st.fixture(key, build),
            log: opts.log,
          };
          const ts = performance.now();
          try {
            const profileFile = opts.profileDir && rep === reps - 1 ? join(opts.profileDir, `${w.id}.${st.sys.id}.cpuprofile`) : undefined;
            const got = profileFile ? await profiled(profileFile, () => w.run(ctx)) : await w.run(ctx);
            samples.set(st.sys.id, [...(samples.get(st.sys.id) ?? []), got]);
            opts.log(`${w.id} rep ${rep + 1}/${reps} ${st.sys.id}: ${got.map((s) => `${s.case} ${formatValue(s.value)} ${s.unit}`).join('; ')} (${((performance.now() - ts) / 1000).toFixed(1)} s)`);
          } catch (err) {
            failed.add(st.sys.id);
            const msg = err instanceof Error ? (err.stack ?? err.message) : String(err);
            errors.push({ system: st.sys.id, error: msg });
            opts.log(`${w.id} ${st.sys.id} FAILED: ${msg}`);
          }
        }
      }
      const results = applicable.flatMap((st) => summarize(st.sys.id, samples.get(st.sys.id) ?? []));
      workloads.push({
        id: w.id,
        title: w.title,
        description: w.describe(opts.sizes),
        reps,
        chartScale: w.chartScale ?? 'per-case',
        loadAverage: { start: load, end: loadAverage() },
        seconds: (performance.now() - t0) / 1000,
        results,
        errors,
      });
    }
  } finally {
    for (const st of states) await st.close().catch((e: unknown) => opts.log(`closing ${st.sys.id}: ${String(e)}`));
    if (!opts.keepScratch) rmSync(scratch, { recursive: true, force: true });
  }
  return {
    machine: { ...machine, loadAverageAtEnd: loadAverage(), seconds: (performance.now() - started) / 1000 },
    sizes: opts.sizes,
    systems,
    workloads,
  };
}

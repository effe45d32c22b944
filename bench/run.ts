/**
 * `npm run bench`: mvdb side by side with local SQLite. `--quick` is a CI-sized smoke run; `--only` and
 * `--systems` narrow a run for profiling. Results go to bench/results/ (quick runs: bench/results/quick/).
 */
import { Command, InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './lib/harness.ts';
import { runBench } from './lib/harness.ts';
import { allSystems, extraSystems } from './systems/index.ts';
import { WORKLOADS } from './workloads/index.ts';
import { writeReport } from './report.ts';

function pick<T extends { id: string }>(kind: string, all: T[], list: string | undefined): T[] {
  if (!list) return all;
  const ids = list.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = ids.filter((id) => !all.some((x) => x.id === id));
  if (unknown.length) throw new InvalidArgumentError(`unknown ${kind} ${unknown.map((u) => `"${u}"`).join(', ')}; known: ${all.map((x) => x.id).join(', ')}`);
  return all.filter((x) => ids.includes(x.id));
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a whole number ≥ 1, got "${v}"`);
  return n;
}

const program = new Command('bench')
  .description('Benchmark mvdb against better-sqlite3 and wa-sqlite')
  .option('--quick', 'smoke run: tiny sizes, one repetition (checks that everything runs; the numbers mean nothing)')
  .option('--only <workloads>', 'comma-separated workload ids')
  .option('--systems <systems>', 'comma-separated system ids')
  .option('--reps <n>', 'repetitions per workload (median reported; default 3, quick 1)', positiveInt)
  .option('--out <dir>', 'output directory (default bench/results, or bench/results/quick with --quick)')
  .option('--keep', 'keep the scratch directory with the databases')
  .option('--cpu-prof <dir>', "write a CPU profile of each workload's last repetition per system (summarize with bench/profile-summary.ts)")
  .option('--list', 'list workloads and systems, then exit')
  .option('--render <results.json>', 'only rewrite the markdown and charts of an earlier run (into --out, default its directory)')
  .showHelpAfterError();

program.parse();
const o = program.opts<{ quick?: boolean; only?: string; systems?: string; reps?: number; out?: string; keep?: boolean; list?: boolean; cpuProf?: string; render?: string }>();

const systemsAll = allSystems();
if (o.list) {
  console.log(`workloads: ${WORKLOADS.map((w) => w.id).join(', ')}\nsystems:   ${systemsAll.map((s) => s.id).join(', ')}\nextra systems (only with --systems): ${extraSystems().map((s) => s.id).join(', ')}`);
  process.exit(0);
}
if (o.render) {
  const earlier = JSON.parse(readFileSync(o.render, 'utf8')) as BenchResult;
  const files = writeReport(earlier, o.out ?? fileURLToPath(new URL('.', `file://${o.render.startsWith('/') ? '' : `${process.cwd()}/`}${o.render}`)));
  console.log(`wrote ${files.length} files`);
  process.exit(0);
}

function orExit<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    return program.error(`error: ${(err as Error).message}`);
  }
}
const workloads = orExit(() => pick('workload', WORKLOADS, o.only));
const systems = o.systems ? orExit(() => pick('system', [...systemsAll, ...extraSystems()], o.systems)) : systemsAll;

const quick = Boolean(o.quick);
const sizes = { quick, reps: o.reps ?? (quick ? 1 : 3) };
const out = o.out ?? fileURLToPath(new URL(quick ? './results/quick/' : './results/', import.meta.url));
const log = (msg: string): void => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);

const result = await runBench({ sizes, systems, workloads, keepScratch: Boolean(o.keep), profileDir: o.cpuProf, log });
const files = writeReport(result, out);
log(`wrote ${files.length} files to ${out}`);
const errors = result.workloads.reduce((n, w) => n + w.errors.length, 0);
if (errors) {
  log(`${errors} workload run(s) failed; see the Errors section of results.md`);
  process.exitCode = 1;
}

/**
 * What the single-layer benches (bench:kv, bench:engine, bench:gc) share: their command line
 * (--quick, --runs <n>, --backends <list>; each bench supplies only its own wording) and the
 * result row bench:kv and bench:engine write.
 */
import { Command, InvalidArgumentError } from 'commander';

export interface BenchOptions {
  quick?: boolean;
  runs?: number;
  backends?: string;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a whole number >= 1, got "${v}"`);
  return n;
}

/** Parses process.argv (exiting with commander's usage on bad input) and returns the options. */
export function parseBenchOptions(help: { name: string; description: string; quick: string; runs: string; backends: string }): BenchOptions {
  const program = new Command(help.name)
    .description(help.description)
    .option('--quick', help.quick)
    .option('--runs <n>', help.runs, positiveInt)
    .option('--backends <list>', help.backends)
    .showHelpAfterError();
  program.parse();
  return program.opts<BenchOptions>();
}

/** One figure in bench/results/{kv,engine}.json: the median of `runs`. */
export interface MetricResult {
  backend: string;
  metric: string;
  unit: string;
  detail: string;
  median: number;
  runs: number[];
}

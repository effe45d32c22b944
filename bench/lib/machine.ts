/** The machine facts every result file starts with: numbers mean little without them. */
import { execFileSync } from 'node:child_process';
import os from 'node:os';

export interface MachineInfo {
  date: string;
  node: string;
  platform: string;
  cpu: string;
  cores: number;
  memoryGB: number;
  loadAverageAtStart: number[];
  gitCommit: string;
}

function gitCommit(): string {
  // A run from an exported snapshot (git archive) has no .git: the caller names the commit.
  if (process.env.BENCH_GIT_COMMIT) return process.env.BENCH_GIT_COMMIT;
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

export function loadAverage(): number[] {
  return os.loadavg().map((x) => Math.round(x * 100) / 100);
}

export function machineInfo(): MachineInfo {
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverageAtStart: loadAverage(),
    gitCommit: gitCommit(),
  };
}

/** The two lines a bench prints first: what ran, where, and how busy the machine was. */
export function machineHeader(bench: string, machine: MachineInfo): string {
  return (
    `${bench}  ${machine.date}  node ${machine.node}  ${machine.platform}\n` +
    `cpu: ${machine.cpu} x ${machine.cores} cores  load average: ${machine.loadAverageAtStart.join(' ')}  commit ${machine.gitCommit}`
  );
}

/**
 * `npm run bench:engine`: the engine through its public API, on lmdb and memory.
 *   - read latency of one page at the head vs at a version 10,000 commits deep on the same page
 *     (the version filter is in the key: the two should cost the same; aim: ratio <= 1.2)
 *   - commit throughput in pages/s for commits of 1, 10, 100 and 1,000 pages of 4 KiB
 * Each figure is the median of several runs. Prints a table and writes bench/results/engine.json
 * (bench/results/quick/engine.json with --quick).
 */

import { randomFillSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commitPages, createDatabase, head, readPage, type DatabaseRef, type Version } from '../src/engine/index.ts';
import { openKv } from '../src/kv/index.ts';
import type { Kv } from '../src/kv/types.ts';
import { parseBenchOptions, type MetricResult } from './lib/layer-bench.ts';
import { loadAverage, machineHeader, machineInfo } from './lib/machine.ts';
import { median } from './lib/time.ts';

const opts = parseBenchOptions({
  name: 'bench:engine',
  description: 'Benchmark the engine: read latency at the head vs deep in history, commit throughput',
  quick: 'smoke run: small sizes, one run (checks that everything runs; the numbers mean little)',
  runs: 'runs per measurement, median reported (default 5)',
  backends: 'comma-separated: lmdb, memory (default: both)',
});
const quick = opts.quick === true;
const runs = opts.runs ?? (quick ? 1 : 5);
const sizes = quick
  ? { depth: 300, reads: 300, commitPages: { 1: 20, 10: 10, 100: 4, 1000: 1 } as Record<number, number> }
  : { depth: 10_000, reads: 3_000, commitPages: { 1: 300, 10: 150, 100: 40, 1000: 6 } as Record<number, number> };
const PAGE_SIZE = 4096;

interface Backend {
  name: string;
  open(): Promise<{ kv: Kv; close(): Promise<void> }>;
}
const BACKENDS: Backend[] = [
  {
    name: 'lmdb',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'mvdb-bench-engine-'));
      const kv = await openKv('lmdb:' + dir);
      return { kv, close: async () => (await kv.close(), rmSync(dir, { recursive: true, force: true })) };
    },
  },
  {
    name: 'memory',
    async open() {
      const kv = await openKv('memory:');
      return { kv, close: () => kv.close() };
    },
  },
];

function randomPage(): Uint8Array {
  return randomFillSync(new Uint8Array(PAGE_SIZE));
}

/** Page 1 rewritten `depth` times; returns the versions of the first and the last commit. */
async function buildHistory(db: DatabaseRef, depth: number): Promise<{ deep: Version; head: Version }> {
  let v = await head(db);
  let first: Version | undefined;
  for (let i = 0; i < depth; i++) {
    v = await commitPages(db, { snapshot: v, pages: new Map([[1, randomPage()]]), readSet: [1] });
    first ??= v;
  }
  return { deep: first!, head: v };
}

/** Median latency (µs) of readPage at each version, measured interleaved so load hits both alike. */
async function readLatencies(db: DatabaseRef, at: { deep: Version; head: Version }): Promise<{ head: number; deep: number }> {
  const samples = { head: [] as number[], deep: [] as number[] };
  for (let i = 0; i < sizes.reads; i++) {
    for (const which of i % 2 ? (['head', 'deep'] as const) : (['deep', 'head'] as const)) {
      const t = performance.now();
      const page = await readPage(db, 1, at[which]);
      samples[which].push((performance.now() - t) * 1000);
      if (page === undefined) throw new Error('page 1 missing');
    }
  }
  return { head: median(samples.head), deep: median(samples.deep) };
}

/** Pages per second committing `count` commits of `pages` fresh pages each, one after another. */
async function commitThroughput(db: DatabaseRef, pages: number, count: number): Promise<number> {
  const batches = Array.from({ length: count }, () => new Map(Array.from({ length: pages }, (_, i) => [i + 1, randomPage()] as [number, Uint8Array])));
  let v = await head(db);
  const t = performance.now();
  for (const batch of batches) v = await commitPages(db, { snapshot: v, pages: batch, readSet: batch.keys() });
  return (pages * count) / ((performance.now() - t) / 1000);
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const wanted = opts.backends?.split(',').map((s) => s.trim()) ?? BACKENDS.map((b) => b.name);
  const backends = BACKENDS.filter((b) => wanted.includes(b.name));
  if (backends.length !== wanted.length) throw new Error(`unknown backend in "${opts.backends}"; accepted: lmdb, memory`);
  console.log(machineHeader('bench:engine', machine));
  console.log(`median of ${runs} run(s)${quick ? ' (quick: small sizes)' : ''}; page size ${PAGE_SIZE}; lmdb commits are durable (fsync)\n`);

  const results: MetricResult[] = [];
  const record = (backend: string, metric: string, unit: string, detail: string, values: number[]) => {
    results.push({ backend, metric, unit, detail, median: median(values), runs: values });
    process.stderr.write(`  ${backend}: ${metric}: ${median(values).toFixed(1)} ${unit}\n`);
  };

  for (const backend of backends) {
    const { kv, close } = await backend.open();
    try {
      const db = await createDatabase(kv, 'history');
      process.stderr.write(`  ${backend.name}: building ${sizes.depth} versions of page 1...\n`);
      const at = await buildHistory(db, sizes.depth);
      const heads: number[] = [];
      const deeps: number[] = [];
      for (let r = 0; r < runs; r++) {
        const l = await readLatencies(db, at);
        heads.push(l.head);
        deeps.push(l.deep);
      }
      const detail = `readPage of page 1, median of ${sizes.reads} reads per run, each in a fresh kv transaction`;
      record(backend.name, 'read latency at head', 'µs', detail, heads);
      record(backend.name, `read latency ${sizes.depth} commits deep`, 'µs', detail, deeps);
      record(backend.name, 'deep / head latency ratio', 'x', 'aim: <= 1.2', deeps.map((d, i) => d / heads[i]!));

      for (const pages of [1, 10, 100, 1000]) {
        const count = sizes.commitPages[pages]!;
        const values: number[] = [];
        for (let r = 0; r < runs; r++) {
          const fresh = await createDatabase(kv, `commit-${pages}-${r}`);
          values.push(await commitThroughput(fresh, pages, count));
        }
        record(
          backend.name,
          `commit throughput, ${pages} page${pages > 1 ? 's' : ''}/commit`,
          'pages/s',
          `${count} sequential commits of ${pages} fresh 4 KiB pages (read set = pages written)`,
          values,
        );
      }
    } finally {
      await close();
    }
  }

  console.log(['backend'.padEnd(8), 'metric'.padEnd(40), 'median'.padStart(12), 'unit'].join('  '));
  for (const r of results) {
    const shown = r.unit === 'x' ? r.median.toFixed(2) : Math.round(r.median).toLocaleString('en-US');
    console.log([r.backend.padEnd(8), r.metric.padEnd(40), shown.padStart(12), r.unit].join('  '));
  }
  const loadAtEnd = loadAverage();
  console.log(`\nload average at end: ${loadAtEnd.join(' ')}`);
  const here = dirname(fileURLToPath(import.meta.url));
  const out = join(here, 'results', ...(quick ? ['quick'] : []), 'engine.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ machine: { ...machine, loadAverageAtEnd: loadAtEnd }, runs, quick, sizes, results }, null, 2)}\n`);
  console.log(`wrote ${out}`);
}

await main();

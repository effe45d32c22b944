/**
 * `npm run bench:kv`: the kv backends through the public Kv API. Durable commits
 * per second (one and four 4 KiB values per commit), point gets per second and
 * reverse limit-1 seeks per second (the engine's "newest version of a page at or
 * below a version" read), for memory and lmdb, and fdb when FDB_CLUSTER_FILE is
 * set. Each figure is the median of several runs. Prints a table and writes
 * bench/results/kv.json (bench/results/quick/kv.json with --quick).
 */

import { closeSync, fdatasyncSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from 'commander';
import { concatBytes, u32be, versionstamp } from '../src/kv/bytes.ts';
import { createEmbeddedKv } from '../src/kv/embedded.ts';
import { openKv } from '../src/kv/index.ts';
import { LmdbStorage } from '../src/kv/lmdb.ts';
import { MemoryStorage } from '../src/kv/memory.ts';
import type { Storage } from '../src/kv/storage.ts';
import type { Kv } from '../src/kv/types.ts';
import { parseBenchOptions, type MetricResult } from './lib/layer-bench.ts';
import { loadAverage, machineHeader, machineInfo } from './lib/machine.ts';
import { median } from './lib/time.ts';

const opts = parseBenchOptions({
  name: 'bench:kv',
  description: 'Benchmark the kv backends: durable commits, point gets, reverse seeks',
  quick: 'smoke run: small sizes, one run (checks that everything runs; the numbers mean little)',
  runs: 'runs per measurement, median reported (default 5)',
  backends: 'comma-separated: memory, lmdb, fdb (default: memory, lmdb, and fdb when FDB_CLUSTER_FILE is set)',
});

const quick = opts.quick === true;
const runs = opts.runs ?? (quick ? 1 : 5);
const sizes = quick
  ? { commits: 100, pages: 200, versionsPerPage: 4, reads: 2_000, readsPerTx: 500 }
  : { commits: 1_000, pages: 2_000, versionsPerPage: 8, reads: 100_000, readsPerTx: 5_000 };

const VALUE = new Uint8Array(4096).fill(0x5a);
const encoder = new TextEncoder();

interface Opened {
  kv: Kv;
  /** The embedded store under `kv` (same data), to time reads without the transaction layer. */
  storage?: Storage;
  dispose(): Promise<void>;
}

interface Backend {
  name: string;
  open(): Promise<Opened>;
}

const scratch = mkdtempSync(join(tmpdir(), 'mvdb-bench-kv-'));
const allBackends: Backend[] = [
  {
    name: 'memory',
    open: async () => {
      // What openKv('memory:') does, keeping hold of the store.
      const storage = new MemoryStorage();
      const kv = createEmbeddedKv(storage, 'memory:');
      return { kv, storage, dispose: () => kv.close() };
    },
  },
  {
    name: 'lmdb',
    open: async () => {
      const dir = mkdtempSync(join(scratch, 'lmdb-'));
      const kv = await openKv(`lmdb:${dir}`);
      const storage = new LmdbStorage(dir);
      return {
        kv,
        storage,
        dispose: async () => {
          await storage.close();
          await kv.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'fdb',
    open: async () => {
      const kv = await openKv('fdb:');
      const prefix = encoder.encode('bench-kv/');
      return {
        kv,
        dispose: async () => {
          await kv.run(async (tx) => tx.clearRange(prefix, encoder.encode('bench-kv0')));
          await kv.close();
        },
      };
    },
  },
];

function chooseBackends(): Backend[] {
  const wanted = opts.backends?.split(',').map((s) => s.trim()) ?? ['memory', 'lmdb', ...(process.env.FDB_CLUSTER_FILE ? ['fdb'] : [])];
  const unknown = wanted.filter((name) => !allBackends.some((b) => b.name === name));
  if (unknown.length > 0) throw new InvalidArgumentError(`unknown backend ${unknown.join(', ')}; known: memory, lmdb, fdb`);
  return allBackends.filter((b) => wanted.includes(b.name));
}

/** A page key as the engine lays them out: prefix ‖ page u32 BE ‖ versionstamp. */
const pageKey = (page: number, stamp: Uint8Array) => concatBytes(encoder.encode('bench-kv/p/'), u32be(page), stamp);
/** Keys the commit runs write: new keys every time, apart from the loaded pages. */
const commitKey = (values: number, run: number, i: number, j: number) =>
  concatBytes(encoder.encode('bench-kv/c/'), u32be(values), u32be(run), u32be(i), u32be(j));

/** A deterministic pseudo-random sequence (xorshift32), so every backend reads the same keys. */
function sequence(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

interface Measurement {
  metric: string;
  unit: string;
  /** What one run does. */
  detail: string;
  /** Undefined when the backend cannot run it. */
  run(opened: Opened, runIndex: number): Promise<number> | undefined;
}

async function perSecond(ops: number, body: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await body();
  return (ops * 1000) / (performance.now() - start);
}

function commitMeasurement(valuesPerCommit: number): Measurement {
  return {
    metric: `durable commits/s, ${valuesPerCommit} x 4 KiB`,
    unit: 'commits/s',
    detail: `${sizes.commits} sequential commits, each setting ${valuesPerCommit} new 4 KiB values`,
    run: ({ kv }, runIndex) =>
      perSecond(sizes.commits, async () => {
        for (let i = 0; i < sizes.commits; i++) {
          const tx = kv.createTransaction();
          for (let j = 0; j < valuesPerCommit; j++) {
            tx.set(commitKey(valuesPerCommit, runIndex, i, j), VALUE);
          }
          await tx.commit();
        }
      }),
  };
}

/** Loads `pages` pages with `versionsPerPage` versions each (versions 1..n, batch order 0). */
async function loadPages(kv: Kv): Promise<void> {
  const perTx = 200;
  for (let first = 0; first < sizes.pages; first += perTx) {
    await kv.run(async (tx) => {
      for (let page = first; page < Math.min(first + perTx, sizes.pages); page++) {
        for (let v = 1; v <= sizes.versionsPerPage; v++) tx.set(pageKey(page, versionstamp(BigInt(v), 0)), VALUE);
      }
    });
  }
}

/** Runs `reads` reads, `readsPerTx` per transaction (a transaction must stay under 5 s). */
function readMeasurement(metric: string, detail: string, read: (kv: Kv, tx: ReturnType<Kv['createTransaction']>, next: () => number) => Promise<void>): Measurement {
  return {
    metric,
    unit: 'ops/s',
    detail,
    run: ({ kv }, runIndex) => {
      const next = sequence(0x9e3779b9 ^ (runIndex + 1));
      return perSecond(sizes.reads, async () => {
        for (let done = 0; done < sizes.reads; done += sizes.readsPerTx) {
          const tx = kv.createTransaction();
          for (let i = 0; i < sizes.readsPerTx; i++) await read(kv, tx, next);
          tx.cancel();
        }
      });
    },
  };
}

const pointGets = readMeasurement(
  'point gets/s',
  `random gets of existing 4 KiB values (${sizes.pages * sizes.versionsPerPage} keys), ${sizes.readsPerTx} per transaction`,
  async (_kv, tx, next) => {
    const page = Math.floor(next() * sizes.pages);
    const version = 1 + Math.floor(next() * sizes.versionsPerPage);
    if ((await tx.get(pageKey(page, versionstamp(BigInt(version), 0)))) === undefined) throw new Error('missing key');
  },
);

/** The newest version of a random page at or below a random version: reverse range read, limit 1. */
async function seek(tx: ReturnType<Kv['createTransaction']>, next: () => number): Promise<void> {
  const [begin, end] = seekRange(next);
  const rows = await tx.getRange(begin, end, { limit: 1, reverse: true });
  if (rows.length !== 1) throw new Error('missing page version');
}

function seekRange(next: () => number): [Uint8Array, Uint8Array] {
  const page = Math.floor(next() * sizes.pages);
  const atOrBelow = 1 + Math.floor(next() * sizes.versionsPerPage);
  return [pageKey(page, versionstamp(0n, 0)), pageKey(page, versionstamp(BigInt(atOrBelow), 1))];
}

const reverseSeeks = readMeasurement(
  'reverse limit-1 seeks/s',
  `newest version <= v of a random page (${sizes.pages} pages x ${sizes.versionsPerPage} versions), ${sizes.readsPerTx} per transaction`,
  (_kv, tx, next) => seek(tx, next),
);

const reverseSeeksFreshTx: Measurement = {
  metric: 'reverse limit-1 seeks/s, new transaction each',
  unit: 'ops/s',
  detail: 'as above, each seek in its own transaction (read version + snapshot per seek)',
  run: ({ kv }, runIndex) => {
    const next = sequence(0x85ebca6b ^ (runIndex + 1));
    const count = Math.floor(sizes.reads / 5);
    return perSecond(count, async () => {
      for (let i = 0; i < count; i++) {
        const tx = kv.createTransaction();
        await seek(tx, next);
        tx.cancel();
      }
    });
  },
};

const reverseSeeksStore: Measurement = {
  metric: 'reverse limit-1 seeks/s, store only (no Kv layer)',
  unit: 'ops/s',
  detail: `as above, on one Storage snapshot per ${sizes.readsPerTx} seeks, without the transaction layer`,
  run: ({ storage }, runIndex) => {
    if (!storage) return undefined;
    const next = sequence(0xc2b2ae35 ^ (runIndex + 1));
    return perSecond(sizes.reads, async () => {
      for (let done = 0; done < sizes.reads; done += sizes.readsPerTx) {
        const snap = storage.snapshot();
        for (let i = 0; i < sizes.readsPerTx; i++) {
          const [begin, end] = seekRange(next);
          if (snap.getRange(begin, end, { limit: 1, reverse: true }).length !== 1) throw new Error('missing page version');
        }
        snap.release();
      }
    });
  },
};

const MEASUREMENTS = [commitMeasurement(1), commitMeasurement(4), pointGets, reverseSeeks, reverseSeeksFreshTx, reverseSeeksStore];

/**
 * The disk's own pace: 4 KiB writes each followed by fdatasync, per second. A durable commit needs
 * at least one, so this bounds durable commits/s (other processes' I/O lowers it).
 */
function fdatasyncRate(): number {
  const file = join(scratch, 'fsync-probe');
  const fd = openSync(file, 'w');
  const block = new Uint8Array(4096).fill(1);
  const count = quick ? 50 : 300;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    writeSync(fd, block, 0, block.length, (i % 16) * 4096);
    fdatasyncSync(fd);
  }
  const rate = (count * 1000) / (performance.now() - start);
  closeSync(fd);
  rmSync(file);
  return Math.round(rate);
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const backends = chooseBackends();
  console.log(machineHeader('bench:kv', machine));
  const diskAtStart = fdatasyncRate();
  console.log(`disk: ${diskAtStart.toLocaleString('en-US')} write+fdatasync/s at start (a durable commit needs at least one)`);
  console.log(`median of ${runs} run(s)${quick ? ' (quick: small sizes)' : ''}; durable = commit() resolved after fsync (memory is not durable)\n`);

  const results: MetricResult[] = [];
  for (const backend of backends) {
    const opened = await backend.open();
    try {
      await loadPages(opened.kv);
      for (const m of MEASUREMENTS) {
        const values: number[] = [];
        for (let r = 0; r < runs; r++) {
          const value = await m.run(opened, r + 1);
          if (value !== undefined) values.push(value);
        }
        if (values.length === 0) continue;
        results.push({ backend: backend.name, metric: m.metric, unit: m.unit, detail: m.detail, median: median(values), runs: values });
        process.stderr.write(`  ${backend.name}: ${m.metric}: ${Math.round(median(values)).toLocaleString('en-US')}\n`);
      }
    } finally {
      await opened.dispose();
    }
  }
  const names = backends.map((b) => b.name);
  const width = Math.max(...MEASUREMENTS.map((m) => m.metric.length));
  const cell = (x: string) => x.padStart(14);
  console.log(`\n${'metric'.padEnd(width)}${names.map(cell).join('')}`);
  for (const m of MEASUREMENTS) {
    const values = names.map((name) => results.find((r) => r.backend === name && r.metric === m.metric)?.median);
    const shown = values.map((v) => cell(v === undefined ? 'n/a' : Math.round(v).toLocaleString('en-US')));
    console.log(`${m.metric.padEnd(width)}${shown.join('')}`);
  }
  const loadAtEnd = loadAverage();
  const diskAtEnd = fdatasyncRate();
  console.log(`\nload average at end: ${loadAtEnd.join(' ')}; disk: ${diskAtEnd.toLocaleString('en-US')} write+fdatasync/s`);

  rmSync(scratch, { recursive: true, force: true });
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', quick ? 'quick' : '', 'kv.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ machine: { ...machine, loadAverageAtEnd: loadAtEnd }, disk: { fdatasyncPerSecondAtStart: diskAtStart, fdatasyncPerSecondAtEnd: diskAtEnd }, runs, quick, sizes, results }, null, 2)}\n`);
  console.log(`wrote ${out}`);
}

await main();

/**
 * `npm run bench:gc`: garbage collection on a database with 10,000 commits, on lmdb and memory.
 *   - workload: 10,000 commits through the engine, each rewriting 1-3 of 256 pages (4 KiB, fresh content),
 *     so nearly every page version but the newest is garbage once the watermark reaches the head
 *   - GC throughput: page versions freed per second (retention 0, content grace 0: GC to the head),
 *     with the time of each phase, and the time of a dry run over the same data first
 *   - store size before and after: kv bytes under the database's prefix, and (lmdb) the size of data.mdb
 *     (LMDB reuses freed pages for later writes; it does not shrink the file)
 * Each run builds its own database. Prints a table and writes bench/results/gc.json
 * (bench/results/quick/gc.json with --quick).
 */

import { randomFillSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prefixEnd } from '../src/kv/bytes.ts';
import { openKv } from '../src/kv/index.ts';
import type { Kv } from '../src/kv/types.ts';
import { collectGarbage, commitPages, createDatabase, head, readPages, type DatabaseRef, type GcPhase } from '../src/engine/index.ts';
import { parseBenchOptions } from './lib/layer-bench.ts';
import { loadAverage, machineHeader, machineInfo } from './lib/machine.ts';
import { makeRng } from './lib/rng.ts';
import { median } from './lib/time.ts';

const opts = parseBenchOptions({
  name: 'bench:gc',
  description: 'Benchmark GC: page versions freed per second and store size before/after for 10,000 commits',
  quick: 'smoke run: 500 commits, one run (checks that everything runs; the numbers mean little)',
  runs: 'runs per backend, each on a fresh database; median reported (default 3)',
  backends: 'comma-separated: lmdb, memory (default: both)',
});
const quick = opts.quick === true;
const runs = opts.runs ?? (quick ? 1 : 3);
const COMMITS = quick ? 500 : 10_000;
const PAGES = 256;
const PAGE_SIZE = 4096;

interface Store {
  kv: Kv;
  /** Bytes of the backing file, where there is one. */
  fileBytes(): number | undefined;
  close(): Promise<void>;
}
const BACKENDS: Record<string, () => Promise<Store>> = {
  async lmdb() {
    const dir = mkdtempSync(join(tmpdir(), 'mvdb-bench-gc-'));
    const kv = await openKv('lmdb:' + dir);
    return {
      kv,
      fileBytes: () => statSync(join(dir, 'data.mdb')).size,
      close: async () => (await kv.close(), rmSync(dir, { recursive: true, force: true })),
    };
  },
  async memory() {
    const kv = await openKv('memory:');
    return { kv, fileBytes: () => undefined, close: () => kv.close() };
  },
};

async function buildHistory(db: DatabaseRef): Promise<void> {
  // Seeded, so every run and backend sees the same workload.
  const next = makeRng(42);
  let v = await head(db);
  // Every page exists from the first commit on.
  v = await commitPages(db, { snapshot: v, pages: new Map(Array.from({ length: PAGES }, (_, i) => [i + 1, randomFillSync(new Uint8Array(PAGE_SIZE))])) });
  for (let i = 1; i < COMMITS; i++) {
    const pages = new Map<number, Uint8Array>();
    const count = 1 + Math.floor(next() * 3);
    while (pages.size < count) pages.set(1 + Math.floor(next() * PAGES), randomFillSync(new Uint8Array(PAGE_SIZE)));
    v = await commitPages(db, { snapshot: v, pages, readSet: pages.keys() });
  }
}

/** Key and value bytes under the database's prefix. */
async function namespaceBytes(db: DatabaseRef): Promise<number> {
  let total = 0;
  let begin = db.prefix;
  const end = prefixEnd(db.prefix);
  for (;;) {
    const tx = db.kv.createTransaction();
    const rows = await tx.snapshot().getRange(begin, end, { limit: 10_000 });
    tx.cancel();
    for (const [k, v] of rows) total += k.length + v.length;
    if (rows.length < 10_000) return total;
    begin = new Uint8Array([...rows[rows.length - 1]![0], 0]);
  }
}

interface RunResult {
  pageVersionsFreed: number;
  contentsFreed: number;
  versionsFreed: number;
  gcSeconds: number;
  dryRunSeconds: number;
  phaseSeconds: Partial<Record<GcPhase, number>>;
  kvBytesBefore: number;
  kvBytesAfter: number;
  fileBytesBefore?: number;
  fileBytesAfter?: number;
  buildSeconds: number;
}

async function runOnce(backend: string, run: number): Promise<RunResult> {
  const store = await BACKENDS[backend]!();
  try {
    const db = await createDatabase(store.kv, `gc-${run}`, { retentionMs: 0 });
    let t = performance.now();
    await buildHistory(db);
    const buildSeconds = (performance.now() - t) / 1000;
    const kvBytesBefore = await namespaceBytes(db);
    const fileBytesBefore = store.fileBytes();

    t = performance.now();
    const dry = await collectGarbage(db, { dryRun: true, contentGraceMs: 0 });
    const dryRunSeconds = (performance.now() - t) / 1000;

    const phaseSeconds: Partial<Record<GcPhase, number>> = {};
    let phase: GcPhase | undefined;
    let phaseStart = performance.now();
    t = performance.now();
    const report = await collectGarbage(db, {
      contentGraceMs: 0,
      onProgress: (p) => {
        if (p.phase === phase) return;
        const now = performance.now();
        if (phase !== undefined) phaseSeconds[phase] = (now - phaseStart) / 1000;
        phase = p.phase;
        phaseStart = now;
      },
    });
    const gcSeconds = (performance.now() - t) / 1000;
    if (report.pageVersions !== dry.pageVersions) throw new Error(`dry run said ${dry.pageVersions} page versions, GC freed ${report.pageVersions}`);
    // Still whole: every page reads at the head.
    const pages = await readPages(db, Array.from({ length: PAGES }, (_, i) => i + 1), await head(db));
    if (pages.some((p) => p === undefined)) throw new Error('a page is missing after GC');
    return {
      pageVersionsFreed: report.pageVersions,
      contentsFreed: report.contents,
      versionsFreed: report.versions,
      gcSeconds,
      dryRunSeconds,
      phaseSeconds,
      kvBytesBefore,
      kvBytesAfter: await namespaceBytes(db),
      ...(fileBytesBefore !== undefined ? { fileBytesBefore, fileBytesAfter: store.fileBytes()! } : {}),
      buildSeconds,
    };
  } finally {
    await store.close();
  }
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

async function main(): Promise<void> {
  const machine = machineInfo();
  const wanted = opts.backends?.split(',').map((s) => s.trim()) ?? Object.keys(BACKENDS);
  for (const b of wanted) if (!(b in BACKENDS)) throw new Error(`unknown backend "${b}"; accepted: lmdb, memory`);
  console.log(machineHeader('bench:gc', machine));
  console.log(
    `${COMMITS} commits of 1-3 fresh 4 KiB pages over ${PAGES} pages; GC to the head (retention 0, content grace 0); ` +
      `median of ${runs} run(s), each on a fresh database${quick ? ' (quick)' : ''}\n`,
  );

  const results: { backend: string; runs: RunResult[]; median: Record<string, number> }[] = [];
  for (const backend of wanted) {
    const all: RunResult[] = [];
    for (let r = 0; r < runs; r++) {
      process.stderr.write(`  ${backend}: run ${r + 1}/${runs}: building ${COMMITS} commits...\n`);
      const result = await runOnce(backend, r);
      process.stderr.write(
        `  ${backend}: freed ${result.pageVersionsFreed} page versions in ${result.gcSeconds.toFixed(2)} s ` +
          `(${Math.round(result.pageVersionsFreed / result.gcSeconds)} /s); ${mib(result.kvBytesBefore)} -> ${mib(result.kvBytesAfter)}\n`,
      );
      all.push(result);
    }
    const m = (f: (r: RunResult) => number) => median(all.map(f));
    results.push({
      backend,
      runs: all,
      median: {
        pageVersionsPerSecond: m((r) => r.pageVersionsFreed / r.gcSeconds),
        gcSeconds: m((r) => r.gcSeconds),
        dryRunSeconds: m((r) => r.dryRunSeconds),
        pageVersionsFreed: m((r) => r.pageVersionsFreed),
        kvBytesBefore: m((r) => r.kvBytesBefore),
        kvBytesAfter: m((r) => r.kvBytesAfter),
        ...(all[0]!.fileBytesBefore !== undefined
          ? { fileBytesBefore: m((r) => r.fileBytesBefore!), fileBytesAfter: m((r) => r.fileBytesAfter!) }
          : {}),
      },
    });
  }

  console.log(['backend'.padEnd(8), 'freed/s'.padStart(10), 'GC s'.padStart(7), 'dry s'.padStart(7), 'kv before'.padStart(11), 'kv after'.padStart(10), 'file before'.padStart(12), 'file after'.padStart(11)].join('  '));
  for (const { backend, median: x } of results) {
    console.log(
      [
        backend.padEnd(8),
        Math.round(x.pageVersionsPerSecond!).toLocaleString('en-US').padStart(10),
        x.gcSeconds!.toFixed(2).padStart(7),
        x.dryRunSeconds!.toFixed(2).padStart(7),
        mib(x.kvBytesBefore!).padStart(11),
        mib(x.kvBytesAfter!).padStart(10),
        (x.fileBytesBefore !== undefined ? mib(x.fileBytesBefore) : '-').padStart(12),
        (x.fileBytesAfter !== undefined ? mib(x.fileBytesAfter) : '-').padStart(11),
      ].join('  '),
    );
  }
  const loadAtEnd = loadAverage();
  console.log(`\nload average at end: ${loadAtEnd.join(' ')}`);
  const here = dirname(fileURLToPath(import.meta.url));
  const out = join(here, 'results', ...(quick ? ['quick'] : []), 'gc.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ machine: { ...machine, loadAverageAtEnd: loadAtEnd }, runs, quick, commits: COMMITS, pages: PAGES, results }, null, 2)}\n`);
  console.log(`wrote ${out}`);
}

await main();

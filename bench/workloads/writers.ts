/**
 * Concurrent writers: 1, 2, 4 and 8 writers updating disjoint rows, or all the same hot row, for a fixed
 * time. Separate processes on systems that persist, separate connections in one process where the
 * system allows it. Throughput is total commits per second; a conflict is a transaction that lost and
 * rolled back. Afterwards the counters must have grown by exactly the commits reported (no lost update).
 */
import { BenchChild } from '../lib/child-process.ts';
import { makeRng, randInt } from '../lib/rng.ts';
import { PAYLOADS } from '../lib/table.ts';
import type { Conn, DbLocation, RunContext, Sample, Sizes, Workload } from '../lib/types.ts';

export type WriterPattern = 'disjoint' | 'hot';
const ROWS_PER_WRITER = 1_000; // ~30 pages each: writers on disjoint rows touch disjoint pages
const MAX_WRITERS = 8;
const counts = (s: Sizes): number[] => (s.quick ? [1, 2] : [1, 2, 4, 8]);
const durationMs = (s: Sizes): number => (s.quick ? 250 : 2_000);

export interface WriterResult {
  commits: number;
  conflicts: number;
}

/** One writer: single-statement write transactions until `ms` have passed, counting commits and lost conflicts. */
export async function writerLoop(conn: Conn, pattern: WriterPattern, index: number, ms: number): Promise<WriterResult> {
  const rng = makeRng(10_000 + index);
  const first = index * ROWS_PER_WRITER + 1;
  let commits = 0;
  let conflicts = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const ok = await conn.tryWrite(async (tx) => {
      if (pattern === 'hot') await tx.run('UPDATE hot SET n = n + 1 WHERE id = 1');
      else await tx.run('UPDATE w SET n = n + 1 WHERE id = ?', [randInt(rng, first, first + ROWS_PER_WRITER - 1)]);
    });
    if (ok) commits++;
    else conflicts++;
  }
  return { commits, conflicts };
}

async function buildWriterTables(conn: Conn): Promise<void> {
  await conn.exec('CREATE TABLE w(id INTEGER PRIMARY KEY, n INTEGER NOT NULL, pad TEXT NOT NULL); CREATE TABLE hot(id INTEGER PRIMARY KEY, n INTEGER NOT NULL)');
  await conn.transaction(async (tx) => {
    for (let id = 1; id <= MAX_WRITERS * ROWS_PER_WRITER; id++) await tx.run('INSERT INTO w VALUES (?, 0, ?)', [id, PAYLOADS[id & 1023]!]);
    await tx.run('INSERT INTO hot VALUES (1, 0)');
  });
}

async function total(conn: Conn, pattern: WriterPattern): Promise<number> {
  const row = await conn.get(pattern === 'hot' ? 'SELECT n FROM hot' : 'SELECT sum(n) FROM w');
  return Number(row?.[0]);
}

/** A set of writers that can each run one round of `writerLoop` and report back. */
interface WriterPool {
  run(k: number, pattern: WriterPattern, ms: number): Promise<WriterResult[]>;
  close(): Promise<void>;
}

async function processPool(sys: string, loc: DbLocation, size: number): Promise<WriterPool> {
  const children = Array.from({ length: size }, () => new BenchChild());
  await Promise.all(children.map((c) => c.call('writer-open', { system: sys, loc })));
  return {
    run: (k, pattern, ms) =>
      Promise.all(children.slice(0, k).map((c, index) => c.call<WriterResult>('writer-run', { pattern, index, durationMs: ms }))),
    async close() {
      await Promise.all(children.map(async (c) => (await c.call('writer-close', {}), await c.close())));
    },
  };
}

async function connectionPool(ctx: RunContext, loc: DbLocation, size: number): Promise<WriterPool> {
  const conns: Conn[] = [];
  for (let i = 0; i < size; i++) conns.push(await ctx.sys.open(loc));
  for (const c of conns) await c.get('SELECT count(*) FROM w');
  return {
    run: (k, pattern, ms) => Promise.all(conns.slice(0, k).map((c, index) => writerLoop(c, pattern, index, ms))),
    async close() {
      for (const c of conns) await c.close();
    },
  };
}

export const writers: Workload = {
  id: 'writers',
  title: 'Concurrent writers',
  describe: (s) => `${counts(s).join(', ')} writers for ${durationMs(s) / 1000} s each (after ${durationMs(s) / 2000} s of all writers warming up), every transaction one UPDATE: of a random row in the writer's own ${ROWS_PER_WRITER.toLocaleString('en')} rows (disjoint), or of one shared counter row (hot). Total commits/s; conflict rate = lost transactions / attempts.`,
  applies: (sys) => sys.writers.length > 0,
  chartScale: 'per-unit',
  reps: (s) => Math.min(s.reps, 3),
  async run(ctx) {
    const loc = { dir: ctx.dir, name: ctx.freshName('writers') };
    const setup = await ctx.sys.open(loc);
    await buildWriterTables(setup);
    const out: Sample[] = [];
    const ks = counts(ctx.sizes);
    for (const mode of ctx.sys.writers) {
      const pool = mode === 'processes' ? await processPool(ctx.sys.id, loc, Math.max(...ks)) : await connectionPool(ctx, loc, Math.max(...ks));
      try {
        // Warm-up: every writer commits for a while first, so the first measured case (one writer) does
        // not also pay for JIT compilation and cold caches in fresh processes.
        await pool.run(Math.max(...ks), 'disjoint', durationMs(ctx.sizes) / 2);
        for (const pattern of ['disjoint', 'hot'] as const) {
          for (const k of ks) {
            const before = await total(setup, pattern);
            const results = await pool.run(k, pattern, durationMs(ctx.sizes));
            const commits = results.reduce((a, r) => a + r.commits, 0);
            const conflicts = results.reduce((a, r) => a + r.conflicts, 0);
            const lost = before + commits - (await total(setup, pattern));
            if (lost !== 0) ctx.log(`WARNING ${ctx.sys.id} ${pattern} ×${k}: counters grew by ${commits - lost}, but ${commits} commits were reported`);
            out.push({
              case: `${pattern} ×${k} ${mode === 'processes' ? 'procs' : 'conns'}`,
              value: (commits * 1000) / durationMs(ctx.sizes),
              unit: 'commits/s',
              better: 'higher',
              extra: { conflictRate: commits + conflicts ? conflicts / (commits + conflicts) : 0, commits, conflicts, lostUpdates: lost },
            });
          }
        }
      } finally {
        await pool.close();
      }
    }
    await setup.close();
    return out;
  },
};

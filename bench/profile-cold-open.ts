/**
 * Cold open + first query on mvdb-lmdb, measured exactly as the bench's cold-open workload does it (a fresh
 * bench child per sample: code loaded, store backend preloaded, then open() and one point select timed),
 * with an optional CPU profile of the timed part and a step-by-step breakdown.
 *
 *   npx tsx bench/profile-cold-open.ts <dir> [--runs 7] [--build sync|asyncify] [--profile out.cpuprofile] [--steps] [--code-cache]
 *
 * The first call builds the bench's 100,000-row table in <dir> (a fresh process then opens it).
 * --profile: one more sample with a CPU profile of the timed part (summarize with bench/profile-summary.ts).
 * --steps: also `runs` fresh processes of bench/cold-open-steps.ts, the same path taken one call at a time,
 * and as many of its wa-sqlite-alone form (the floor: SQLite's first statements in a fresh process).
 * --code-cache: everything with SQLite's code from the wasm code cache (MVDB_WASM_CODE_CACHE; built in
 * <dir>/wasm-code-cache first, for the bench children's V8 flags and for the steps' plain processes).
 * --build: the wa-sqlite build mvdb runs (default sync, as open() on LMDB; asyncify: system mvdb-lmdb-asyncify).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CODE_CACHE_ENV, buildWasmCodeCache } from '../vfs/wasm-code-cache.ts';
import { CHILD_V8_FLAGS, inFreshChild } from './lib/child-process.ts';
import { buildRows } from './lib/table.ts';
import { median } from './lib/time.ts';
import type { SqliteBuild } from '../vfs/index.ts';
import { mvdbLmdb, mvdbLmdbAsyncify } from './systems/mvdb.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '7' },
    profile: { type: 'string' },
    steps: { type: 'boolean', default: false },
    'code-cache': { type: 'boolean', default: false },
    build: { type: 'string', default: 'sync' },
  },
});
const BUILD = values.build as SqliteBuild;
const system = BUILD === 'asyncify' ? mvdbLmdbAsyncify : mvdbLmdb;
const dir = positionals[0];
const runs = Number(values.runs);
if (!dir || !Number.isInteger(runs) || runs < 1 || (BUILD !== 'sync' && BUILD !== 'asyncify')) {
  console.error('usage: npx tsx bench/profile-cold-open.ts <dir> [--runs 7] [--build sync|asyncify] [--profile out.cpuprofile] [--steps] [--code-cache]');
  process.exit(2);
}
const ROWS = 100_000;
const loc = { dir, name: 'cold' };
if (!existsSync(join(dir, 'store'))) {
  const conn = await mvdbLmdb.open(loc);
  await buildRows(conn, ROWS);
  await conn.close();
  console.log(`built ${ROWS.toLocaleString('en')} rows in ${join(dir, 'store')}`);
}

const env: Record<string, string> = { [CODE_CACHE_ENV]: '' };
if (values['code-cache']) {
  env[CODE_CACHE_ENV] = join(dir, 'wasm-code-cache');
  await Promise.all([buildWasmCodeCache(env[CODE_CACHE_ENV], BUILD, CHILD_V8_FLAGS), buildWasmCodeCache(env[CODE_CACHE_ENV], BUILD, [])]);
}

const sample = (i: number, profile?: string): Promise<{ openMs: number; queryMs: number }> =>
  inFreshChild(
    'cold-open',
    {
      system: system.id,
      loc,
      sql: 'SELECT id, name, score, payload FROM t WHERE id = ?',
      params: [1 + ((i * 7919) % ROWS)],
      ...(profile !== undefined ? { profile } : {}),
    },
    env,
  );

const fmt = (ms: number): string => ms.toFixed(1).padStart(6);
const opens: number[] = [];
const queries: number[] = [];
const totals: number[] = [];
for (let i = 0; i < runs; i++) {
  const { openMs, queryMs } = await sample(i);
  opens.push(openMs);
  queries.push(queryMs);
  totals.push(openMs + queryMs);
  console.log(`sample ${i + 1}: open() ${fmt(openMs)} ms, first query ${fmt(queryMs)} ms, total ${fmt(openMs + queryMs)} ms`);
}
console.log(`median of ${runs}: open() ${fmt(median(opens))} ms, first query ${fmt(median(queries))} ms, total ${fmt(median(totals))} ms`);

if (values.profile !== undefined) {
  const { openMs, queryMs } = await sample(runs, values.profile);
  console.log(`profiled sample: total ${fmt(openMs + queryMs)} ms (profiler on); wrote ${values.profile}`);
}

if (values.steps) {
  const script = fileURLToPath(new URL('./cold-open-steps.ts', import.meta.url));
  for (const [title, args] of [
    [`mvdb on LMDB (${BUILD} build), step by step`, [dir, loc.name, BUILD]],
    [`the floor: wa-sqlite ${BUILD} build alone (:memory:, no store)`, ['--wa-sqlite', BUILD]],
  ] as const) {
    const rows: Record<string, number>[] = [];
    for (let i = 0; i < runs; i++) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', script, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
      rows.push(JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>);
    }
    console.log(`${title}: median of ${runs} fresh processes (ms; each step's own time, in order)`);
    for (const step of Object.keys(rows[0]!)) console.log(`  ${step.padEnd(34)} ${fmt(median(rows.map((r) => r[step]!)))}`);
  }
}

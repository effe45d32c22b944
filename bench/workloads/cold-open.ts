/** Opening an existing database in a fresh process, plus its first query. */
import { join } from 'node:path';
import { CODE_CACHE_ENV, buildWasmCodeCache } from '../../vfs/wasm-code-cache.ts';
import { SQLITE_BUILDS } from '../../vfs/wasm.ts';
import { CHILD_V8_FLAGS, inFreshChild } from '../lib/child-process.ts';
import { median } from '../lib/time.ts';
import type { DbLocation, RunContext, Sample, Sizes, Workload } from '../lib/types.ts';
import { readFixture, tableRows } from './fixtures.ts';

const samples = (s: Sizes): number => (s.quick ? 1 : 7);

export const coldOpen: Workload = {
  id: 'cold-open',
  title: 'Cold open + first query',
  describe: (s) => `${samples(s)} fresh processes each open the existing ${tableRows(s).toLocaleString('en')}-row database and read one row by primary key; timed inside the child from open() to the row. Code is loaded before the clock starts (Node, tsx and module imports, also those a store loads lazily); compiling SQLite's WebAssembly is timed. Median. mvdb also with its opt-in wasm code cache (MVDB_WASM_CODE_CACHE, built before the samples): the processes alternate between the two.`,
  applies: (sys) => sys.persistent,
  reps: () => 1,
  async run(ctx) {
    const { loc } = await readFixture(ctx);
    // mvdb also with SQLite's code from the cache; samples alternate, so both see the same machine load.
    const cacheDir = ctx.sys.id.startsWith('mvdb') ? join(ctx.dir, 'wasm-code-cache') : undefined;
    // Both builds' files: a system's children load the one of the build open() picks for them (a child
    // that finds no file for its build fails the run below, with this build's error as the cause).
    const builds = cacheDir === undefined ? [] : await Promise.allSettled(SQLITE_BUILDS.map((b) => buildWasmCodeCache(cacheDir, b, CHILD_V8_FLAGS)));
    const buildErrors = builds.flatMap((b) => (b.status === 'rejected' ? [String(b.reason)] : []));
    const plain = new Samples();
    const cached = new Samples();
    for (let i = 0; i < samples(ctx.sizes); i++) {
      await plain.take(ctx, loc, i, { [CODE_CACHE_ENV]: '' }); // none, even if this process has one
      if (cacheDir !== undefined) await cached.take(ctx, loc, i, { [CODE_CACHE_ENV]: cacheDir }, buildErrors);
    }
    return [plain.result('open + first query'), ...(cacheDir !== undefined ? [cached.result('open + first query, wasm code cache')] : [])];
  },
};

class Samples {
  private readonly opens: number[] = [];
  private readonly queries: number[] = [];
  private readonly totals: number[] = [];

  async take(ctx: RunContext, loc: DbLocation, i: number, env: Record<string, string>, buildErrors: string[] = []): Promise<void> {
    const n = tableRows(ctx.sizes);
    const r = await inFreshChild<{ openMs: number; queryMs: number; codeFromCache: boolean }>(
      'cold-open',
      { system: ctx.sys.id, loc, sql: 'SELECT id, name, score, payload FROM t WHERE id = ?', params: [1 + ((i * 7919) % n)] },
      env,
    );
    // A miss would time the compile under the cache's name (e.g. a child run with other V8 flags).
    if (r.codeFromCache !== Boolean(env[CODE_CACHE_ENV])) {
      throw new Error(`cold-open: the child ${r.codeFromCache ? 'loaded' : 'did not load'} the wasm code cache${buildErrors.map((e) => `; ${e}`).join('')}`);
    }
    this.opens.push(r.openMs);
    this.queries.push(r.queryMs);
    this.totals.push(r.openMs + r.queryMs);
  }

  result(name: string): Sample {
    return { case: name, value: median(this.totals), unit: 'ms', better: 'lower', extra: { openMs: median(this.opens), queryMs: median(this.queries) } };
  }
}

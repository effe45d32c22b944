/** Opening an existing database in a fresh process, plus its first query. */
import { inFreshChild } from '../lib/child-process.ts';
import { median } from '../lib/time.ts';
import type { Sizes, Workload } from '../lib/types.ts';
import { readFixture, tableRows } from './fixtures.ts';

const samples = (s: Sizes): number => (s.quick ? 1 : 7);

export const coldOpen: Workload = {
  id: 'cold-open',
  title: 'Cold open + first query',
  describe: (s) => `${samples(s)} fresh processes each open the existing ${tableRows(s).toLocaleString('en')}-row database and read one row by primary key; timed inside the child from open() to the row. Code is loaded before the clock starts (Node, tsx and module imports, also those a store loads lazily); compiling SQLite's WebAssembly is timed. Median.`,
  applies: (sys) => sys.persistent,
  reps: () => 1,
  async run(ctx) {
    const n = tableRows(ctx.sizes);
    const { loc } = await readFixture(ctx);
    const opens: number[] = [];
    const queries: number[] = [];
    const totals: number[] = [];
    for (let i = 0; i < samples(ctx.sizes); i++) {
      const r = await inFreshChild<{ openMs: number; queryMs: number }>('cold-open', {
        system: ctx.sys.id,
        loc,
        sql: 'SELECT id, name, score, payload FROM t WHERE id = ?',
        params: [1 + ((i * 7919) % n)],
      });
      opens.push(r.openMs);
      queries.push(r.queryMs);
      totals.push(r.openMs + r.queryMs);
    }
    return [{ case: 'open + first query', value: median(totals), unit: 'ms', better: 'lower', extra: { openMs: median(opens), queryMs: median(queries) } }];
  },
};

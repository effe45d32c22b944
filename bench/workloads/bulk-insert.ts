/** 100,000 rows inserted in one transaction into a fresh database. */
import { SCHEMA, fillTable } from '../lib/table.ts';
import { perSecond, timed } from '../lib/time.ts';
import type { Sizes, Workload } from '../lib/types.ts';

const rows = (s: Sizes): number => (s.quick ? 2_000 : 100_000);

export const bulkInsert: Workload = {
  id: 'bulk-insert',
  title: 'Bulk insert (one transaction)',
  describe: (s) => `${rows(s).toLocaleString('en')} rows of ~120 bytes inserted in one transaction into a fresh database (after a 1,000-row warm-up in another database).`,
  applies: () => true,
  async run(ctx) {
    const warm = await ctx.sys.open({ dir: ctx.dir, name: ctx.freshName('bulk-warm') });
    await warm.exec(SCHEMA);
    await fillTable(warm, 1, 1_000, 1_000);
    await warm.close();

    const n = rows(ctx.sizes);
    const conn = await ctx.sys.open({ dir: ctx.dir, name: ctx.freshName('bulk') });
    await conn.exec(SCHEMA);
    const [, ms] = await timed(() => fillTable(conn, 1, n, n));
    const count = (await conn.get('SELECT count(*) FROM t'))?.[0];
    await conn.close();
    if (Number(count) !== n) throw new Error(`bulk-insert: expected ${n} rows, found ${String(count)}`);
    return [{ case: 'rows/s', value: perSecond(n, ms), unit: 'rows/s', better: 'higher' }];
  },
};

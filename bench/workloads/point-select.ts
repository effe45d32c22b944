/** Point selects by primary key, each its own (read) transaction. */
import { makeRng, randInt } from '../lib/rng.ts';
import { perSecond, timed } from '../lib/time.ts';
import type { Sizes, Workload } from '../lib/types.ts';
import { readFixture, tableRows } from './fixtures.ts';

const ops = (s: Sizes): number => (s.quick ? 500 : 20_000);
const SQL = 'SELECT id, name, score, payload FROM t WHERE id = ?';

export const pointSelect: Workload = {
  id: 'point-select',
  title: 'Point selects by primary key',
  describe: (s) => `${ops(s).toLocaleString('en')} autocommit SELECTs of one row by a uniformly random primary key over ${tableRows(s).toLocaleString('en')} rows (after ${(ops(s) / 10).toLocaleString('en')} untimed).`,
  applies: () => true,
  async run(ctx) {
    const { conn } = await readFixture(ctx);
    const n = tableRows(ctx.sizes);
    const rng = makeRng(1000 + ctx.rep);
    const select = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        const id = randInt(rng, 1, n);
        const row = await conn.get(SQL, [id]);
        if (row?.[0] !== id) throw new Error(`point-select: row ${id} not found`);
      }
    };
    await select(ops(ctx.sizes) / 10);
    const [, ms] = await timed(() => select(ops(ctx.sizes)));
    return [{ case: 'selects/s', value: perSecond(ops(ctx.sizes), ms), unit: 'selects/s', better: 'higher' }];
  },
};

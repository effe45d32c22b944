/** Inserts one row per transaction: the cost of a durable commit. */
import { INSERT, PAYLOADS, SCHEMA } from '../lib/table.ts';
import { perSecond, timed } from '../lib/time.ts';
import type { Sizes, Workload } from '../lib/types.ts';

const rows = (s: Sizes): number => (s.quick ? 50 : 2_000);
const WARMUP = 100;

export const autocommitInsert: Workload = {
  id: 'autocommit-insert',
  title: 'Autocommit inserts',
  describe: (s) => `${rows(s).toLocaleString('en')} single-row INSERTs, each its own transaction, into a fresh database (after ${WARMUP} untimed ones).`,
  applies: () => true,
  async run(ctx) {
    const n = rows(ctx.sizes);
    const conn = await ctx.sys.open({ dir: ctx.dir, name: ctx.freshName('autocommit') });
    await conn.exec(SCHEMA);
    let id = 1;
    const insert = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++, id++) await conn.run(INSERT, [id, `user${id}`, id, PAYLOADS[id & 1023]!]);
    };
    await insert(WARMUP);
    const [, ms] = await timed(() => insert(n));
    await conn.close();
    return [{ case: 'rows/s', value: perSecond(n, ms), unit: 'rows/s', better: 'higher' }];
  },
};

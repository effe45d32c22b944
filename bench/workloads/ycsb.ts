/** YCSB-style workloads A (50% read, 50% update) and B (95% / 5%), zipfian keys, one operation per transaction. */
import { makeRng, makeZipfian } from '../lib/rng.ts';
import { PAYLOADS } from '../lib/table.ts';
import { perSecond, timed } from '../lib/time.ts';
import type { Sizes, Workload } from '../lib/types.ts';
import { tableRows, writeFixture } from './fixtures.ts';

const READ_SQL = 'SELECT id, name, score, payload FROM t WHERE id = ?';
const UPDATE_SQL = 'UPDATE t SET payload = ? WHERE id = ?';

function ycsb(letter: 'a' | 'b', readShare: number, fullOps: number): Workload {
  const ops = (s: Sizes): number => (s.quick ? 200 : fullOps);
  return {
    id: `ycsb-${letter}`,
    title: `YCSB ${letter.toUpperCase()} (${Math.round(readShare * 100)}% read / ${Math.round((1 - readShare) * 100)}% update)`,
    describe: (s) => `${ops(s).toLocaleString('en')} operations, each its own transaction: ${Math.round(readShare * 100)}% point reads, the rest payload updates, keys zipfian (theta 0.99, scrambled) over ${tableRows(s).toLocaleString('en')} rows (after ${(ops(s) / 10).toLocaleString('en')} untimed).`,
    applies: () => true,
    async run(ctx) {
      const conn = await writeFixture(ctx);
      const rng = makeRng((letter === 'a' ? 4000 : 5000) + ctx.rep);
      const key = makeZipfian(tableRows(ctx.sizes), rng);
      const go = async (count: number): Promise<void> => {
        for (let i = 0; i < count; i++) {
          const id = key() + 1;
          if (rng() < readShare) {
            if ((await conn.get(READ_SQL, [id]))?.[0] !== id) throw new Error(`ycsb: row ${id} not found`);
          } else {
            await conn.run(UPDATE_SQL, [PAYLOADS[i & 1023]!, id]);
          }
        }
      };
      await go(ops(ctx.sizes) / 10);
      const [, ms] = await timed(() => go(ops(ctx.sizes)));
      return [{ case: 'ops/s', value: perSecond(ops(ctx.sizes), ms), unit: 'ops/s', better: 'higher' }];
    },
  };
}

export const ycsbA = ycsb('a', 0.5, 4_000);
export const ycsbB = ycsb('b', 0.95, 10_000);

/** Updates of random rows, 100 per transaction. */
import { makeRng, randInt } from '../lib/rng.ts';
import { PAYLOADS } from '../lib/table.ts';
import { perSecond, timed } from '../lib/time.ts';
import type { Sizes, Workload } from '../lib/types.ts';
import { tableRows, writeFixture } from './fixtures.ts';

const updates = (s: Sizes): number => (s.quick ? 200 : 10_000);
const PER_TX = 100;
const SQL = 'UPDATE t SET score = score + 1, payload = ? WHERE id = ?';

export const updateRandom: Workload = {
  id: 'update-random',
  title: 'Updates of random rows',
  describe: (s) => `${updates(s).toLocaleString('en')} UPDATEs of uniformly random rows (score and payload) over ${tableRows(s).toLocaleString('en')} rows, ${PER_TX} per transaction (after one untimed transaction).`,
  applies: () => true,
  async run(ctx) {
    const conn = await writeFixture(ctx);
    const n = tableRows(ctx.sizes);
    const rng = makeRng(3000 + ctx.rep);
    const batch = async (): Promise<void> => {
      await conn.transaction(async (tx) => {
        for (let i = 0; i < PER_TX; i++) await tx.run(SQL, [PAYLOADS[randInt(rng, 0, 1023)]!, randInt(rng, 1, n)]);
      });
    };
    await batch();
    const [, ms] = await timed(async () => {
      for (let done = 0; done < updates(ctx.sizes); done += PER_TX) await batch();
    });
    return [{ case: 'updates/s', value: perSecond(updates(ctx.sizes), ms), unit: 'updates/s', better: 'higher' }];
  },
};

/** Range scans: many short primary-key ranges, and whole-table scans. */
import { makeRng, randInt } from '../lib/rng.ts';
import { perSecond, timed } from '../lib/time.ts';
import type { Sizes, Workload } from '../lib/types.ts';
import { readFixture, tableRows } from './fixtures.ts';

const RANGE = 100;
const ranges = (s: Sizes): number => (s.quick ? 20 : 1_000);
const fullScans = (s: Sizes): number => (s.quick ? 1 : 5);
const RANGE_SQL = 'SELECT id, name, score, payload FROM t WHERE id >= ? ORDER BY id LIMIT 100';
// Reads every row and column without building a result set.
const FULL_SQL = "SELECT count(*), sum(score), sum(length(payload)) FROM t WHERE name <> ''";

export const rangeScan: Workload = {
  id: 'range-scan',
  title: 'Range scans',
  describe: (s) => `${ranges(s).toLocaleString('en')} scans of ${RANGE} consecutive rows from a random primary key, returning all columns; and ${fullScans(s)} full scans aggregating every row of ${tableRows(s).toLocaleString('en')} (one untimed of each first). Rows read per second.`,
  applies: () => true,
  async run(ctx) {
    const { conn } = await readFixture(ctx);
    const n = tableRows(ctx.sizes);
    const rng = makeRng(2000 + ctx.rep);
    let rows = 0;
    const scanRanges = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        const got = await conn.all(RANGE_SQL, [randInt(rng, 1, n - RANGE + 1)]);
        if (got.length !== RANGE) throw new Error(`range-scan: expected ${RANGE} rows, got ${got.length}`);
        rows += got.length;
      }
    };
    await scanRanges(1);
    rows = 0;
    const [, rangeMs] = await timed(() => scanRanges(ranges(ctx.sizes)));
    const rangeRows = rows;

    const fullScan = async (): Promise<void> => {
      const got = await conn.get(FULL_SQL);
      if (Number(got?.[0]) !== n) throw new Error(`range-scan: full scan counted ${String(got?.[0])} of ${n} rows`);
    };
    await fullScan();
    const [, fullMs] = await timed(async () => {
      for (let i = 0; i < fullScans(ctx.sizes); i++) await fullScan();
    });
    return [
      { case: `${RANGE}-row ranges`, value: perSecond(rangeRows, rangeMs), unit: 'rows/s', better: 'higher' },
      { case: 'full scan', value: perSecond(n * fullScans(ctx.sizes), fullMs), unit: 'rows/s', better: 'higher' },
    ];
  },
};

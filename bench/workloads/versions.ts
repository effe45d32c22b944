/**
 * Reading the past: point reads at the head vs at versions 1, 100 and 10,000 commits deep. Versioned
 * systems only. Each depth opens a fresh snapshot, so its first read comes from the store, not a warm cache.
 */
import { makeRng, randInt } from '../lib/rng.ts';
import { PAYLOADS, SCHEMA, fillTable } from '../lib/table.ts';
import { median, perSecond, timed } from '../lib/time.ts';
import type { Conn, RunContext, Sizes, Workload } from '../lib/types.ts';

const ROWS = 1_000; // ~30 pages, so each page collects hundreds of versions
const depths = (s: Sizes): number[] => (s.quick ? [0, 1, 10, 50] : [0, 1, 100, 10_000]);
// 20,000: a phase of 2,000 reads took ~5 ms, so one garbage collection moved it by a third.
const READS = (s: Sizes): number => (s.quick ? 100 : 20_000);
const SNAPSHOTS = (s: Sizes): number => (s.quick ? 2 : 10);
const SQL = 'SELECT id, name, score, payload FROM t WHERE id = ?';

/** A table with `commits` single-row updates after it, and the version after each commit (last = head). */
async function history(ctx: RunContext): Promise<{ conn: Conn; versions: string[] }> {
  const commits = Math.max(...depths(ctx.sizes)) + 1; // the deepest read needs a version that many commits below the head
  const versions: string[] = [];
  const { conn } = await ctx.fixture('history', async (c) => {
    await c.exec(SCHEMA);
    await fillTable(c, 1, ROWS);
    const rng = makeRng(8000);
    for (let i = 0; i < commits; i++) {
      await c.run('UPDATE t SET score = ?, payload = ? WHERE id = ?', [i, PAYLOADS[i & 1023]!, randInt(rng, 1, ROWS)]);
      versions.push(c.version!());
    }
  });
  if (versions.length) historyVersions.set(ctx.sys.id, versions);
  return { conn, versions: historyVersions.get(ctx.sys.id)! };
}
const historyVersions = new Map<string, string[]>();

const label = (d: number): string => (d === 0 ? 'head' : `${d.toLocaleString('en')} deep`);

export const versions: Workload = {
  id: 'versions',
  title: 'Reads at past versions',
  describe: (s) => `After ${Math.max(...depths(s)).toLocaleString('en')} single-row commits on a ${ROWS.toLocaleString('en')}-row table: per depth, ${SNAPSHOTS(s)} fresh snapshots at(version) each timed for its first point read, then ${READS(s).toLocaleString('en')} random point reads on one snapshot (after ${(READS(s) / 10).toLocaleString('en')} untimed). The order of depths rotates between runs.`,
  applies: (sys) => sys.versioned,
  chartScale: 'per-unit',
  async run(ctx) {
    const { conn, versions: vs } = await history(ctx);
    const rng = makeRng(9000 + ctx.rep);
    const out = [];
    // Rotate the order of depths from one repetition to the next, so no depth always runs first (cold JIT).
    const ds = depths(ctx.sizes);
    const order = ds.map((_, i) => ds[(i + ctx.rep) % ds.length]!);
    for (const depth of order) {
      const version = vs[vs.length - 1 - depth]!;
      const firsts: number[] = [];
      for (let i = 0; i < SNAPSHOTS(ctx.sizes); i++) {
        const [snap, openMs] = await timed(() => conn.at!(version));
        const id = randInt(rng, 1, ROWS);
        const [row, readMs] = await timed(() => snap.get(SQL, [id]));
        if (row?.[0] !== id) throw new Error(`versions: row ${id} missing at ${version}`);
        firsts.push(openMs + readMs);
        await snap.close();
      }
      const snap = await conn.at!(version);
      const read = async (count: number): Promise<void> => {
        for (let i = 0; i < count; i++) await snap.get(SQL, [randInt(rng, 1, ROWS)]);
      };
      await read(READS(ctx.sizes) / 10);
      const [, ms] = await timed(() => read(READS(ctx.sizes)));
      await snap.close();
      out.push(
        { case: `reads/s, ${label(depth)}`, value: perSecond(READS(ctx.sizes), ms), unit: 'reads/s', better: 'higher' as const },
        { case: `open + first read, ${label(depth)}`, value: median(firsts), unit: 'ms', better: 'lower' as const },
      );
    }
    return out;
  },
};

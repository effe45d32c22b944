/** The shared 100,000-row databases: one only read, one the write workloads change. */
import { buildRows } from '../lib/table.ts';
import type { Conn, DbLocation, RunContext, Sizes } from '../lib/types.ts';

export const tableRows = (s: Sizes): number => (s.quick ? 2_000 : 100_000);

/** Read by point-select, range-scan and cold-open; never written after it is built. */
export async function readFixture(ctx: RunContext): Promise<{ conn: Conn; loc: DbLocation }> {
  const n = tableRows(ctx.sizes);
  return ctx.fixture('read-rows', (conn) => buildRows(conn, n));
}

/** Changed by the update and YCSB workloads, so their writes do not touch what the read workloads see. */
export async function writeFixture(ctx: RunContext): Promise<Conn> {
  const n = tableRows(ctx.sizes);
  return (await ctx.fixture('write-rows', (conn) => buildRows(conn, n))).conn;
}

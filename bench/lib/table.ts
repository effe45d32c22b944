/** The row-shaped table most workloads use, and how to fill it. */
import type { Conn } from './types.ts';
import { makeRng, makeStrings, randInt } from './rng.ts';

export const SCHEMA = 'CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, name TEXT NOT NULL, score INTEGER NOT NULL, payload TEXT NOT NULL)';
export const INSERT = 'INSERT INTO t(id, name, score, payload) VALUES (?, ?, ?, ?)';
/** Payloads drawn once per process from a fixed seed: ~100-byte rows, about 35 to a 4 KiB page. */
export const PAYLOADS = makeStrings(makeRng(7), 1024, 100);

/** Inserts rows first..first+count-1 in transactions of `batch` rows (deterministic content). */
export async function fillTable(conn: Conn, first: number, count: number, batch = 10_000): Promise<void> {
  const rng = makeRng(11 + first);
  for (let start = first; start < first + count; start += batch) {
    const end = Math.min(first + count, start + batch);
    await conn.transaction(async (tx) => {
      for (let id = start; id < end; id++) {
        await tx.run(INSERT, [id, `user${id}`, randInt(rng, 0, 1_000_000), PAYLOADS[id & 1023]!]);
      }
    });
  }
}

/** Builds the shared 100,000-row table (fewer under --quick). */
export async function buildRows(conn: Conn, rows: number): Promise<void> {
  await conn.exec(SCHEMA);
  await fillTable(conn, 1, rows);
}

/**
 * A seeded random SQL workload: schema, inserts (large rows spanning overflow
 * pages, BLOBs, 64-bit integers), updates, deletes, indexes, joins and
 * aggregates, explicit transactions that commit or roll back. Each step is one
 * statement with positional parameters; `check` marks statements whose result
 * rows should be compared.
 */

import { makeRng } from '../../bench/lib/rng.ts';

export type Param = null | bigint | number | string | Buffer;

export interface Step {
  sql: string;
  params: Param[];
  /** Compare this step's rows (queries) rather than only its outcome. */
  check: boolean;
}

export const SCHEMA = [
  `CREATE TABLE t1(id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c BLOB, d REAL)`,
  `CREATE TABLE t2(id INTEGER PRIMARY KEY, t1_id INTEGER, note TEXT, qty INTEGER)`,
];

/** Queries whose results the tests compare, after any step. */
export const QUERIES = [
  `SELECT id, a, b, c, d FROM t1 ORDER BY id`,
  `SELECT count(*), sum(length(b)), sum(length(c)), total(d), min(a), max(a) FROM t1`,
  `SELECT t1.id, count(t2.id), sum(t2.qty), group_concat(t2.note, ',') FROM t1 LEFT JOIN t2 ON t2.t1_id = t1.id
     GROUP BY t1.id ORDER BY t1.id`,
  `SELECT id, t1_id, note, qty FROM t2 ORDER BY id`,
];

const INDEXES = [
  `CREATE INDEX IF NOT EXISTS t1_a ON t1(a)`,
  `CREATE INDEX IF NOT EXISTS t1_b ON t1(b, id)`,
  `CREATE INDEX IF NOT EXISTS t2_t1 ON t2(t1_id, qty)`,
  `CREATE UNIQUE INDEX IF NOT EXISTS t2_note ON t2(note)`,
  `DROP INDEX IF EXISTS t1_a`,
  `DROP INDEX IF EXISTS t2_note`,
];

export function workload(seed: number, steps: number): Step[] {
  const rnd = makeRng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const bigInt = (): bigint =>
    pick([
      () => BigInt(int(1000)),
      () => BigInt(int(2 ** 31)) * BigInt(int(2 ** 31)) * (rnd() < 0.5 ? -1n : 1n),
      () => pick([2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n, -(2n ** 53n) - 1n, 0n]),
    ])();
  const text = (): string => {
    const long = rnd() < 0.12;
    const length = long ? 2000 + int(18_000) : int(40);
    // Whole code points: half of a surrogate pair is not valid text.
    const alphabet = Array.from('abcdefghijklmnopqrstuvwxyz ABC0123456789é€😀');
    let s = '';
    while (s.length < length) s += alphabet[int(alphabet.length)];
    return s;
  };
  const blob = (): Buffer | null => {
    if (rnd() < 0.1) return null;
    const length = rnd() < 0.1 ? 5000 + int(8000) : int(64);
    return Buffer.from(Array.from({ length }, () => int(256)));
  };
  const real = () => int(2_000_000) / 4 - 250_000 + 0.5;

  const out: Step[] = [];
  const step = (sql: string, params: Param[] = [], check = false) => out.push({ sql, params, check });
  let maxId = 0;
  let inTransaction = false;
  for (let i = 0; i < steps; i++) {
    const r = rnd();
    if (r < 0.33) {
      // Explicit ids sometimes collide: both engines must raise the same constraint error.
      const id = rnd() < 0.1 && maxId > 0 ? BigInt(1 + int(maxId)) : BigInt(++maxId);
      step(`INSERT INTO t1(id, a, b, c, d) VALUES (?, ?, ?, ?, ?)`, [id, bigInt(), text(), blob(), real()]);
    } else if (r < 0.45) {
      step(`INSERT INTO t2(t1_id, note, qty) VALUES (?, ?, ?)`, [BigInt(1 + int(maxId + 1)), rnd() < 0.5 ? `n${int(500)}` : text(), BigInt(int(100))]);
    } else if (r < 0.5) {
      // A bulk insert: deeper b-trees, interior pages, many pages in one commit.
      step(
        `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?)
           INSERT INTO t2(t1_id, note, qty) SELECT i % ?, ? || i, i * ? FROM s`,
        [BigInt(20 + int(200)), BigInt(1 + int(maxId + 1)), `bulk${i}-`, BigInt(int(5))],
      );
    } else if (r < 0.58) {
      const from = BigInt(int(maxId + 1));
      step(`UPDATE t1 SET b = ?, a = a / 2 + ? WHERE id BETWEEN ? AND ?`, [text(), BigInt(int(1000)), from, from + BigInt(int(5))]);
    } else if (r < 0.62) {
      step(`UPDATE t2 SET qty = qty * 2 + 1, note = note || 'x' WHERE t1_id % ? = ?`, [BigInt(2 + int(5)), BigInt(int(2))]);
    } else if (r < 0.66) {
      step(`DELETE FROM t1 WHERE id % ? = ? AND id > ?`, [BigInt(3 + int(7)), BigInt(int(3)), BigInt(int(maxId + 1))]);
    } else if (r < 0.68) {
      step(`DELETE FROM t2 WHERE qty > ? AND id % 3 = 0`, [BigInt(int(400))]);
    } else if (r < 0.72) {
      step(pick(INDEXES));
    } else if (r < 0.79) {
      step(inTransaction ? pick([`COMMIT`, `COMMIT`, `ROLLBACK`]) : `BEGIN`);
      inTransaction = !inTransaction;
    } else if (r < 0.9) {
      step(pick(QUERIES), [], true);
    } else if (r < 0.95) {
      step(`SELECT id, a, d FROM t1 WHERE a > ? ORDER BY a, id LIMIT 20`, [bigInt()], true);
    } else {
      step(`SELECT t2.note, t1.b FROM t2 JOIN t1 ON t1.id = t2.t1_id WHERE t2.qty < ? ORDER BY t2.id LIMIT 30`, [BigInt(int(100))], true);
    }
  }
  if (inTransaction) step(`COMMIT`);
  return out;
}

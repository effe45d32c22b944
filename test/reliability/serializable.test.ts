/**
 * Anomalies that snapshot isolation allows and serializability does not. In each probe two
 * connections (each its own SQLite module) run transactions that are forced to overlap: both
 * read before either writes. A non-serializable engine ends in a state no serial order gives.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { open, type Database, type Transaction } from '../../src/index.ts';
import { pause, tempStore, uniqueName } from './helpers.ts';

const lmdb = tempStore();
afterAll(() => lmdb.remove());

/** Resolves once `parties` callers have arrived. */
function barrier(parties: number): () => Promise<void> {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => (release = resolve));
  return async () => {
    if (++arrived === parties) release();
    await all;
  };
}

/**
 * Runs `body` as a transaction on each connection at once. On their first attempts both finish
 * reading (`read`) before either writes (`write`); retries after a conflict run straight through.
 * Returns how many times each body ran.
 */
async function overlapping<R>(
  dbs: Database[],
  read: (tx: Transaction, who: number) => Promise<R>,
  write: (tx: Transaction, who: number, seen: R) => Promise<void>,
): Promise<number[]> {
  const bothRead = barrier(dbs.length);
  const attempts = dbs.map(() => 0);
  await Promise.all(
    dbs.map((db, who) =>
      db.transaction(async (tx) => {
        const first = attempts[who]++ === 0;
        const seen = await read(tx, who);
        if (first) await bothRead();
        await write(tx, who, seen);
      }),
    ),
  );
  return attempts;
}

async function withTwo(store: string, setup: string, body: (a: Database, b: Database) => Promise<void>): Promise<void> {
  const name = uniqueName('probe');
  const a = await open(name, { store });
  const b = await open(name, { store });
  try {
    await a.transaction(async (tx) => {
      for (const statement of setup.split(';').filter((s) => s.trim() !== '')) await tx.run(statement);
    });
    await body(a, b);
    expect(await a.query(`PRAGMA integrity_check`)).toEqual([{ integrity_check: 'ok' }]);
  } finally {
    await a.close();
    await b.close();
  }
}

// Rows 1 and 500 sit on different leaf pages (rows of ~600 bytes, six or so per 4 KiB page), so
// the probes' writes never touch the same page (the control test shows it): only tracking what
// each transaction read can catch them.
const DOCTORS = `
  CREATE TABLE doctors(id INTEGER PRIMARY KEY, name TEXT, on_call INTEGER NOT NULL, pad TEXT);
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
    INSERT INTO doctors SELECT i, 'filler', 0, printf('%0600d', i) FROM n;
  UPDATE doctors SET name = 'alice', on_call = 1 WHERE id = 1;
  UPDATE doctors SET name = 'bob', on_call = 1 WHERE id = 500`;
const DOCTOR_IDS = [1, 500];
// New bookings go to opposite ends of the table: different pages.
const BOOKINGS = `
  CREATE TABLE bookings(id INTEGER PRIMARY KEY, slot INTEGER, who TEXT, pad TEXT);
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
    INSERT INTO bookings SELECT i * 10, 0, 'filler', printf('%0600d', i) FROM n`;
const BOOKING_IDS = [5, 100_000];

describe.each([
  ['memory', 'memory:'],
  ['lmdb', lmdb.url],
])('serializable writers on %s', (_backend, store) => {
  it('control: the probes write different pages (their writes alone both commit at once)', async () => {
    await withTwo(store, `${DOCTORS}; ${BOOKINGS}`, async (a, b) => {
      const attempts = await overlapping(
        [a, b],
        async () => undefined,
        async (tx, who) => {
          await tx.run(`UPDATE doctors SET on_call = 0 WHERE id = ?`, [DOCTOR_IDS[who]]);
          await tx.run(`INSERT INTO bookings VALUES (?, 7, ?, '')`, [BOOKING_IDS[who], `guest ${who}`]);
        },
      );
      expect(attempts).toEqual([1, 1]);
    });
  });

  it('write skew: two doctors going off call, each after checking the other is on call, leave one on call', async () => {
    await withTwo(store, DOCTORS, async (a, b) => {
      const attempts = await overlapping(
        [a, b],
        async (tx) => ((await tx.get(`SELECT count(*) AS n FROM doctors WHERE on_call = 1`)) as { n: number }).n,
        async (tx, who, onCall) => {
          if (onCall >= 2) await tx.run(`UPDATE doctors SET on_call = 0 WHERE id = ?`, [DOCTOR_IDS[who]]);
        },
      );
      // Snapshot isolation would commit both and leave nobody on call.
      expect(await a.get(`SELECT count(*) AS n FROM doctors WHERE on_call = 1`)).toEqual({ n: 1 });
      expect(attempts.reduce((x, y) => x + y)).toBe(3); // one of them conflicted and ran again
    });
  });

  it('write skew with warm caches: connections that just read the same pages still conflict', async () => {
    await withTwo(store, DOCTORS, async (a, b) => {
      const count = async (q: Pick<Database, 'get'>) => ((await q.get(`SELECT count(*) AS n FROM doctors WHERE on_call = 1`)) as { n: number }).n;
      // Both connections have just read every page at the current version (SQLite could keep them cached).
      expect([await count(a), await count(b)]).toEqual([2, 2]);
      const attempts = await overlapping(
        [a, b],
        (tx) => count(tx),
        async (tx, who, onCall) => {
          if (onCall >= 2) await tx.run(`UPDATE doctors SET on_call = 0 WHERE id = ?`, [DOCTOR_IDS[who]]);
        },
      );
      expect(await a.get(`SELECT count(*) AS n FROM doctors WHERE on_call = 1`)).toEqual({ n: 1 });
      expect(attempts.reduce((x, y) => x + y)).toBe(3);
    });
  });

  it('phantom: two bookings of one slot, each after checking it is free, leave one booking', async () => {
    await withTwo(store, BOOKINGS, async (a, b) => {
      const attempts = await overlapping(
        [a, b],
        async (tx) => ((await tx.get(`SELECT count(*) AS n FROM bookings WHERE slot = 7`)) as { n: number }).n,
        async (tx, who, taken) => {
          if (taken === 0) await tx.run(`INSERT INTO bookings VALUES (?, 7, ?, '')`, [BOOKING_IDS[who], `guest ${who}`]);
        },
      );
      expect(await a.query(`SELECT who FROM bookings WHERE slot = 7`)).toHaveLength(1);
      expect(attempts.reduce((x, y) => x + y)).toBe(3);
    });
  });

  it('lost update: read-modify-write increments from two connections are all kept', async () => {
    await withTwo(store, `CREATE TABLE counter(id INTEGER PRIMARY KEY, n INTEGER); INSERT INTO counter VALUES (1, 0)`, async (a, b) => {
      const rounds = 5;
      let attempts = 0;
      for (let round = 0; round < rounds; round++) {
        const ran = await overlapping(
          [a, b],
          async (tx) => ((await tx.get(`SELECT n FROM counter WHERE id = 1`)) as { n: number }).n,
          async (tx, _who, n) => void (await tx.run(`UPDATE counter SET n = ? WHERE id = 1`, [n + 1])),
        );
        attempts += ran.reduce((x, y) => x + y);
      }
      // Without the conflict check each round would add 1, not 2.
      expect(await b.get(`SELECT n FROM counter WHERE id = 1`)).toEqual({ n: 2 * rounds });
      expect(attempts).toBe(3 * rounds);
    });
  });

  it('read-only transactions see one snapshot while writers commit in between', async () => {
    await withTwo(store, `CREATE TABLE pair(id INTEGER PRIMARY KEY, x INTEGER); INSERT INTO pair VALUES (1, 0), (2, 0)`, async (a, b) => {
      const seen = await a.transaction(async (tx) => {
        const first = (await tx.get(`SELECT x FROM pair WHERE id = 1`)) as { x: number };
        await b.run(`UPDATE pair SET x = x + 1`); // commits between the two reads
        const second = (await tx.get(`SELECT x FROM pair WHERE id = 2`)) as { x: number };
        return [first.x, second.x];
      });
      expect(seen).toEqual([0, 0]);
      expect(await a.query(`SELECT x FROM pair ORDER BY id`)).toEqual([{ x: 1 }, { x: 1 }]);
    });
  });
});

describe('long transactions (lmdb)', () => {
  it('a transaction and a snapshot stay usable past the store\'s 5-second transaction window', async () => {
    const name = uniqueName('long');
    const db = await open(name, { store: lmdb.url });
    const other = await open(name, { store: lmdb.url });
    try {
      await db.exec(`CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, pad TEXT)`);
      await db.transaction(async (tx) => {
        for (let id = 1; id <= 60; id++) await tx.run(`INSERT INTO t VALUES (?, 'start', printf('%01000d', 0))`, [id]);
      });
      const snapshot = await db.at(db.version);
      let attempts = 0;
      const read = await db.transaction(async (tx) => {
        attempts++;
        const first = (await tx.get(`SELECT v FROM t WHERE id = 1`)) as { v: string };
        // Meanwhile another connection commits elsewhere in the table, again and again.
        for (let i = 0; i < 6; i++) {
          await pause(1000);
          await other.run(`UPDATE t SET v = ? WHERE id = 60`, [`other ${i}`]);
        }
        await tx.run(`UPDATE t SET v = 'long' WHERE id = 1`);
        return first.v;
      });
      expect([read, attempts]).toEqual(['start', 1]);
      expect(await snapshot.query(`SELECT v FROM t WHERE id IN (1, 60) ORDER BY id`)).toEqual([{ v: 'start' }, { v: 'start' }]);
      await snapshot.close();
      expect(await db.query(`SELECT v FROM t WHERE id IN (1, 60) ORDER BY id`)).toEqual([{ v: 'long' }, { v: 'other 5' }]);
    } finally {
      await db.close();
      await other.close();
    }
  }, 60_000);
});

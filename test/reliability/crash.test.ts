/**
 * No lost or torn commit on lmdb: a writer process is killed with SIGKILL at random moments,
 * again and again; after every kill a fresh connection checks that every acknowledged commit is
 * there, that integrity_check passes, and that every version in the log reads back whole. At the
 * end a fresh process checks the whole history once more.
 * MVDB_LONG=1 kills 60 times instead of 8; MVDB_SEED=<n> replays the kill moments.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DatabaseNotFoundError, open } from '../../src/index.ts';
import { LONG, SEED, between, killChildren, pause, rng, runFixture, startFixture, tempStore } from './helpers.ts';
import { checkLedgerStore, type Ack } from './workloads/ledger.ts';

const store = tempStore();
afterEach(killChildren);
afterAll(() => store.remove());

const ROUNDS = LONG ? 60 : 8;

async function openExisting(name: string) {
  try {
    return await open(name, { store: store.url, create: false });
  } catch (error) {
    if (error instanceof DatabaseNotFoundError) return undefined;
    throw error;
  }
}

describe('crash safety (lmdb, SIGKILL)', () => {
  it(
    `acknowledged commits survive ${ROUNDS} kills at random moments; nothing is torn; every version reads back (seed ${SEED})`,
    async () => {
      const name = 'ledger';
      const random = rng(SEED);
      const acks: Ack[] = [];
      const checked = new Set<string>();
      let unacknowledgedLanded = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const child = startFixture('crash-writer.ts', [store.url, name, String(SEED + round)]);
        if (round === 0) {
          // From the start: the kill may land while the database or its tables are being created.
          await pause(between(random, 0, 2000));
        } else {
          expect(await child.nextLine()).toBe('ready');
          await pause(between(random, 0, 700));
        }
        child.process.kill('SIGKILL');
        for (let line = await child.nextLine(); line !== undefined; line = await child.nextLine()) {
          const [word, txs, sum, version] = line.split(' ');
          if (word === 'ack') acks.push({ txs: Number(txs), sum: Number(sum), version: version! });
        }
        expect(await child.exited()).toBe(null); // it died of the signal, not of an error

        const result = await checkLedgerStore(() => openExisting(name), acks, { checked, integrityEvery: 3 });
        expect(result.problems, `after kill ${round + 1} (seed ${SEED})`).toEqual([]);
        for (const version of result.versions) checked.add(version);
        if (result.txs > Math.max(0, ...acks.map((a) => a.txs))) unacknowledgedLanded++;
      }
      // The test must have exercised something: commits were acknowledged before kills.
      expect(acks.length).toBeGreaterThan(ROUNDS);

      const acksFile = join(store.dir, 'acks.json');
      writeFileSync(acksFile, JSON.stringify(acks));
      const [report] = await runFixture('ledger-check.ts', [store.url, name, acksFile]);
      const fresh = JSON.parse(report!) as { problems: string[]; versions: number; txs: number };
      expect(fresh.problems).toEqual([]);
      expect(fresh.versions).toBe(checked.size);
      console.log(
        `crash: ${ROUNDS} kills, ${acks.length} acknowledged commits, ${checked.size} versions checked, ` +
          `${unacknowledgedLanded} kills after a commit had landed but before its acknowledgement (seed ${SEED})`,
      );
    },
    LONG ? 1_800_000 : 150_000,
  );
});

describe('durability of the memory backend', () => {
  it('a memory: store keeps nothing once its last Database closes', async () => {
    const db = await open('scratch', { store: 'memory:' });
    await db.exec(`CREATE TABLE t(x); INSERT INTO t VALUES (1)`);
    await db.close();
    const again = await open('scratch', { store: 'memory:' });
    try {
      expect(await again.log()).toEqual([]);
      expect(await again.query(`SELECT name FROM sqlite_schema`)).toEqual([]);
    } finally {
      await again.close();
    }
  });
});

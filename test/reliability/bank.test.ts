/**
 * Serializable writers across processes, under injected store faults: writer processes move money
 * between accounts inside transaction() while their kv fails commits the ways FoundationDB does.
 * The total never changes, at the head while they run and at every version of the history, and
 * every transfer is applied exactly once.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { open } from '../../src/index.ts';
import { LONG, SEED, killChildren, pause, runFixture, tempStore } from './helpers.ts';
import { checkBank, checkBankHistory, setupBank, type WriterStats } from './workloads/bank.ts';

const store = tempStore();
afterEach(killChildren);
afterAll(() => store.remove());

const WRITERS = LONG ? 5 : 3;
const TRANSFERS = LONG ? 150 : 20;
const ACCOUNTS = 10;
const FAULT_RATE = 0.25;

describe('bank (lmdb, writer processes, kv faults)', () => {
  it(
    `${WRITERS} processes x ${TRANSFERS} transfers: the total never changes and no transfer is applied twice (seed ${SEED})`,
    async () => {
      const db = await open('bank', { store: store.url });
      try {
        await setupBank(db, ACCOUNTS);
        let running = true;
        const writers = Promise.all(
          Array.from({ length: WRITERS }, (_, w) =>
            runFixture('bank-writer.ts', [store.url, 'bank', `w${w}`, String(TRANSFERS), String(ACCOUNTS), String(SEED + w), String(FAULT_RATE)]),
          ),
        );
        // Settled here so that a failing writer is reported by the await below, not as an unhandled rejection.
        const settled = writers.then(
          () => (running = false),
          () => (running = false),
        );
        // While they write, every read of the head sees a consistent bank.
        let headReads = 0;
        while (running) {
          // One transaction: every statement of the check reads the same snapshot.
          const check = await db.transaction((tx) => checkBank(tx, ACCOUNTS));
          expect(check.problems, `head read ${headReads}`).toEqual([]);
          headReads++;
          await pause(50);
        }
        await settled;
        const outputs = await writers;
        const stats = outputs.map((lines) => JSON.parse(lines[0]!) as WriterStats & { injected: Record<string, number> });

        const head = await db.transaction((tx) => checkBank(tx, ACCOUNTS, { integrity: true }));
        expect(head.problems).toEqual([]);
        expect(head.transfers).toBe(WRITERS * TRANSFERS);
        const history = await checkBankHistory(db, ACCOUNTS, 10);
        expect(history.problems).toEqual([]);
        expect(history.versions).toBe(1 + WRITERS * TRANSFERS); // the setup, then one commit per transfer

        // The faults were really injected.
        const injected = stats.reduce<Record<string, number>>((sum, s) => {
          for (const [kind, n] of Object.entries(s.injected)) sum[kind] = (sum[kind] ?? 0) + n;
          return sum;
        }, {});
        // About 4 of each kind are expected, so one kind may by chance get none (a few % of seeds);
        // faults.test.ts checks that every kind ran. Here: several kinds, really injected.
        expect(Object.values(injected).filter((n) => n > 0).length, JSON.stringify(injected)).toBeGreaterThanOrEqual(3);
        console.log(
          `bank: ${WRITERS} writers, ${head.transfers} transfers, ${headReads} head reads during the run, ` +
            `${history.versions} versions checked; injected ${JSON.stringify(injected)}; ` +
            `writer stats ${JSON.stringify(stats.map(({ injected: _, ...s }) => s))} (seed ${SEED})`,
        );
      } finally {
        await db.close();
      }
    },
    LONG ? 1_800_000 : 150_000,
  );
});

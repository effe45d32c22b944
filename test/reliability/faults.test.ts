/**
 * Faults do not corrupt. A writer runs random transactions through a kv that fails commits the ways
 * FoundationDB does (1020, 1007, 1021 after committing and without, 1031 timeouts), often, on the
 * small and the two-phase commit paths. A model records the content every commit leaves: after every
 * transaction, whatever it reported, the head equals the model with the transaction applied wholly
 * or not at all, and at the end every version in the log reads back exactly as recorded and passes
 * integrity_check.
 */
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ConflictError, KvError, SqliteError, VersionTooOldError, open, type Database } from '../../src/index.ts';
import { INLINE_CONTENT_BYTES } from '../../src/engine/index.ts';
import { openKv, withFaults } from '../../src/kv/index.ts';
import { LONG, SEED, between, errorOf, pause, rng, scriptedFaults, tempStore, uniqueName, type ScriptedFault } from './helpers.ts';

const lmdb = tempStore();
afterAll(() => lmdb.remove());

const OPS = LONG ? 400 : 50;
const KEYS = 40;
/** A value this large makes its transaction's contents exceed the inline limit: a two-phase commit. */
const TWO_PHASE_BYTES = INLINE_CONTENT_BYTES + 16_000;

type Model = Map<number, Buffer>;
type Action = { put: number; value: Buffer } | { del: number };

function digestRows(rows: { k: number; v: Uint8Array }[]): string {
  const hash = createHash('sha256');
  for (const { k, v } of rows) hash.update(`${k}:${v.length}:`).update(v);
  return hash.digest('hex');
}

const digestModel = (model: Model): string =>
  digestRows([...model.entries()].sort(([a], [b]) => a - b).map(([k, v]) => ({ k, v })));

async function digestDb(db: Pick<Database, 'query'>): Promise<string> {
  return digestRows((await db.query(`SELECT k, v FROM kv ORDER BY k`)) as { k: number; v: Uint8Array }[]);
}

/** Mostly small values, some on overflow pages, a few large enough for a two-phase commit. */
function randomActions(random: () => number, op: number): Action[] {
  return Array.from({ length: between(random, 1, 4) }, () => {
    const k = between(random, 1, KEYS);
    if (random() < 0.25) return { del: k };
    const r = random();
    const size = r < 0.8 ? between(random, 1, 2000) : r < 0.96 ? between(random, 5000, 50_000) : between(random, TWO_PHASE_BYTES, TWO_PHASE_BYTES + 80_000);
    return { put: k, value: Buffer.alloc(size, `${op}:${k};`) };
  });
}

function apply(model: Model, actions: Action[]): void {
  for (const action of actions) {
    if ('put' in action) model.set(action.put, action.value);
    else model.delete(action.del);
  }
}

const FAULTS = { notCommitted: 0.08, tooOld: 0.08, unknownCommitted: 0.1, unknownNotCommitted: 0.1, timeout: 0.06 };

/** The schema too is committed under faults: retried until it is there. */
async function createSchema(db: Database, errors: string[]): Promise<void> {
  for (;;) {
    try {
      await db.transaction(async (tx) => {
        await tx.run(`CREATE TABLE IF NOT EXISTS kv(k INTEGER PRIMARY KEY, v BLOB NOT NULL)`);
        await tx.run(`CREATE TABLE IF NOT EXISTS ops(id INTEGER PRIMARY KEY)`);
      });
      return;
    } catch (error) {
      errors.push((error as Error).message);
    }
  }
}

/**
 * Runs op `op` (random actions) as one transaction; whether it landed. `allowed` matches the errors
 * that may surface: with one writer never a conflict, only a store error that outlasted the retries
 * (a timeout), which may come after an attempt that committed: the op's own row tells which.
 */
async function runOp(db: Database, op: number, actions: Action[], errors: string[], allowed: RegExp): Promise<boolean> {
  try {
    await db.transaction(async (tx) => {
      await tx.run(`INSERT INTO ops VALUES (?)`, [op]);
      for (const action of actions) {
        if ('put' in action) await tx.run(`INSERT OR REPLACE INTO kv VALUES (?, ?)`, [action.put, action.value]);
        else await tx.run(`DELETE FROM kv WHERE k = ?`, [action.del]);
      }
    });
    return true;
  } catch (error) {
    expect(error).not.toBeInstanceOf(ConflictError);
    expect((error as Error).message).toMatch(allowed);
    errors.push((error as Error).message);
    return (await db.get(`SELECT 1 AS found FROM ops WHERE id = ?`, [op])) !== undefined;
  }
}

describe.each([
  ['memory', () => 'memory:'],
  ['lmdb', () => lmdb.url],
])('faults do not corrupt (%s)', (_backend, storeUrl) => {
  it(`${OPS} transactions under injected commit faults: every outcome is all or nothing, every version reads back exactly (seed ${SEED})`, async () => {
    const random = rng(SEED);
    const base = await openKv(storeUrl());
    const kv = withFaults(base, { seed: SEED, ...FAULTS });
    const name = uniqueName('faults');
    // Created without faults: a timeout injected into the creating commit would fail open() itself.
    await (await open(name, { store: base })).close();
    const db = await open(name, { store: kv });
    const model: Model = new Map();
    /** version -> digest of the content at that version. */
    const expected = new Map<string, string>();
    const errors: string[] = [];
    try {
      await createSchema(db, errors);
      let previousHead = await db.head();
      expected.set(previousHead, digestModel(model));
      // OPS ops, then more (up to 4x) until every kind of fault has been injected: the check below is on
      // the recovery paths, not on the luck of the draw (a 6% fault over ~60 commits misses ~2% of seeds).
      const allInjected = () => Object.values(kv.injected).every((n) => n > 0);
      let op = 1;
      for (; op <= OPS || (!allInjected() && op <= 4 * OPS); op++) {
        const actions = randomActions(random, op);
        const applied = await runOp(db, op, actions, errors, /transaction_timed_out 1031/);
        if (applied) apply(model, actions);
        const head = await db.head();
        // A commit gets a version after every earlier one; a transaction that did not land, none.
        if (applied) expect(head > previousHead, `version of op ${op}`).toBe(true);
        else expect(head).toBe(previousHead);
        previousHead = head;
        const digest = digestModel(model);
        expect(await digestDb(db), `head after op ${op} (${applied ? 'applied' : 'not applied'}, seed ${SEED})`).toBe(digest);
        expected.set(head, digest);
      }

      const versions = (await db.log()).map((c) => c.version).reverse();
      // The schema, then one commit per applied op: no version the writer did not see.
      for (const version of versions) expect(expected.has(version), `unexpected version ${version}`).toBe(true);
      for (const [i, version] of versions.entries()) {
        const snapshot = await db.at(version);
        try {
          expect(await digestDb(snapshot), `content at ${version}`).toBe(expected.get(version));
          if (i % 4 === 0 || i === versions.length - 1) {
            expect(await snapshot.query(`PRAGMA integrity_check`)).toEqual([{ integrity_check: 'ok' }]);
          }
        } finally {
          await snapshot.close();
        }
      }
      // Every kind of fault was injected, so every recovery path ran.
      for (const [kind, n] of Object.entries(kv.injected)) expect(n, `${kind} faults injected`).toBeGreaterThan(0);
      console.log(`faults: ${op - 1} ops, ${versions.length} versions, injected ${JSON.stringify(kv.injected)}, ${errors.length} errors surfaced (seed ${SEED})`);
    } finally {
      await db.close();
      await kv.close();
    }
  }, LONG ? 900_000 : 120_000);
});

describe('GC racing the workload under faults', () => {
  const GC_OPS = LONG ? 200 : 30;
  it(`${GC_OPS} transactions, GC running beside the first two thirds: versions at or above the watermark read exactly as recorded, older ones fail with VersionTooOldError (seed ${SEED})`, async () => {
    const random = rng(SEED + 1);
    const base = await openKv('memory:');
    const kv = withFaults(base, { seed: SEED + 1, ...FAULTS });
    const name = uniqueName('gc-faults');
    // Retention 0: every GC run moves the watermark up to the head of the moment. Created without
    // faults: a timeout injected into the creating commit would fail open() itself.
    await (await open(name, { store: base, retention: 0 })).close();
    const db = await open(name, { store: kv });
    const collector = await open(name, { store: kv });
    const model: Model = new Map();
    const expected = new Map<string, string>();
    const errors: string[] = [];
    const gc = { running: true, runs: 0, versions: 0, errors: [] as string[] };
    /** One GC run; whether it succeeded. */
    const collectOnce = async () => {
      try {
        gc.versions += (await collector.gc()).versions;
        gc.runs++;
        return true;
      } catch (error) {
        gc.errors.push((error as Error).message);
        return false;
      }
    };
    const gcLoop = (async () => {
      while (gc.running) {
        await collectOnce();
        await pause(5);
      }
    })();
    try {
      await createSchema(db, errors);
      expected.set(await db.head(), digestModel(model));
      for (let op = 1; op <= GC_OPS; op++) {
        if (op === Math.ceil((GC_OPS * 2) / 3)) {
          gc.running = false;
          await gcLoop;
          // One last run that succeeds, so the watermark surely sits here whatever the loop managed.
          while (!(await collectOnce()));
        }
        const actions = randomActions(random, op);
        // GC may also revoke a two-phase commit's upload token: that commit fails cleanly.
        if (await runOp(db, op, actions, errors, /transaction_timed_out 1031|commit interrupted/)) apply(model, actions);
        const digest = digestModel(model);
        expect(await digestDb(db), `head after op ${op} (seed ${SEED})`).toBe(digest);
        expected.set(await db.head(), digest);
      }

      // GC ran and dropped versions; a store error that outlasted GC's retries is the only failure allowed.
      expect(gc.runs).toBeGreaterThan(0);
      expect(gc.versions).toBeGreaterThan(0);
      for (const message of gc.errors) expect(message).toMatch(/transaction_timed_out 1031/);
      const watermark = (await db.history()).oldestVersion;
      const versions = [...expected.keys()].sort();
      const below = versions.filter((v) => v < watermark);
      expect(below.length, 'versions below the watermark').toBeGreaterThan(0);
      expect(versions.length - below.length, 'versions at or above it').toBeGreaterThan(GC_OPS / 4);
      for (const version of versions) {
        if (version < watermark) {
          const error = await errorOf(db.at(version));
          expect(error, `read at ${version}, below the watermark ${watermark}`).toBeInstanceOf(VersionTooOldError);
          expect(error).toMatchObject({ code: 'VERSION_TOO_OLD', truncatedBefore: watermark });
          continue;
        }
        const snapshot = await db.at(version);
        try {
          expect(await digestDb(snapshot), `content at ${version}`).toBe(expected.get(version));
        } finally {
          await snapshot.close();
        }
      }
      const head = await db.at(await db.head());
      expect(await head.query(`PRAGMA integrity_check`)).toEqual([{ integrity_check: 'ok' }]);
      await head.close();
      console.log(`gc under faults: ${GC_OPS} ops, ${gc.runs} GC runs dropped ${gc.versions} versions, ${below.length} of ${versions.length} recorded versions below the watermark, injected ${JSON.stringify(kv.injected)} (seed ${SEED})`);
    } finally {
      gc.running = false;
      await gcLoop;
      await collector.close();
      await db.close();
      await kv.close();
    }
  }, LONG ? 900_000 : 120_000);
});

describe('store errors at commit, one at a time (what the caller of a commit sees)', () => {
  async function staged(body: (db: Database, script: (ScriptedFault | undefined)[]) => Promise<void>): Promise<void> {
    const script: (ScriptedFault | undefined)[] = [];
    const kv = scriptedFaults(await openKv('memory:'), script);
    const db = await open(uniqueName('staged'), { store: kv });
    try {
      await db.exec(`CREATE TABLE t(id TEXT PRIMARY KEY, v INTEGER)`);
      await body(db, script);
      expect(script, 'every scripted fault was used').toEqual([]);
    } finally {
      await db.close();
      await kv.close();
    }
  }
  const commits = async (db: Database) => (await db.log()).length;
  /** Inserts row `id` unless it is there already: a transaction that is safe to run again. */
  const insertOnce = (db: Database, id: string) =>
    db.transaction(async (tx) => {
      if ((await tx.get(`SELECT 1 AS found FROM t WHERE id = ?`, [id])) !== undefined) return 'already applied';
      await tx.run(`INSERT INTO t VALUES (?, 1)`, [id]);
      return 'applied';
    });

  it.each<[string, ScriptedFault[]]>([
    ['1020 not committed', [1020]],
    ['1007 transaction too old', [1007]],
    ['1021 unknown result, not committed', [1021]],
    ['1021 unknown result, committed', ['committed-1021']],
    ['several in a row', [1020, 1021, 1007, 'committed-1021']],
  ])('%s: retried inside the commit; the transaction returns and is committed exactly once', async (_name, faults) => {
    await staged(async (db, script) => {
      const before = await commits(db);
      script.push(...faults);
      expect(await insertOnce(db, 'a')).toBe('applied');
      expect(await commits(db)).toBe(before + 1);
      expect((await db.log({ limit: 1 }))[0]!.version).toBe(db.version);
      expect(await db.query(`SELECT id FROM t`)).toEqual([{ id: 'a' }]);
    });
  });

  it('a timeout before anything landed: the error names it, and nothing changed', async () => {
    await staged(async (db, script) => {
      const before = { commits: await commits(db), head: await db.head() };
      script.push(1031);
      const error = await errorOf(insertOnce(db, 'a'));
      expect(error).toBeInstanceOf(SqliteError);
      expect((error as Error).message).toMatch(/transaction_timed_out 1031/);
      expect((error as Error).cause).toBeInstanceOf(KvError); // the public export is the class thrown
      expect((error as Error).cause).toMatchObject({ code: 1031 });
      expect({ commits: await commits(db), head: await db.head() }).toEqual(before);
      expect(await db.query(`SELECT id FROM t`)).toEqual([]);
      expect(await insertOnce(db, 'a')).toBe('applied'); // and the database is usable
    });
  });

  it('a timeout while the commit was in flight: the error is reported, the commit is whole, and an idempotent retry does not apply it twice', async () => {
    await staged(async (db, script) => {
      const before = await commits(db);
      script.push('committed-1031');
      const error = await errorOf(insertOnce(db, 'a'));
      expect((error as Error).message).toMatch(/transaction_timed_out 1031/);
      expect(await db.query(`SELECT id, v FROM t`)).toEqual([{ id: 'a', v: 1 }]);
      expect(await commits(db)).toBe(before + 1);
      expect(await insertOnce(db, 'a')).toBe('already applied');
      expect(await commits(db)).toBe(before + 1);
    });
  });
});

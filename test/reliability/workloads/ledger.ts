/**
 * The ledger: the crash test's workload (and one of the soak's). Every transaction appends
 * entry `txs + 1` with a random amount and a payload whose bytes follow from its id and length,
 * sometimes adjusts an older entry, and keeps `totals` (entries, sum) in step. So at every
 * version: totals match the entries, ids run 1..txs, every payload is exactly its pattern, and a
 * torn commit (some pages of a transaction without the others) cannot go unnoticed.
 */
import type { Database } from '../../../src/index.ts';
import { INLINE_CONTENT_BYTES } from '../../../src/engine/index.ts';
import { between } from '../helpers.ts';

const LEDGER_SCHEMA = `
  CREATE TABLE IF NOT EXISTS ledger(id INTEGER PRIMARY KEY, amount INTEGER NOT NULL, size INTEGER NOT NULL, payload BLOB NOT NULL);
  CREATE INDEX IF NOT EXISTS ledger_amount ON ledger(amount);
  CREATE TABLE IF NOT EXISTS totals(id INTEGER PRIMARY KEY CHECK (id = 1), txs INTEGER NOT NULL, sum INTEGER NOT NULL);
  INSERT OR IGNORE INTO totals VALUES (1, 0, 0);`;

/** What a writer learned when its commit returned. */
export interface Ack {
  txs: number;
  sum: number;
  version: string;
}

/** Reads through a snapshot, a transaction, or a Database nobody else writes to (each statement reads the head). */
type Reader = Pick<Database, 'get' | 'query'>;

/** The bytes entry `id` stores, `length` of them. */
export function payloadOf(id: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (id * 131 + i * 7 + (i >> 8)) & 0xff;
  return out;
}

/** Creates the tables in one transaction: they exist completely or not at all. */
export async function setupLedger(db: Database): Promise<void> {
  await db.transaction(async (tx) => {
    for (const statement of LEDGER_SCHEMA.split(';').filter((s) => s.trim() !== '')) await tx.run(statement);
  });
}

/**
 * Payload sizes: mostly within a page, some spilling to overflow pages, and a few above the
 * engine's inline limit so that their commits take the two-phase path.
 */
function payloadLength(random: () => number): number {
  const r = random();
  if (r < 0.85) return between(random, 16, 3000);
  if (r < 0.97) return between(random, 5000, 40_000);
  return between(random, INLINE_CONTENT_BYTES + 16_000, INLINE_CONTENT_BYTES + 146_000);
}

/** One ledger transaction; returns what it committed. */
export async function appendEntry(db: Database, random: () => number): Promise<Ack> {
  const amount = between(random, -1000, 1000);
  const length = payloadLength(random);
  const adjust = random() < 0.3 ? { pick: random(), delta: between(random, -500, 500) } : undefined;
  const totals = await db.transaction(async (tx) => {
    const before = (await tx.get(`SELECT txs, sum FROM totals`)) as { txs: number; sum: number };
    const id = before.txs + 1;
    let sum = before.sum + amount;
    await tx.run(`INSERT INTO ledger VALUES (?, ?, ?, ?)`, [id, amount, length, payloadOf(id, length)]);
    if (adjust !== undefined && before.txs > 0) {
      const target = 1 + Math.floor(adjust.pick * before.txs);
      await tx.run(`UPDATE ledger SET amount = amount + ? WHERE id = ?`, [adjust.delta, target]);
      sum += adjust.delta;
    }
    await tx.run(`UPDATE totals SET txs = ?, sum = ? WHERE id = 1`, [id, sum]);
    return { txs: id, sum };
  });
  return { ...totals, version: db.version };
}

export interface LedgerCheck {
  txs: number;
  sum: number;
  /** Every way the state broke the ledger's invariants (empty when it holds). */
  problems: string[];
}

/**
 * Checks the ledger's invariants as `reader` sees it. `integrity` adds PRAGMA integrity_check;
 * `payloads` compares every payload with its pattern.
 */
export async function checkLedger(reader: Reader, options: { integrity?: boolean; payloads?: boolean } = {}): Promise<LedgerCheck> {
  const problems: string[] = [];
  const totals = (await reader.get(`SELECT txs, sum FROM totals`)) as { txs: number; sum: number } | undefined;
  if (totals === undefined) return { txs: 0, sum: 0, problems: ['the totals row is missing'] };
  const entries = (await reader.get(
    `SELECT count(*) AS n, coalesce(sum(amount), 0) AS s, coalesce(max(id), 0) AS m FROM ledger`,
  )) as { n: number; s: number; m: number };
  if (entries.n !== totals.txs || entries.m !== totals.txs) {
    problems.push(`totals say ${totals.txs} entries; the ledger has ${entries.n} with ids up to ${entries.m}`);
  }
  if (entries.s !== totals.sum) problems.push(`totals say the sum is ${totals.sum}; the entries add up to ${entries.s}`);
  if (options.integrity) {
    const result = await reader.query(`PRAGMA integrity_check`);
    if (result.length !== 1 || result[0]!.integrity_check !== 'ok') problems.push(`integrity_check: ${JSON.stringify(result)}`);
  }
  if (options.payloads) {
    const rows = (await reader.query(`SELECT id, size, payload FROM ledger`)) as { id: number; size: number; payload: Uint8Array }[];
    for (const { id, size, payload } of rows) {
      if (!Buffer.from(payload).equals(payloadOf(id, size))) problems.push(`entry ${id}: the payload is not what was written`);
    }
  }
  return { txs: totals.txs, sum: totals.sum, problems };
}

export interface StoreCheck {
  problems: string[];
  /** Every version in the database's log, oldest first. */
  versions: string[];
  /** Entries at the head. */
  txs: number;
}

/**
 * What must hold after a writer died at any moment: every acknowledged commit is there (the head
 * has at least as many entries, and each acknowledged version reads back exactly what its writer
 * saw, in commit order), the head passes integrity_check with intact payloads, the log's versions
 * strictly increase, and every logged version not in `checked` is readable and keeps the invariants (integrity_check
 * at one in `integrityEvery` of them, and always at the newest).
 */
export async function checkLedgerStore(
  openDb: () => Promise<Database | undefined>,
  acks: Ack[],
  options: { checked?: Set<string>; integrityEvery?: number } = {},
): Promise<StoreCheck> {
  const db = await openDb();
  if (db === undefined) {
    // The writer died before the database existed: fine unless it had acknowledged something.
    return { problems: acks.length > 0 ? ['the database is gone, but commits to it were acknowledged'] : [], versions: [], txs: 0 };
  }
  const problems: string[] = [];
  try {
    const versions = (await db.log()).map((c) => c.version).reverse();
    if (versions.length === 0) {
      // Created, but killed before its first commit (the tables): nothing to check unless acknowledged.
      return { problems: acks.length > 0 ? ['the log is empty, but commits were acknowledged'] : [], versions, txs: 0 };
    }
    const head = await checkLedger(db, { integrity: true, payloads: true });
    problems.push(...head.problems.map((p) => `at the head: ${p}`));
    const acked = Math.max(0, ...acks.map((a) => a.txs));
    if (head.txs < acked) problems.push(`the head has ${head.txs} entries, but ${acked} were acknowledged`);

    for (let i = 1; i < versions.length; i++) {
      if (versions[i - 1]! >= versions[i]!) problems.push(`log versions out of order: ${versions[i - 1]} then ${versions[i]}`);
    }
    const inLog = new Set(versions);
    const byVersion = new Map(acks.map((a) => [a.version, a]));
    for (const ack of acks) if (!inLog.has(ack.version)) problems.push(`acknowledged version ${ack.version} is not in the log`);
    // Entry k+1 was committed after entry k: its version is larger.
    const ordered = [...acks].sort((a, b) => a.txs - b.txs);
    for (let i = 1; i < ordered.length; i++) {
      if (ordered[i - 1]!.version >= ordered[i]!.version) {
        problems.push(`entry ${ordered[i]!.txs} was acknowledged at ${ordered[i]!.version}, not after entry ${ordered[i - 1]!.txs} at ${ordered[i - 1]!.version}`);
      }
    }

    const every = options.integrityEvery ?? 1;
    const toCheck = versions.filter((v) => !options.checked?.has(v));
    for (const [i, version] of toCheck.entries()) {
      const snapshot = await db.at(version);
      try {
        const integrity = i % every === 0 || i === toCheck.length - 1;
        const at = await checkLedger(snapshot, { integrity });
        problems.push(...at.problems.map((p) => `at ${version}: ${p}`));
        const ack = byVersion.get(version);
        if (ack !== undefined && (at.txs !== ack.txs || at.sum !== ack.sum)) {
          problems.push(`at ${version}: reads ${at.txs} entries summing to ${at.sum}; its writer committed ${ack.txs} summing to ${ack.sum}`);
        }
      } finally {
        await snapshot.close();
      }
    }
    return { problems, versions, txs: head.txs };
  } finally {
    await db.close();
  }
}

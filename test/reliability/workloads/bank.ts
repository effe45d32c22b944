/**
 * The bank: accounts and transfers between them, by writers in several processes (the bank test)
 * or connections (the soak). A transfer is one transaction that moves money between two accounts
 * and records its id in `transfers` (primary key), so at every version: the total is the opening
 * total, no balance is negative, and each balance is its opening balance plus the transfers in it
 * and minus the transfers out of it (a transfer applied twice, or applied without its record,
 * breaks that).
 */
import { ConflictError, type Database } from '../../../src/index.ts';
import { between } from '../helpers.ts';

export const OPENING_BALANCE = 1000;

/**
 * Reads through a snapshot or a transaction (each statement of a Database outside a transaction
 * reads the head as of that statement: a check that needs one state runs in a transaction).
 */
type Reader = Pick<Database, 'get' | 'query'>;

export async function setupBank(db: Database, accounts: number): Promise<void> {
  await db.transaction(async (tx) => {
    // Padding spreads the accounts over several pages, so transfers between different accounts
    // do not always touch the same pages.
    await tx.run(`CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL CHECK (balance >= 0), pad TEXT)`);
    await tx.run(`CREATE TABLE transfers(id TEXT PRIMARY KEY, src INTEGER NOT NULL, dst INTEGER NOT NULL, amount INTEGER NOT NULL)`);
    for (let id = 1; id <= accounts; id++) {
      await tx.run(`INSERT INTO accounts VALUES (?, ?, printf('%0800d', 0))`, [id, OPENING_BALANCE]);
    }
  });
}

export type TransferOutcome = 'applied' | 'already applied';

/**
 * Moves up to `amount` (no more than the source holds) from `src` to `dst`, once: if transfer `id`
 * is already recorded (an earlier attempt landed although it reported an error), it does nothing.
 */
export async function transfer(
  db: Database,
  id: string,
  src: number,
  dst: number,
  amount: number,
  onAttempt: () => void = () => {},
): Promise<TransferOutcome> {
  return db.transaction(async (tx) => {
    onAttempt();
    if ((await tx.get(`SELECT 1 AS found FROM transfers WHERE id = ?`, [id])) !== undefined) return 'already applied';
    const { balance } = (await tx.get(`SELECT balance FROM accounts WHERE id = ?`, [src])) as { balance: number };
    const moved = Math.min(amount, balance);
    await tx.run(`UPDATE accounts SET balance = balance - ? WHERE id = ?`, [moved, src]);
    await tx.run(`UPDATE accounts SET balance = balance + ? WHERE id = ?`, [moved, dst]);
    await tx.run(`INSERT INTO transfers VALUES (?, ?, ?, ?)`, [id, src, dst, moved]);
    return 'applied';
  });
}

export interface WriterStats {
  transfers: number;
  /** Runs of the transaction body: retries after conflicts (inside transaction()) and after errors. */
  attempts: number;
  /** Transfers found applied on a retry after an error: the error came after the commit landed. */
  alreadyApplied: number;
  /** transaction() gave up after its conflict retries; the transfer was tried again. */
  conflicts: number;
  /** Other errors (injected store faults surfacing), by error code; the transfer was tried again. */
  errors: Record<string, number>;
}

/** Runs transfers `<writer>-0` .. `<writer>-<count - 1>` between random accounts, each until it is applied. */
export async function runTransfers(
  db: Database,
  writer: string,
  count: number,
  accounts: number,
  random: () => number,
): Promise<WriterStats> {
  const stats: WriterStats = { transfers: 0, attempts: 0, alreadyApplied: 0, conflicts: 0, errors: {} };
  for (let i = 0; i < count; i++) {
    const src = between(random, 1, accounts);
    const dst = 1 + ((src - 1 + between(random, 1, accounts - 1)) % accounts);
    const amount = between(random, 1, 400);
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await transfer(db, `${writer}-${i}`, src, dst, amount, () => stats.attempts++);
        if (outcome === 'already applied') stats.alreadyApplied++;
        stats.transfers++;
        break;
      } catch (error) {
        if (error instanceof ConflictError) stats.conflicts++;
        else {
          const code = String((error as { code?: unknown }).code ?? (error as Error).name);
          stats.errors[code] = (stats.errors[code] ?? 0) + 1;
        }
        if (attempt === 100) throw error;
      }
    }
  }
  return stats;
}

export interface BankCheck {
  total: number;
  transfers: number;
  problems: string[];
}

/** The bank's invariants as `reader` sees them (`integrity` adds PRAGMA integrity_check). */
export async function checkBank(reader: Reader, accounts: number, options: { integrity?: boolean } = {}): Promise<BankCheck> {
  const problems: string[] = [];
  const rows = (await reader.query(`SELECT id, balance FROM accounts ORDER BY id`)) as { id: number; balance: number }[];
  const moves = (await reader.query(
    `SELECT a.id AS id, coalesce((SELECT sum(amount) FROM transfers WHERE dst = a.id), 0)
                      - coalesce((SELECT sum(amount) FROM transfers WHERE src = a.id), 0) AS net
     FROM accounts a ORDER BY a.id`,
  )) as { id: number; net: number }[];
  const { n } = (await reader.get(`SELECT count(*) AS n FROM transfers`)) as { n: number };
  const total = rows.reduce((sum, row) => sum + row.balance, 0);
  if (rows.length !== accounts) problems.push(`${rows.length} accounts instead of ${accounts}`);
  if (total !== accounts * OPENING_BALANCE) problems.push(`the total is ${total} instead of ${accounts * OPENING_BALANCE}`);
  for (const [i, row] of rows.entries()) {
    if (row.balance < 0) problems.push(`account ${row.id} is overdrawn: ${row.balance}`);
    const expected = OPENING_BALANCE + moves[i]!.net;
    if (row.balance !== expected) problems.push(`account ${row.id} holds ${row.balance}; its recorded transfers make ${expected}`);
  }
  if (options.integrity) {
    const result = await reader.query(`PRAGMA integrity_check`);
    if (result.length !== 1 || result[0]!.integrity_check !== 'ok') problems.push(`integrity_check: ${JSON.stringify(result)}`);
  }
  return { total, transfers: n, problems };
}

/** checkBank at every version in the log (integrity_check at one in `integrityEvery`); problems by version. */
export async function checkBankHistory(db: Database, accounts: number, integrityEvery: number): Promise<{ versions: number; problems: string[] }> {
  const versions = (await db.log()).map((c) => c.version).reverse();
  const problems: string[] = [];
  let transfers = -1;
  for (const [i, version] of versions.entries()) {
    const snapshot = await db.at(version);
    try {
      const check = await checkBank(snapshot, accounts, { integrity: i % integrityEvery === 0 || i === versions.length - 1 });
      problems.push(...check.problems.map((p) => `at ${version}: ${p}`));
      // Each commit after the setup records exactly one transfer.
      if (transfers >= 0 && check.transfers !== transfers + 1) {
        problems.push(`at ${version}: ${check.transfers} transfers recorded, after ${transfers} at the version before`);
      }
      transfers = check.transfers;
    } finally {
      await snapshot.close();
    }
  }
  return { versions: versions.length, problems };
}

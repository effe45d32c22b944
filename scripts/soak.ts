/**
 * `npm run soak -- --minutes N`: a long mixed run (not in CI). On one lmdb store, under injected kv
 * faults, for N minutes:
 *   - bank transfers from connections in this process and from writer processes, some of which are
 *     killed with SIGKILL mid-run;
 *   - ledger appends from two connections;
 *   - readers checking the bank at the head (in a transaction) and at random past versions, and
 *     acknowledged ledger commits at their versions;
 *   - scratch databases whose names share a prefix with the bank's, created, written and deleted.
 * Then it checks a sample of the whole history, prints a report of operations, conflicts, retries,
 * errors and violations, and exits 1 if any invariant was violated.
 * GC (issue 5): when it exists, add a worker that runs it and checks reads at and above the watermark.
 */
import { rmSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { ConflictError, SqliteError, deleteDatabase, open, type Database } from '../src/index.ts';
import { KvError, openKv, withFaults, type FaultCounts, type FaultyKv } from '../src/kv/index.ts';
import type { Kv } from '../src/kv/types.ts';
import { between, pause, rng, startFixture, tempStore } from '../test/reliability/helpers.ts';
import { checkBank, runTransfers, setupBank, type WriterStats } from '../test/reliability/workloads/bank.ts';
import { appendEntry, checkLedger, setupLedger, type Ack } from '../test/reliability/workloads/ledger.ts';

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got "${value}"`);
  return n;
}

const options = new Command('soak')
  .description('Mixed workload with kv faults, crashes and checks; exits 1 on any violated invariant')
  .option('--minutes <n>', 'how long to run', positive, 5)
  .option('--store <dir>', 'lmdb store directory (default: a temp directory, removed afterwards)')
  .option('--seed <n>', 'seed for the workload and the faults', (v) => Math.floor(positive(v)), Math.floor(Math.random() * 2 ** 31))
  .option('--writers <n>', 'bank writer connections in this process', (v) => Math.floor(positive(v)), 3)
  .option('--fault-rate <p>', 'share of write commits that fail (spread over 1020, 1007, 1021 both ways, 1031)', positive, 0.2)
  .parse()
  .opts<{ minutes: number; store?: string; seed: number; writers: number; faultRate: number }>();

const ACCOUNTS = 16;
const temp = options.store === undefined ? tempStore() : undefined;
const storeUrl = options.store !== undefined ? `lmdb:${options.store}` : temp!.url;
const deadline = Date.now() + options.minutes * 60_000;
const running = () => Date.now() < deadline;
const random = rng(options.seed);

const report = {
  transfers: 0,
  processTransfers: 0,
  ledgerEntries: 0,
  headChecks: 0,
  versionChecks: 0,
  ackChecks: 0,
  scratchDatabases: 0,
  processes: 0,
  processesKilled: 0,
  /** transaction() gave up after its conflict retries (the work was tried again). */
  conflicts: 0,
  /** Extra runs of transaction bodies: conflict retries inside transaction() and retries after errors. */
  retries: 0,
  /** Store errors that surfaced to the caller (expected under faults), by code. */
  errors: {} as Record<string, number>,
  faults: { notCommitted: 0, tooOld: 0, unknownCommitted: 0, unknownNotCommitted: 0, timeout: 0 } as FaultCounts,
  violations: [] as string[],
};
const faulty: FaultyKv[] = [];

function violation(message: string): void {
  report.violations.push(message);
  console.error(`VIOLATION: ${message}`);
}

/** A store fault that outlasted the retries is expected under injection; anything else is a violation. */
function classify(error: unknown, where: string): void {
  if (error instanceof ConflictError) {
    report.conflicts++;
    return;
  }
  // A store error reaches the caller as itself (opening a database) or as the cause of an SQLite error.
  const cause = error instanceof SqliteError ? error.cause : error;
  if (cause instanceof KvError) {
    const key = `${(error as Error).name}/${cause.code}`;
    report.errors[key] = (report.errors[key] ?? 0) + 1;
    return;
  }
  violation(`${where}: unexpected ${(error as Error).name}: ${(error as Error).message}`);
}

function faultyStore(base: Kv): FaultyKv {
  const share = options.faultRate / 5;
  const kv = withFaults(base, { seed: between(random, 1, 2 ** 30), notCommitted: share, tooOld: share, unknownCommitted: share, unknownNotCommitted: share, timeout: share });
  faulty.push(kv);
  return kv;
}

async function bankWriter(base: Kv, id: number): Promise<void> {
  const db = await open('bank', { store: faultyStore(base), retries: 20 });
  try {
    for (let batch = 0; running(); batch++) {
      let stats: WriterStats;
      try {
        stats = await runTransfers(db, `c${id}-${batch}`, 10, ACCOUNTS, rng(options.seed + id * 1000 + batch));
      } catch (error) {
        classify(error, `bank writer ${id}`);
        continue;
      }
      report.transfers += stats.transfers;
      report.conflicts += stats.conflicts;
      report.retries += stats.attempts - stats.transfers;
      for (const [code, n] of Object.entries(stats.errors)) report.errors[`${code} (retried)`] = (report.errors[`${code} (retried)`] ?? 0) + n;
    }
  } finally {
    await db.close();
  }
}

/** Writer processes in waves; about a third of them are killed at a random moment. */
async function processWaves(): Promise<void> {
  for (let wave = 0; running(); wave++) {
    const seed = between(random, 1, 2 ** 30);
    const child = startFixture('bank-writer.ts', [storeUrl, 'bank', `p${wave}`, '40', String(ACCOUNTS), String(seed), String(options.faultRate)]);
    report.processes++;
    const kill = random() < 0.35 ? setTimeout(() => child.process.kill('SIGKILL'), between(random, 500, 8000)) : undefined;
    const lines: string[] = [];
    for (let line = await child.nextLine(); line !== undefined; line = await child.nextLine()) lines.push(line);
    const code = await child.exited();
    clearTimeout(kill);
    if (code === null) report.processesKilled++;
    else if (code !== 0) violation(`writer process p${wave} exited with ${code}: ${lines.join(' ')}`);
    else {
      const stats = JSON.parse(lines[0]!) as WriterStats & { injected: FaultCounts };
      report.processTransfers += stats.transfers;
      report.retries += stats.attempts - stats.transfers;
      for (const [kind, n] of Object.entries(stats.injected)) report.faults[kind as keyof FaultCounts] += n;
    }
  }
}

async function ledgerWriter(base: Kv, id: number, acks: Ack[]): Promise<void> {
  const db = await open('ledger', { store: faultyStore(base), retries: 50 });
  const random = rng(options.seed + 7 + id);
  try {
    while (running()) {
      try {
        acks.push(await appendEntry(db, random));
        report.ledgerEntries++;
      } catch (error) {
        classify(error, 'ledger writer');
      }
    }
  } finally {
    await db.close();
  }
}

async function checkAt(db: Database, version: string, check: (snapshot: Database) => Promise<string[]>): Promise<void> {
  const snapshot = await db.at(version);
  try {
    for (const problem of await check(snapshot)) violation(`${db.name} at ${version}: ${problem}`);
  } finally {
    await snapshot.close();
  }
}

async function reader(base: Kv, acks: Ack[]): Promise<void> {
  const bank = await open('bank', { store: base });
  const ledger = await open('ledger', { store: base });
  try {
    while (running()) {
      const head = await bank.transaction((tx) => checkBank(tx, ACCOUNTS));
      for (const problem of head.problems) violation(`bank at the head: ${problem}`);
      report.headChecks++;
      const versions = await bank.log({ limit: 500 });
      const version = versions[between(random, 0, versions.length - 1)]!.version;
      await checkAt(bank, version, async (s) => (await checkBank(s, ACCOUNTS)).problems);
      report.versionChecks++;
      if (acks.length > 0) {
        const ack = acks[between(random, 0, acks.length - 1)]!;
        await checkAt(ledger, ack.version, async (s) => {
          const at = await checkLedger(s);
          const exact = at.txs === ack.txs && at.sum === ack.sum ? [] : [`reads ${at.txs}/${at.sum}, acknowledged ${ack.txs}/${ack.sum}`];
          return [...at.problems, ...exact];
        });
        report.ackChecks++;
      }
      await pause(200);
    }
  } finally {
    await bank.close();
    await ledger.close();
  }
}

/** Databases named like the bank's come and go beside it. */
async function scratch(base: Kv): Promise<void> {
  const names = ['bank.scratch', 'bank2', 'ban', 'ledger-x'];
  while (running()) {
    const name = names[between(random, 0, names.length - 1)]!;
    let db: Database | undefined;
    try {
      db = await open(name, { store: faultyStore(base) });
      await db.exec(`CREATE TABLE IF NOT EXISTS junk(x BLOB)`);
      for (let i = 0; i < 5; i++) await db.run(`INSERT INTO junk VALUES (randomblob(?))`, [between(random, 10, 20_000)]);
    } catch (error) {
      classify(error, `scratch database ${name}`);
    } finally {
      await db?.close();
    }
    if (random() < 0.5) await deleteDatabase(name, { store: base }).catch(() => undefined); // may not exist
    report.scratchDatabases++;
    await pause(500);
  }
}

/** After the run: the head of both databases whole, and a sample of the bank's history. */
async function finalCheck(base: Kv, acks: Ack[]): Promise<void> {
  const bank = await open('bank', { store: base });
  const ledger = await open('ledger', { store: base });
  try {
    const head = await bank.transaction((tx) => checkBank(tx, ACCOUNTS, { integrity: true }));
    for (const problem of head.problems) violation(`bank at the end: ${problem}`);
    const ledgerHead = await checkLedger(ledger, { integrity: true, payloads: true });
    for (const problem of ledgerHead.problems) violation(`ledger at the end: ${problem}`);
    const versions = (await bank.log()).map((c) => c.version);
    const sample = [...new Set([versions[0]!, ...Array.from({ length: 200 }, () => versions[between(random, 0, versions.length - 1)]!)])];
    for (const version of sample) await checkAt(bank, version, async (s) => (await checkBank(s, ACCOUNTS, { integrity: true })).problems);
    report.versionChecks += sample.length;
    for (const ack of acks.filter((_, i) => i % 10 === 0)) {
      await checkAt(ledger, ack.version, async (s) => {
        const at = await checkLedger(s);
        return at.txs === ack.txs && at.sum === ack.sum ? at.problems : [...at.problems, `reads ${at.txs}/${at.sum}, acknowledged ${ack.txs}/${ack.sum}`];
      });
      report.ackChecks++;
    }
    console.log(`history: bank ${versions.length} versions (${sample.length} checked), ledger ${ledgerHead.txs} entries`);
  } finally {
    await bank.close();
    await ledger.close();
  }
}

function progress(final = false): void {
  const minutes = ((Date.now() - (deadline - options.minutes * 60_000)) / 60_000).toFixed(1);
  const faults = { ...report.faults };
  for (const kv of faulty) for (const [kind, n] of Object.entries(kv.injected)) faults[kind as keyof FaultCounts] += n;
  const lines = [
    `${final ? 'soak report' : 'progress'} after ${minutes} min (seed ${options.seed}, store ${storeUrl})`,
    `  operations: ${report.transfers} transfers in process, ${report.processTransfers} by ${report.processes} processes (${report.processesKilled} killed), ` +
      `${report.ledgerEntries} ledger entries, ${report.scratchDatabases} scratch databases`,
    `  checks: ${report.headChecks} at the head, ${report.versionChecks} at past versions, ${report.ackChecks} acknowledged ledger commits`,
    `  conflicts: ${report.conflicts} gave up after retries; ${report.retries} retries`,
    `  errors surfaced (store faults, expected): ${JSON.stringify(report.errors)}`,
    `  faults injected: ${JSON.stringify(faults)}`,
    `  violations: ${report.violations.length === 0 ? 'none' : report.violations.length}`,
  ];
  console.log(lines.join('\n'));
}

const base = await openKv(storeUrl);
let exitCode = 0;
try {
  for (const name of ['bank', 'ledger']) await deleteDatabase(name, { store: base }).catch(() => undefined);
  const bank = await open('bank', { store: base });
  await setupBank(bank, ACCOUNTS);
  await bank.close();
  const ledger = await open('ledger', { store: base });
  await setupLedger(ledger);
  await ledger.close();

  const acks: Ack[] = [];
  const ticker = setInterval(() => progress(), 30_000);
  // Settled, not all: a worker that fails is reported while the others finish their run.
  const workers = await Promise.allSettled([
    ...Array.from({ length: options.writers }, (_, i) => bankWriter(base, i)),
    processWaves(),
    ledgerWriter(base, 0, acks),
    ledgerWriter(base, 1, acks),
    reader(base, acks),
    scratch(base),
  ]);
  clearInterval(ticker);
  for (const worker of workers) {
    if (worker.status === 'rejected') violation(`a worker failed: ${(worker.reason as Error).stack ?? String(worker.reason)}`);
  }
  await finalCheck(base, acks);
} catch (error) {
  violation(`the soak itself failed: ${(error as Error).stack ?? String(error)}`);
} finally {
  await base.close();
  progress(true);
  for (const message of report.violations.slice(0, 20)) console.log(`  - ${message}`);
  exitCode = report.violations.length > 0 ? 1 : 0;
  if (temp !== undefined) rmSync(temp.dir, { recursive: true, force: true });
}
process.exit(exitCode);

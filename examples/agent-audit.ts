/**
 * `npm start`: why mvdb exists, in one short run on the embedded store.
 *
 * An AI agent keeps its audit trail in SQLite (sessions, tool calls,
 * decisions, artifacts); every step it takes is a commit. A cleanup step
 * then deletes a report by mistake. Because mvdb keeps every version, the
 * report comes back: the audit trail says when the cleanup started,
 * versionAt() finds the version just before it, at() reads the report
 * there, and a new commit writes it back.
 *
 * Each run is a new session in the same database (./mvdb-data, database
 * `agent-demo`; MVDB_STORE overrides the store), so its whole history stays
 * there for `npx mvdb log agent-demo` and `npx mvdb shell agent-demo`.
 */

import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { open, type Database, type Transaction } from '../src/index.ts';

const STORE = process.env.MVDB_STORE || './mvdb-data';
const DB_NAME = 'agent-demo';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sessions (
  id         INTEGER PRIMARY KEY,
  agent      TEXT NOT NULL,
  task       TEXT NOT NULL,
  started_at TEXT NOT NULL,
  status     TEXT NOT NULL DEFAULT 'running'
);
CREATE TABLE IF NOT EXISTS tool_calls (
  id         INTEGER PRIMARY KEY,
  session_id INTEGER NOT NULL REFERENCES sessions(id),
  tool       TEXT NOT NULL,
  input      TEXT NOT NULL,
  output     TEXT,
  started_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS decisions (
  id         INTEGER PRIMARY KEY,
  session_id INTEGER NOT NULL REFERENCES sessions(id),
  decision   TEXT NOT NULL,
  rationale  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS artifacts (
  id         INTEGER PRIMARY KEY,
  session_id INTEGER NOT NULL REFERENCES sessions(id),
  path       TEXT NOT NULL,
  content    TEXT NOT NULL,
  sha256     TEXT NOT NULL,
  created_at TEXT NOT NULL
);`;

const REPORT = `# Checkout test flakiness: findings

- 14 of the last 200 CI runs failed in tests/checkout.spec.ts, all on runner pool B.
- The payment mock is awaited with a fixed 2 s timeout; pool B's p95 latency is 2.4 s.
- Reproduced locally: 3 of 20 runs fail when latency is injected at 2.4 s, 0 of 20 at 1.5 s.

## Recommendation
Raise the mock timeout to 5 s (patches/checkout-timeout.diff) and tag pool B for a latency review.
`;

const PATCH = `--- a/tests/checkout.spec.ts
+++ b/tests/checkout.spec.ts
@@ -41,7 +41,7 @@
-  await payment.waitForConfirmation({ timeout: 2000 });
+  await payment.waitForConfirmation({ timeout: 5000 });
`;

const SCRATCH = 'pool B p95 2.4s? check runner dashboards. mock timeout = 2000ms (hardcoded).';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const now = () => new Date().toISOString();
const say = (text = '') => console.log(text);
/** One line of the trail: the commit's version, then what happened. */
const commitLine = (version: string, what: string) => say(`   ${version}  ${what}`);

/** An agent step: a short pause (the agent thinking), then one transaction; returns the new version. */
async function step(db: Database, body: (tx: Transaction) => Promise<void>): Promise<string> {
  await sleep(15);
  await db.transaction(body);
  return db.version;
}

async function main(): Promise<void> {
  const db = await open(DB_NAME, { store: STORE, clientTag: 'agent-audit' });
  try {
    await db.exec(SCHEMA);
    const earlier = (await db.get('SELECT count(*) AS n FROM sessions')) as { n: number };
    say(`mvdb demo: an AI agent's audit trail, with every version kept`);
    say(`store ${STORE}, database ${DB_NAME}` + (earlier.n > 0 ? ` (${earlier.n} earlier session(s) stay in its history)` : ''));
    say();

    // 1. The agent works; each step is one commit.
    say('1. The agent works through its task; every step is a commit');
    const task = 'Find out why the checkout test is flaky and write a report';
    let session = 0;
    let v = await step(db, async (tx) => {
      const r = await tx.run('INSERT INTO sessions (agent, task, started_at) VALUES (?, ?, ?)', ['triage-bot', task, now()]);
      session = Number(r.lastInsertRowid);
    });
    commitLine(v, `session ${session} started: "${task}"`);

    const toolCall = async (tool: string, input: object, output: string) => {
      const version = await step(db, async (tx) => {
        await tx.run('INSERT INTO tool_calls (session_id, tool, input, output, started_at) VALUES (?, ?, ?, ?, ?)', [
          session, tool, JSON.stringify(input), output, now(),
        ]);
      });
      commitLine(version, `tool call  ${tool} ${JSON.stringify(input)} -> ${output}`);
    };
    const decide = async (decision: string, rationale: string) => {
      const version = await step(db, async (tx) => {
        await tx.run('INSERT INTO decisions (session_id, decision, rationale) VALUES (?, ?, ?)', [session, decision, rationale]);
      });
      commitLine(version, `decision   ${decision}`);
    };
    const writeArtifact = async (path: string, content: string) => {
      const version = await step(db, async (tx) => {
        await tx.run('INSERT INTO artifacts (session_id, path, content, sha256, created_at) VALUES (?, ?, ?, ?, ?)', [
          session, path, content, sha256(content), now(),
        ]);
      });
      commitLine(version, `artifact   ${path} (${content.length} bytes, sha256 ${sha256(content).slice(0, 12)}…)`);
    };

    await toolCall('search_logs', { query: 'checkout timeout', days: 30 }, '14 failures, all on runner pool B');
    await writeArtifact('scratch/notes.md', SCRATCH);
    await toolCall('read_file', { path: 'tests/checkout.spec.ts' }, 'fixed 2000 ms timeout on the payment mock');
    await decide('Treat it as test flakiness, not a product bug', 'failures only on pool B, whose p95 latency is 2.4 s');
    await toolCall('run_tests', { suite: 'checkout', repeat: 20, latencyMs: 2400 }, '3 of 20 failed (timeout 2000 ms)');
    await writeArtifact('reports/checkout-flake.md', REPORT);
    await writeArtifact('patches/checkout-timeout.diff', PATCH);
    say();

    // 2. The mistake: a cleanup meant for scratch notes matches every .md file.
    say('2. A cleanup step meant for scratch notes deletes the report too');
    const cleanupInput = { pattern: '%.md', meant: 'scratch/%.md' };
    let deleted = 0;
    v = await step(db, async (tx) => {
      const r = await tx.run('DELETE FROM artifacts WHERE session_id = ? AND path LIKE ?', [session, cleanupInput.pattern]);
      deleted = r.changes;
      await tx.run('INSERT INTO tool_calls (session_id, tool, input, output, started_at) VALUES (?, ?, ?, ?, ?)', [
        session, 'cleanup', JSON.stringify(cleanupInput), `deleted ${r.changes} artifacts`, now(),
      ]);
    });
    commitLine(v, `tool call  cleanup ${JSON.stringify(cleanupInput)} -> deleted ${deleted} artifacts`);
    const left = (await db.query('SELECT path FROM artifacts WHERE session_id = ? ORDER BY path', [session])) as { path: string }[];
    say(`   artifacts of session ${session} now: ${left.map((a) => a.path).join(', ') || '(none)'}`);
    say();

    // 3. Recovery, by time: the audit trail says when the cleanup started.
    say('3. Recovery: find the version from before the cleanup, by time, and read the report there');
    const cleanup = (await db.get(
      "SELECT started_at FROM tool_calls WHERE session_id = ? AND tool = 'cleanup' ORDER BY id DESC LIMIT 1",
      [session],
    )) as { started_at: string };
    const justBefore = new Date(Date.parse(cleanup.started_at) - 1);
    const before = await db.versionAt(justBefore);
    say(`   the audit trail says the cleanup started at ${cleanup.started_at}`);
    say(`   versionAt(${justBefore.toISOString()}) = ${before}`);
    const past = await db.at(before);
    let report: { id: number; path: string; content: string; sha256: string; created_at: string } | undefined;
    try {
      report = (await past.get('SELECT id, path, content, sha256, created_at FROM artifacts WHERE session_id = ? AND path = ?', [
        session,
        'reports/checkout-flake.md',
      ])) as typeof report;
    } finally {
      await past.close();
    }
    if (!report) throw new Error(`the report is not in version ${before}: the demo's recovery failed`);
    const intact = sha256(report.content) === report.sha256;
    say(`   at(${before}) has ${report.path}: ${report.content.length} bytes, sha256 ${report.sha256.slice(0, 12)}… ${intact ? '(matches)' : '(MISMATCH)'}`);

    v = await step(db, async (tx) => {
      await tx.run('INSERT INTO artifacts (id, session_id, path, content, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
        report.id, session, report.path, report.content, report.sha256, report.created_at,
      ]);
      await tx.run('INSERT INTO decisions (session_id, decision, rationale) VALUES (?, ?, ?)', [
        session, `Restore ${report.path} from version ${before}`, 'deleted by the cleanup pattern %.md, which was meant for scratch notes only',
      ]);
      await tx.run("UPDATE sessions SET status = 'done' WHERE id = ?", [session]);
    });
    commitLine(v, `written back: ${report.path}`);
    say();

    // 4. Check it at the head, byte for byte.
    const back = (await db.get('SELECT content FROM artifacts WHERE session_id = ? AND path = ?', [session, report.path])) as
      | { content: string }
      | undefined;
    if (back?.content !== report.content) throw new Error('the restored report differs from the original');
    say(`4. The report is back at the head (${v}), byte for byte; the mistaken delete stays in the history.`);
    say();

    say('Explore it:');
    say(`   npx mvdb log ${DB_NAME}`);
    say(`   npx mvdb at ${DB_NAME} ${before} "SELECT path, length(content) FROM artifacts WHERE session_id = ${session}"`);
    say(`   npx mvdb shell ${DB_NAME}        (then .tables, .log, .at ${before}, .help)`);
  } finally {
    await db.close();
  }
}

main().catch((err: unknown) => {
  console.error(`agent-audit: ${err instanceof Error ? err.message : String(err)}`);
  if (process.env.MVDB_DEBUG && err instanceof Error) console.error(err.stack);
  process.exitCode = 1;
});

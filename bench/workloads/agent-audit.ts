/**
 * An AI agent's audit trail: the session records each tool call and, now and then, a decision, and
 * between writes reads back its own recent history. Each write is its own transaction, as an agent's are.
 */
import { makeRng, makeStrings, randInt } from '../lib/rng.ts';
import { perSecond, timed } from '../lib/time.ts';
import type { Conn, Sizes, Workload } from '../lib/types.ts';

const steps = (s: Sizes): number => (s.quick ? 40 : 1_000);
const OTHER_SESSIONS = 50;
const OTHER_CALLS = 100; // per other session: history the queries must skip past
const TOOLS = ['read_file', 'write_file', 'run_tests', 'search', 'shell', 'http_get'];

const SCHEMA = `
CREATE TABLE sessions(id INTEGER PRIMARY KEY, agent TEXT NOT NULL, started_at INTEGER NOT NULL);
CREATE TABLE tool_calls(id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL REFERENCES sessions(id), at INTEGER NOT NULL,
  tool TEXT NOT NULL, args TEXT NOT NULL, result TEXT NOT NULL, ms INTEGER NOT NULL);
CREATE INDEX tool_calls_session ON tool_calls(session_id, id);
CREATE TABLE decisions(id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL REFERENCES sessions(id),
  tool_call_id INTEGER NOT NULL REFERENCES tool_calls(id), at INTEGER NOT NULL, choice TEXT NOT NULL, reason TEXT NOT NULL);
CREATE INDEX decisions_session ON decisions(session_id, id);`;

const INSERT_SESSION = 'INSERT INTO sessions(id, agent, started_at) VALUES (?, ?, ?)';
const INSERT_CALL = 'INSERT INTO tool_calls(session_id, at, tool, args, result, ms) VALUES (?, ?, ?, ?, ?, ?)';
const INSERT_DECISION = 'INSERT INTO decisions(session_id, tool_call_id, at, choice, reason) VALUES (?, (SELECT max(id) FROM tool_calls WHERE session_id = ?), ?, ?, ?)';
const RECENT_CALLS = 'SELECT id, tool, args, result FROM tool_calls WHERE session_id = ? ORDER BY id DESC LIMIT 5';
const TOOL_COUNTS = 'SELECT tool, count(*), sum(ms) FROM tool_calls WHERE session_id = ? GROUP BY tool';
const DECISIONS_WITH_CALLS = `SELECT d.choice, d.reason, c.tool, c.args FROM decisions d JOIN tool_calls c ON c.id = d.tool_call_id
  WHERE d.session_id = ? ORDER BY d.id DESC LIMIT 10`;

/** Earlier sessions of other agents, so the session's queries run over an index with other data in it. */
async function seedHistory(conn: Conn, texts: string[]): Promise<void> {
  await conn.exec(SCHEMA);
  await conn.transaction(async (tx) => {
    for (let s = 1; s <= OTHER_SESSIONS; s++) {
      await tx.run(INSERT_SESSION, [s, `agent-${s % 7}`, s * 1000]);
      for (let c = 0; c < OTHER_CALLS; c++) {
        await tx.run(INSERT_CALL, [s, s * 1000 + c, TOOLS[c % TOOLS.length]!, texts[c % 256]!, texts[(c + 1) % 256]!, c]);
      }
    }
  });
}

export const agentAudit: Workload = {
  id: 'agent-audit',
  title: 'Agent audit trail',
  describe: (s) => `One session's ${steps(s).toLocaleString('en')} steps; each step inserts a tool call (its own transaction) and reads the session's last 5 calls; every 4th step also inserts a decision, every 10th runs a per-tool summary and a decisions⋈calls join. ${OTHER_SESSIONS * OTHER_CALLS} earlier calls in the database; 20 untimed steps first.`,
  applies: () => true,
  async run(ctx) {
    const rng = makeRng(6000 + ctx.rep);
    const texts = makeStrings(rng, 256, 80);
    const conn = await ctx.sys.open({ dir: ctx.dir, name: ctx.freshName('audit') });
    await seedHistory(conn, texts);
    const session = OTHER_SESSIONS + 1;
    await conn.run(INSERT_SESSION, [session, 'agent-bench', Date.now()]);

    let step = 0;
    const work = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++, step++) {
        await conn.run(INSERT_CALL, [session, step, TOOLS[randInt(rng, 0, TOOLS.length - 1)]!, texts[step & 255]!, texts[(step * 7) & 255]!, randInt(rng, 1, 500)]);
        const recent = await conn.all(RECENT_CALLS, [session]);
        if (recent.length === 0) throw new Error('agent-audit: the session cannot see its own tool call');
        if (step % 4 === 3) await conn.run(INSERT_DECISION, [session, session, step, 'proceed', texts[(step * 3) & 255]!]);
        if (step % 10 === 9) {
          await conn.all(TOOL_COUNTS, [session]);
          await conn.all(DECISIONS_WITH_CALLS, [session]);
        }
      }
    };
    await work(20);
    const n = steps(ctx.sizes);
    const [, ms] = await timed(() => work(n));
    const calls = Number((await conn.get('SELECT count(*) FROM tool_calls WHERE session_id = ?', [session]))?.[0]);
    await conn.close();
    if (calls !== n + 20) throw new Error(`agent-audit: expected ${n + 20} tool calls, found ${calls}`);
    return [{ case: 'steps/s', value: perSecond(n, ms), unit: 'steps/s', better: 'higher' }];
  },
};

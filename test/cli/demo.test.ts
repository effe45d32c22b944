/**
 * `npm start` (examples/agent-audit.ts) in a fresh directory: it runs to
 * completion twice, and after each run the deleted report is back, equal to
 * the report as it was before the mistaken delete.
 */

import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { mvdb, ROOT, run, tempDir } from './run-mvdb.ts';
import { runMain } from './run-main.ts';

const { dir, cleanup } = tempDir('demo');
const store = join(dir, 'mvdb-data'); // the demo's default store, relative to its working directory
afterAll(cleanup);

const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');

async function runDemo() {
  const r = await run(process.execPath, [tsxCli, join(ROOT, 'examples/agent-audit.ts')], { cwd: dir });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

interface Artifact {
  session_id: number;
  path: string;
  content: string;
  sha256: string;
}

async function artifacts(at?: string): Promise<Artifact[]> {
  const sql = 'SELECT session_id, path, content, sha256 FROM artifacts ORDER BY session_id, path';
  const r = await runMain(['--store', store, ...(at ? ['at', 'agent-demo', at, sql, '--json'] : ['sql', 'agent-demo', sql, '--json'])]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Artifact[];
}

describe('npm start (the agent audit demo)', () => {
  it('recovers the deleted report, run after run', async () => {
    for (const session of [1, 2]) {
      const out = await runDemo();
      const before = /versionAt\([^)]*\) = ([0-9a-f]{20})/.exec(out)?.[1];
      expect(before, out).toBeDefined();

      const now = (await artifacts()).filter((a) => a.session_id === session);
      const then = (await artifacts(before)).filter((a) => a.session_id === session);
      const report = (list: Artifact[]) => list.find((a) => a.path === 'reports/checkout-flake.md');
      // Before the delete the report was there; at the head it is back, identical; the scratch notes stay deleted.
      expect(report(then)).toBeDefined();
      expect(report(now)).toEqual(report(then));
      expect(createHash('sha256').update(report(now)!.content).digest('hex')).toBe(report(now)!.sha256);
      expect(then.map((a) => a.path)).toContain('scratch/notes.md');
      expect(now.map((a) => a.path)).toEqual(['patches/checkout-timeout.diff', 'reports/checkout-flake.md']);
    }
    // The real command sees what the demo left in ./mvdb-data.
    const sessions = await mvdb(undefined, ['sql', 'agent-demo', 'SELECT id, status FROM sessions ORDER BY id', '--json'], { cwd: dir });
    expect(JSON.parse(sessions.stdout)).toEqual([
      { id: 1, status: 'done' },
      { id: 2, status: 'done' },
    ]);
  });
});

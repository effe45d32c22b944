/**
 * Argument errors: every mistake exits non-zero with one `mvdb: ...` line
 * that names what was wrong and what is accepted, and no stack trace.
 * (None of these needs a store: they fail before one is opened.)
 */

import { afterAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { lines, mvdb, tempDir } from './run-mvdb.ts';
import { runMain } from './run-main.ts';

const { dir, cleanup } = tempDir('usage');
const store = join(dir, 'store');
afterAll(cleanup);

describe('usage errors', () => {
  it.each([
    [['frobnicate'], /^mvdb: unknown command 'frobnicate'; commands: sql, shell, log, at, ls, import, export/],
    [['sqll', 'db', 'select 1'], /unknown command 'sqll'.*Did you mean sql\?/],
    [['sql'], /^mvdb: missing required argument 'db' \(usage: mvdb sql .*<db> \[sql\]\)$/],
    [['log'], /^mvdb: missing required argument 'db'/],
    [['sql', 'db', 'select', '1'], /too many arguments for 'sql'.*quote the SQL as one argument/],
    [['at', 'db', '12ab', 'select 1'], /^mvdb: "12ab" is not a version: a version is exactly 20 hex digits \(got 4\)$/],
    [['at', 'db', 'last tuesday', 'select 1'], /not a version or time; accepted: a version \(20 hex digits.*"3 days ago"/],
    [['log', 'db', '--limit', 'many'], /^mvdb: --limit must be a whole number ≥ 1 \(got "many"\)$/],
    [['export', 'db', 'out.sqlite', '--at', 'soon'], /"soon" is not a version or time/],
    [['--frob'], /^mvdb: unknown option '--frob'/],
  ])('mvdb %j', async (args, message) => {
    const r = await runMain(['--store', store, ...args]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr.trimEnd()).toMatch(message);
    // Usage errors change nothing: no store was even created.
    expect(existsSync(store)).toBe(false);
  });

  it('exits with code 2 and one line from the real command too', async () => {
    const r = await mvdb(store, ['at', 'db', 'whenever', 'select 1']);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual([expect.stringMatching(/^mvdb: "whenever" is not a version or time; accepted:/)]);
    expect(existsSync(store)).toBe(false);
  });

  it('prints help on stdout with exit code 0, listing every command', async () => {
    const r = await runMain(['--help']);
    expect(r.code).toBe(0);
    for (const command of ['sql', 'shell', 'log', 'at', 'ls', 'import', 'export']) expect(r.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    expect(r.stdout).toMatch(/--store <url>/);
  });

  it('runs from any working directory', async () => {
    const r = await mvdb(undefined, ['--version'], { cwd: dir });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

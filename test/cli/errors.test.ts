/**
 * Failures at run time (a missing database, bad SQL, a bad store URL):
 * one `mvdb: ...` line on stderr, exit code 1, no stack trace unless
 * MVDB_DEBUG=1, and the data unchanged.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, lines, mvdb, run, tempDir } from './run-mvdb.ts';
import { runMain } from './run-main.ts';

const { dir, cleanup } = tempDir('errors');
const store = join(dir, 'store');
afterAll(cleanup);

beforeAll(async () => {
  const r = await runMain(['--store', store, 'sql', 'kept', "create table t(a); insert into t values ('safe')"]);
  expect(r.code).toBe(0);
});

describe('run-time errors', () => {
  it.each([
    [['log', 'ghost'], /^mvdb: database "ghost" does not exist/],
    [['at', 'ghost', 'head', 'select 1'], /^mvdb: database "ghost" does not exist/],
    [['sql', 'kept', 'selec * from t'], /^mvdb: .*syntax error/],
    [['sql', 'kept', 'insert into t values (1); select * from nowhere'], /^mvdb: .*no such table: nowhere \(statement 2 of 2: select \* from nowhere\)$/],
    [['sql', 'bad/name', 'select 1'], /^mvdb: invalid database name "bad\/name": a name is 1 to 128 characters of A-Z/],
    [['--store', 'bogus:x', 'ls'], /^mvdb: unknown store URL scheme "bogus:".*accepted: memory:/],
    [['--store', join(dir, 'nowhere'), 'log', 'x'], /^mvdb: no store at .*nowhere: --store or MVDB_STORE names another/],
    [['at', 'kept', 'ffffffffffffffffffff', 'select 1'], /^mvdb: .*version ffffffffffffffffffff is in the future/],
    [['at', 'kept', '2001-01-01', 'select 1'], /^mvdb: database "kept" has no version at 2001-01-01/],
  ])('mvdb %j fails with one line', async (args, message) => {
    const r = await runMain(args[0] === '--store' ? args : ['--store', store, ...args]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr.trimEnd()).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, 'nowhere'))).toBe(false); // a read-only command creates no store
  });

  it('runs the statements before a failing one and none after it, as sqlite3 does', async () => {
    const r = await runMain(['--store', store, 'sql', 'partial', 'create table u(a); insert into u values (1); select * from nowhere; insert into u values (2)']);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual(['mvdb: no such table: nowhere (statement 3 of 4: select * from nowhere)']);
    expect(JSON.parse((await runMain(['--store', store, 'sql', 'partial', '--json', 'select a from u'])).stdout)).toEqual([{ a: 1 }]);
  });

  it('fails the same way from the real command, with the stack only when MVDB_DEBUG=1', async () => {
    const plain = await mvdb(store, ['log', 'ghost']);
    expect(plain.code).toBe(1);
    expect(lines(plain.stderr)).toEqual([expect.stringMatching(/^mvdb: database "ghost" does not exist/)]);
    const debug = await run(process.execPath, [BIN, '--store', store, 'log', 'ghost'], { env: { MVDB_DEBUG: '1' } });
    expect(debug.code).toBe(1);
    expect(lines(debug.stderr)[0]).toBe(lines(plain.stderr)[0]);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });
});

/**
 * `mvdb sql`, `log`, `at`, `ls` against a real lmdb store. The setup and the
 * output checks that matter most run the real command (a child process);
 * the rest call main() in-process, which is the same code minus start-up.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { lines, mvdb, tempDir } from './run-mvdb.ts';
import { runMain } from './run-main.ts';

const { dir, cleanup } = tempDir('sql');
const store = join(dir, 'store');
afterAll(cleanup);

interface LogEntry {
  version: string;
  time: string;
  pages: number;
  bytes: number;
  client: string | null;
}

/** Runs a command that must succeed silently on stderr; `spawn` runs the real bin/mvdb.js. */
async function ok(args: string[], options: { input?: string; spawn?: boolean } = {}): Promise<string> {
  const r = options.spawn
    ? await mvdb(store, args, { input: options.input })
    : await runMain(['--store', store, ...args], { input: options.input });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

async function log(db: string): Promise<LogEntry[]> {
  return JSON.parse(await ok(['log', db, '--json', '--limit', '1000'])) as LogEntry[];
}

let afterFirstInsert: LogEntry;

beforeAll(async () => {
  await ok(['sql', 'notes', "create table note(id integer primary key, body text, score real); insert into note values (1, 'first', 1.5)"], {
    spawn: true,
  });
  afterFirstInsert = (await log('notes'))[0]!;
  await ok(['sql', 'notes', "insert into note values (2, 'second note', null)"]);
});

describe('mvdb sql', () => {
  it('prints a query as an aligned table', async () => {
    expect(await ok(['sql', 'notes', 'select id, body, score from note order by id'], { spawn: true })).toBe(
      ['id  body         score', '--  -----------  -----', ' 1  first          1.5', ' 2  second note   NULL', ''].join('\n'),
    );
  });

  it('prints JSON rows with --json (before or after the command)', async () => {
    const expected = [
      { id: 1, body: 'first', score: 1.5 },
      { id: 2, body: 'second note', score: null },
    ];
    expect(JSON.parse(await ok(['sql', 'notes', 'select * from note order by id', '--json'], { spawn: true }))).toEqual(expected);
    expect(JSON.parse(await ok(['--json', 'sql', 'notes', 'select * from note order by id']))).toEqual(expected);
  });

  it('runs every statement and prints each result set', async () => {
    const out = await ok(['sql', 'notes', 'select count(*) as n from note; select max(id) as top from note', '--json']);
    expect(lines(out).map((l) => JSON.parse(l))).toEqual([[{ n: 2 }], [{ top: 2 }]]);
  });

  it('reads the SQL from stdin', async () => {
    const input = 'select body from note\n where id = 2;\n';
    expect(JSON.parse(await ok(['sql', 'notes', '--json'], { input, spawn: true }))).toEqual([{ body: 'second note' }]);
  });

  it('keeps 64-bit integers exact in JSON', async () => {
    const out = await ok(['sql', 'notes', 'select 9007199254740993 as big', '--json']);
    expect(out.trim()).toBe('[{"big":9007199254740993}]');
  });
});

describe('mvdb log', () => {
  it('lists commits newest first, with versions, times and sizes', async () => {
    const entries = await log('notes');
    expect(entries.length).toBeGreaterThanOrEqual(3); // create table, two inserts
    for (const e of entries) {
      expect(e.version).toMatch(/^[0-9a-f]{20}$/);
      expect(Number.isNaN(Date.parse(e.time))).toBe(false);
      expect(e.pages).toBeGreaterThan(0);
    }
    const versions = entries.map((e) => e.version);
    expect([...versions].sort().reverse()).toEqual(versions);
    expect(new Set(versions).size).toBe(versions.length);
  });

  it('shows the same commits as a table, and honours --limit', async () => {
    const entries = await log('notes');
    const table = lines(await ok(['log', 'notes']));
    expect(table[0]).toMatch(/^version\s+time\s+pages\s+bytes\s+client$/);
    expect(table.slice(2).map((l) => l.split(/\s+/)[0])).toEqual(entries.map((e) => e.version));
    const one = JSON.parse(await ok(['log', 'notes', '--limit', '1', '--json'])) as LogEntry[];
    expect(one).toEqual([entries[0]]);
  });
});

describe('mvdb at', () => {
  it('reads the database as it was at a version', async () => {
    const out = await ok(['at', 'notes', afterFirstInsert.version, 'select id from note order by id', '--json']);
    expect(JSON.parse(out)).toEqual([{ id: 1 }]);
    expect(JSON.parse(await ok(['at', 'notes', 'head', 'select count(*) as n from note', '--json']))).toEqual([{ n: 2 }]);
  });

  it('reads the database as it was at a time (the newest version at or before it)', async () => {
    const r = await mvdb(store, ['at', 'notes', afterFirstInsert.time, 'select id from note order by id']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('id\n--\n 1\n');
    // The version used is named on stderr (not on stdout, which stays the result).
    expect(r.stderr).toContain(`at ${afterFirstInsert.version}`);
  });

  it('refuses to write at a past version, and nothing changes', async () => {
    const r = await runMain(['--store', store, 'at', 'notes', afterFirstInsert.version, 'delete from note']);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^mvdb: .*read-only/);
    expect(JSON.parse(await ok(['sql', 'notes', 'select count(*) as n from note', '--json']))).toEqual([{ n: 2 }]);
  });
});

describe('mvdb ls', () => {
  it('lists the databases with their head versions', async () => {
    await ok(['sql', 'other', 'create table x(a)']);
    const listed = JSON.parse(await ok(['ls', '--json'])) as { name: string; head: string }[];
    expect(listed.map((d) => d.name).sort()).toEqual(['notes', 'other']);
    const notes = listed.find((d) => d.name === 'notes')!;
    expect(notes.head).toBe((await log('notes'))[0]!.version);
    const table = lines(await ok(['ls']));
    expect(table[0]).toMatch(/^name\s+head/);
    expect(table.slice(2).map((l) => l.split(/\s+/)[0]).sort()).toEqual(['notes', 'other']);
  });
});

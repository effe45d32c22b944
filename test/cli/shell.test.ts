/**
 * `mvdb shell` with piped input: statements across lines, dot-commands, time
 * travel, errors. The first session runs the real command; the others call
 * main() in-process with the same piped input.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { lines, mvdb, tempDir } from './run-mvdb.ts';
import { runMain } from './run-main.ts';

const { dir, cleanup } = tempDir('shell');
const store = join(dir, 'store');
afterAll(cleanup);

let first: { code: number | null; stdout: string; stderr: string };

beforeAll(async () => {
  first = await mvdb(store, ['shell', 'pets'], {
    input: [
      'create table pet(id integer primary key, name text not null);',
      'create index pet_name on pet(name);',
      "insert into pet(name) values ('rex');",
      'insert into pet(name)',
      "  values ('tom'), ('kit');",
      '.tables',
      '.schema pet',
      'select name from pet',
      'order by id;',
      'select count(*) as n from pet', // no ';': runs at end of input, as in sqlite3
    ].join('\n'),
  });
});

describe('mvdb shell (piped)', () => {
  it('runs multi-line statements and dot-commands, printing like the sql command', () => {
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(
      [
        'pet',
        'CREATE TABLE pet(id integer primary key, name text not null);',
        'CREATE INDEX pet_name on pet(name);',
        'name',
        '----',
        'rex',
        'tom',
        'kit',
        'n',
        '-',
        '3',
        '',
      ].join('\n'),
    );
  });

  it('moves to a past version with .at and back with .at head', async () => {
    const log = JSON.parse((await runMain(['--store', store, 'log', 'pets', '--json', '--limit', '100'])).stdout) as { version: string }[];
    // Newest first: [insert tom+kit, insert rex, create index, create table, ...].
    const afterRex = log[1]!.version;
    const r = await runMain(['--store', store, 'shell', 'pets'], {
      input: [`.at ${afterRex}`, 'select name from pet;', '.at', '.at head', 'select count(*) as n from pet;', '.quit', 'select 1;'].join('\n'),
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out[0]).toBe(`reading at ${afterRex} (read-only); .at head returns to the head`);
    expect(out.slice(1, 4)).toEqual(['name', '----', 'rex']);
    expect(out[4]).toBe(`reading at ${afterRex} (read-only); .at head returns to the head`);
    expect(out[5]).toBe(`reading at the head (${log[0]!.version})`);
    expect(out.slice(6)).toEqual(['n', '-', '3']); // and nothing after .quit
  });

  it('shows the log and switches to JSON output', async () => {
    const r = await runMain(['--store', store, 'shell', 'pets'], { input: '.log 2\n.mode json\nselect name from pet where id = 1;\n' });
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out[0]).toMatch(/^version\s+time\s+pages\s+bytes\s+client$/);
    expect(out.slice(2, 4).every((l) => /^[0-9a-f]{20} /.test(l))).toBe(true);
    expect(JSON.parse(out[4]!)).toEqual([{ name: 'rex' }]);
  });

  it('reports each error with its line, goes on, and exits non-zero', async () => {
    const r = await runMain(['--store', store, 'shell', 'pets'], {
      input: ['select nope from pet;', '.frobnicate', '.at yesterday-ish', "insert into pet(name) values ('ok');", 'select count(*) as n from pet;'].join('\n'),
    });
    expect(r.code).toBe(1);
    const errors = lines(r.stderr);
    expect(errors[0]).toMatch(/^Error \(line 1\): .*no such column: nope/);
    expect(errors[1]).toMatch(/^Error \(line 2\): unknown command "\.frobnicate"; accepted: \.tables, \.schema, \.log, \.at/);
    expect(errors[2]).toMatch(/^Error \(line 3\): "yesterday-ish" is not a version or time/);
    expect(errors[3]).toBe('mvdb: 3 errors (see above)');
    expect(lines(r.stdout)).toEqual(['n', '-', '4']);
  });

  it('stops at the first error with --bail', async () => {
    const r = await runMain(['--store', store, 'shell', 'pets', '--bail'], { input: 'select nope;\nselect 1 as one;\n' });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
  });
});

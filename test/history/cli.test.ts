/** `mvdb tag`, `diff`, `fork`, `restore`, `retention`, `gc` against a real lmdb store, as a user runs them. */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { lines, mvdb, tempDir } from '../cli/run-mvdb.ts';

const { dir, cleanup } = tempDir('history');
const store = join(dir, 'store');
afterAll(cleanup);

async function ok(args: string[]): Promise<string> {
  const r = await mvdb(store, args);
  expect(r.stderr, `mvdb ${args.join(' ')}`).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

async function fails(args: string[], code: number): Promise<string> {
  const r = await mvdb(store, args);
  expect(r.code, `mvdb ${args.join(' ')}`).toBe(code);
  expect(r.stdout).toBe('');
  expect(lines(r.stderr)).toHaveLength(1);
  return r.stderr;
}

const json = async (args: string[]) => JSON.parse(await ok([...args, '--json'])) as Record<string, unknown>;

let tagged: string;

beforeAll(async () => {
  await ok(['sql', 'notes', "create table note(id integer primary key, body text); insert into note values (1, 'first'), (2, 'second')"]);
  tagged = (await json(['tag', 'notes', 'v1'])).version as string;
  await ok(['sql', 'notes', "update note set body = 'second, edited' where id = 2; insert into note values (3, 'third'); delete from note where id = 1"]);
});

describe('mvdb tag', () => {
  it('lists tags, and removes one with --delete', async () => {
    expect(JSON.parse(await ok(['tag', 'notes', '--json']))).toEqual([{ tag: 'v1', version: tagged, created: expect.any(String) }]);
    expect(await ok(['tag', 'notes', 'tmp', tagged])).toBe(`tagged notes at ${tagged} as tmp (read it with mvdb at notes tag:tmp)\n`);
    expect(await ok(['at', 'notes', 'tag:tmp', 'select count(*) as n from note', '--json'])).toBe('[{"n":2}]\n');
    expect(await ok(['tag', 'notes', 'tmp', '--delete'])).toBe('removed tag tmp from notes\n');
    expect(await fails(['at', 'notes', 'tag:tmp', 'select 1'], 1)).toBe(
      'mvdb: database "notes" has no tag "tmp"; list its tags with db.tags() or `mvdb tag notes`\n',
    );
  });
});

describe('mvdb diff', () => {
  it('prints the changed rows between a tag and the head', async () => {
    const out = await ok(['diff', 'notes', 'tag:v1']);
    expect(lines(out).slice(1)).toEqual([
      'table note: 1 inserted, 1 updated, 1 deleted',
      "  + id=3  (id: 3, body: 'third')",
      "  ~ id=2  body: 'second' -> 'second, edited'",
      "  - id=1  (id: 1, body: 'first')",
    ]);
    const diff = await json(['diff', 'notes', 'tag:v1', 'head']);
    expect(diff.from).toBe(tagged);
    expect(diff.tables).toEqual([
      expect.objectContaining({ name: 'note', counts: { inserted: 1, updated: 1, deleted: 1 } }),
    ]);
  });
});

describe('mvdb fork', () => {
  it('forks at a tag; the fork and the source change independently', async () => {
    expect(await ok(['fork', 'notes', 'notes-v1', '--at', 'tag:v1'])).toBe(`forked notes at ${tagged} as notes-v1\n`);
    await ok(['sql', 'notes-v1', "insert into note values (9, 'fork only')"]);
    expect(JSON.parse(await ok(['sql', 'notes-v1', 'select id from note order by id', '--json']))).toEqual([{ id: 1 }, { id: 2 }, { id: 9 }]);
    expect(JSON.parse(await ok(['sql', 'notes', 'select id from note order by id', '--json']))).toEqual([{ id: 2 }, { id: 3 }]);
  });
});

describe('mvdb restore', () => {
  it('restores a version as a new commit, prints the previous head, and restoring to it undoes', async () => {
    const before = await ok(['sql', 'notes', 'select * from note order by id', '--json']);
    const out = await ok(['restore', 'notes', '--to', 'tag:v1']);
    const previous = /previous head: ([0-9a-f]{20}) \(undo: mvdb restore notes --to \1\)/.exec(out)?.[1];
    expect(previous).toBeDefined();
    expect(JSON.parse(await ok(['sql', 'notes', 'select id, body from note order by id', '--json']))).toEqual([
      { id: 1, body: 'first' },
      { id: 2, body: 'second' },
    ]);
    await ok(['restore', 'notes', '--to', previous!]);
    expect(await ok(['sql', 'notes', 'select * from note order by id', '--json'])).toBe(before);
  });
});

describe('mvdb retention and gc', () => {
  it('shows and sets the retention window', async () => {
    expect(await ok(['retention', 'notes'])).toMatch(/^notes keeps history for 1 week; oldest readable version [0-9a-f]{20}; pinned by 1 tag and 1 fork\n$/);
    expect(await ok(['retention', 'notes', '0'])).toMatch(/^notes keeps history for 0 \(was 1 week\)/);
    expect(await fails(['retention', 'notes', 'forever'], 2)).toMatch(/^mvdb: cannot read the retention from "forever"; accepted: /);
  });

  it('--dry-run prints what gc would free; gc frees exactly that; tags and forks hold the watermark', async () => {
    const dry = await json(['gc', 'notes', '--dry-run', '--grace', '0']);
    expect(dry).toMatchObject({ dryRun: true, heldBy: { name: 'v1', version: tagged } });
    expect(dry.pageVersions).toBeGreaterThan(0);
    const text = await ok(['gc', 'notes', '--dry-run']);
    expect(lines(text)[0]).toBe(`gc notes (dry run): watermark 00000000000000000000 -> ${tagged} (held by tag "v1" at ${tagged})`);
    expect(lines(text)[2]).toBe('(nothing was deleted; run mvdb gc notes to free it)');
    const freed = await json(['gc', 'notes', '--grace', '0']);
    expect({ ...freed, dryRun: true }).toEqual(dry);
    expect(await ok(['gc', 'notes'])).toMatch(/^gc notes: watermark stays at [0-9a-f]{20} \(held by tag "v1" at [0-9a-f]{20}\)\nfreed: 0 versions/);
    // The tagged version is still readable.
    expect(await ok(['at', 'notes', 'tag:v1', 'select count(*) as n from note', '--json'])).toBe('[{"n":2}]\n');
  });

  it('refuses a missing database and bad options with one line', async () => {
    expect(await fails(['gc', 'nosuch'], 1)).toMatch(/^mvdb: database "nosuch" does not exist in .* \(mvdb ls lists the databases there\)\n$/);
    expect(await fails(['gc', 'notes', '--grace', 'soon'], 2)).toMatch(/^mvdb: cannot read --grace from "soon"/);
    expect(await fails(['fork', 'notes', 'notes-v1'], 1)).toBe('mvdb: database "notes-v1" already exists\n');
  });
});

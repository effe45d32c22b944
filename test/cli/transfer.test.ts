/**
 * `mvdb import` and `mvdb export` against files made and read by
 * better-sqlite3 (real SQLite): what goes in comes out the same. One import
 * and one export run the real command; the rest call main() in-process.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Sqlite from 'better-sqlite3';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lines, mvdb, tempDir } from './run-mvdb.ts';
import { runMain } from './run-main.ts';

const { dir, cleanup } = tempDir('transfer');
const store = join(dir, 'store');
const source = join(dir, 'source.sqlite');
afterAll(cleanup);

/** Queries whose results must agree between the source file, the imported database and exported files. */
const QUERIES = [
  'SELECT * FROM item ORDER BY id',
  'SELECT * FROM cheap ORDER BY id',
  'SELECT * FROM audit ORDER BY rowid',
  "SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name",
  'SELECT name, count(*) AS n, sum(length(note)) AS chars FROM item GROUP BY name ORDER BY name',
];

/** A value as the CLI's JSON shows it (BLOBs as {"$hex"}). */
function asCliJson(value: unknown): unknown {
  return Buffer.isBuffer(value) ? { $hex: value.toString('hex') } : value;
}

function sqliteRows(file: string, sql: string): unknown[] {
  const db = new Sqlite(file, { readonly: true });
  try {
    return db.prepare(sql).all().map((row) => Object.fromEntries(Object.entries(row as object).map(([k, v]) => [k, asCliJson(v)])));
  } finally {
    db.close();
  }
}

/** The rows of each query, from one `mvdb sql --json` run (one JSON line per query), in-process. */
async function mvdbResults(db: string, queries: string[]): Promise<unknown[][]> {
  const r = await runMain(['--store', store, 'sql', db, queries.join(';\n'), '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return lines(r.stdout).map((line) => JSON.parse(line) as unknown[]);
}

async function mvdbRows(db: string, sql: string): Promise<unknown[]> {
  return (await mvdbResults(db, [sql]))[0]!;
}

function sqliteResults(file: string, queries: string[]): unknown[][] {
  return queries.map((sql) => sqliteRows(file, sql));
}

async function head(db: string): Promise<string> {
  const r = await runMain(['--store', store, 'log', db, '--json', '--limit', '1']);
  return (JSON.parse(r.stdout) as { version: string }[])[0]!.version;
}

let importedAt: string;

beforeAll(async () => {
  const db = new Sqlite(source);
  db.exec(`
    CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL, note TEXT, data BLOB);
    CREATE INDEX item_name ON item(name);
    CREATE VIEW cheap AS SELECT id, name FROM item WHERE price < 10;
    CREATE TABLE audit (item_id INTEGER, action TEXT);
    CREATE TRIGGER item_deleted AFTER DELETE ON item BEGIN INSERT INTO audit VALUES (old.id, 'deleted'); END;
  `);
  const insert = db.prepare('INSERT INTO item (name, price, note, data) VALUES (?, ?, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < 1500; i++) {
      // Enough rows for many pages; every 100th row has a BLOB that spills onto overflow pages.
      insert.run(`name-${i % 37}`, i % 7 === 0 ? null : i * 0.25, 'x'.repeat(i % 300), i % 100 === 0 ? Buffer.alloc(9000, i % 256) : Buffer.from([i % 256]));
    }
  })();
  db.exec("DELETE FROM item WHERE id % 50 = 0"); // free pages and trigger rows
  db.close();

  const r = await mvdb(store, ['import', 'shop', source]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^imported .*source\.sqlite into shop: \d+ pages \(\d+ bytes\), 2 tables, at [0-9a-f]{20}\n$/);
  importedAt = await head('shop');
});

describe('mvdb import', () => {
  it('gives a database whose every query answers as the file does', async () => {
    const queries = [...QUERIES, 'PRAGMA integrity_check'];
    expect(await mvdbResults('shop', queries)).toEqual([...sqliteResults(source, QUERIES), [{ integrity_check: 'ok' }]]);
  });

  it('gives a database that takes writes, with triggers working', async () => {
    expect((await runMain(['--store', store, 'sql', 'shop', 'DELETE FROM item WHERE id = 1'])).code).toBe(0);
    expect(await mvdbRows('shop', 'SELECT action FROM audit WHERE item_id = 1')).toEqual([{ action: 'deleted' }]);
  });

  it('refuses an existing name, a non-SQLite file and a file with an unmerged WAL, changing nothing', async () => {
    const before = await head('shop');
    const exists = await runMain(['--store', store, 'import', 'shop', source]);
    expect(exists.code).toBe(1);
    expect(lines(exists.stderr)).toEqual([expect.stringMatching(/^mvdb: .*"shop" already exists/)]);

    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'hello, not a database\n'.repeat(500));
    const notDb = await runMain(['--store', store, 'import', 'notes', text]);
    expect(notDb.code).toBe(1);
    expect(lines(notDb.stderr)).toEqual([`mvdb: ${text} is not an SQLite database: it does not start with the "SQLite format 3" header`]);

    const wal = join(dir, 'wal.sqlite');
    const w = new Sqlite(wal);
    w.pragma('journal_mode = WAL');
    w.exec('CREATE TABLE t(a); INSERT INTO t VALUES (1)');
    const walResult = await runMain(['--store', store, 'import', 'walled', wal]); // while the WAL is still open and unmerged
    w.close();
    expect(walResult.code).toBe(1);
    expect(lines(walResult.stderr)).toEqual([expect.stringMatching(/^mvdb: .*wal\.sqlite-wal next to it.*wal_checkpoint/)]);

    const missing = await runMain(['--store', store, 'import', 'ghost', join(dir, 'nope.sqlite')]);
    expect(lines(missing.stderr)).toEqual([`mvdb: ${join(dir, 'nope.sqlite')} does not exist`]);

    const listed = JSON.parse((await runMain(['--store', store, 'ls', '--json'])).stdout) as { name: string }[];
    expect(listed.map((d) => d.name)).toEqual(['shop']);
    expect(await head('shop')).toBe(before);
  });

  it('imports a WAL-mode file once checkpointed, as an ordinary database', async () => {
    const wal = join(dir, 'wal2.sqlite');
    const w = new Sqlite(wal);
    w.pragma('journal_mode = WAL');
    w.exec("CREATE TABLE t(a); INSERT INTO t VALUES ('in wal mode')");
    w.close(); // closing checkpoints and removes the -wal file
    const r = await runMain(['--store', store, 'import', 'walmode', wal]);
    expect(r.stderr).toBe('');
    const [rows, [mode]] = await mvdbResults('walmode', ['SELECT a FROM t', 'PRAGMA journal_mode']);
    expect(rows).toEqual([{ a: 'in wal mode' }]);
    expect(mode).not.toEqual({ journal_mode: 'wal' });
  });

  it('removes the new database again when SQLite finds the file damaged', async () => {
    const damaged = join(dir, 'damaged.sqlite');
    const bytes = readFileSync(source);
    bytes.fill(0xff, 4096 * 2, 4096 * 6); // b-tree pages 3..6 become garbage; the header stays valid
    writeFileSync(damaged, bytes);
    const r = await runMain(['--store', store, 'import', 'damaged', damaged]);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([expect.stringMatching(/^mvdb: .*damaged\.sqlite is damaged \(.+\); nothing was imported$/)]);
    const listed = JSON.parse((await runMain(['--store', store, 'ls', '--json'])).stdout) as { name: string }[];
    expect(listed.map((d) => d.name)).not.toContain('damaged');
  });

  it('refuses pages smaller than mvdb supports, saying how to convert', async () => {
    const small = join(dir, 'small.sqlite');
    const s = new Sqlite(small);
    s.pragma('page_size = 1024');
    s.exec('CREATE TABLE t(a)');
    s.close();
    const r = await runMain(['--store', store, 'import', 'small', small]);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([expect.stringMatching(/uses 1024-byte pages; mvdb needs at least 4096: .*PRAGMA page_size=4096; VACUUM/)]);
  });
});

describe('mvdb export', () => {
  it('writes a file that SQLite opens, with the same rows as the database', async () => {
    const out = join(dir, 'head.sqlite');
    const r = await mvdb(store, ['export', 'shop', out]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(new RegExp(`^exported shop at ${await head('shop')} to .*head\\.sqlite: \\d+ pages`));
    expect(sqliteResults(out, QUERIES)).toEqual(await mvdbResults('shop', QUERIES));
    expect(sqliteRows(out, 'PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    // Row 1 was deleted after the import: the head export has it gone.
    expect(sqliteRows(out, 'SELECT count(*) AS n FROM item WHERE id = 1')).toEqual([{ n: 0 }]);
  });

  it('exports an older version with --at', async () => {
    const out = join(dir, 'old.sqlite');
    const r = await runMain(['--store', store, 'export', 'shop', out, '--at', importedAt, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ database: 'shop', version: importedAt });
    expect(sqliteResults(out, QUERIES)).toEqual(sqliteResults(source, QUERIES));
    // A round trip gives the very same bytes as the imported file, except page 1's counters.
    const a = readFileSync(out);
    const b = readFileSync(source);
    expect(a.length).toBe(b.length);
    expect(a.subarray(4096).equals(b.subarray(4096))).toBe(true);
  });

  it('refuses to overwrite a file unless --force, and leaves no partial file on failure', async () => {
    const out = join(dir, 'taken.sqlite');
    writeFileSync(out, 'precious');
    const r = await runMain(['--store', store, 'export', 'shop', out]);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([`mvdb: ${out} already exists; choose another name or add --force to replace it`]);
    expect(readFileSync(out, 'utf8')).toBe('precious');
    expect((await runMain(['--store', store, 'export', 'shop', out, '--force'])).code).toBe(0);
    expect(sqliteRows(out, 'SELECT count(*) AS n FROM item')).toEqual(await mvdbRows('shop', 'SELECT count(*) AS n FROM item'));

    const none = join(dir, 'none.sqlite');
    const missing = await runMain(['--store', store, 'export', 'ghost', none]);
    expect(missing.code).toBe(1);
    expect(lines(missing.stderr)).toEqual([expect.stringMatching(/^mvdb: database "ghost" does not exist/)]);
    expect(existsSync(none)).toBe(false);
  });
});

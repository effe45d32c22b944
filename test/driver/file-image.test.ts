/**
 * importDatabase and exportDatabase against files made and read by
 * better-sqlite3 (real SQLite): what goes in comes out the same, at any
 * version, and a refused import or export leaves nothing behind.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Sqlite from 'better-sqlite3';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ArgumentError,
  DatabaseExistsError,
  DatabaseNotFoundError,
  FutureVersionError,
  InvalidImageError,
  exportDatabase,
  importDatabase,
  listDatabases,
  open,
  type TransferProgress,
} from '../../src/index.ts';
import { canonical, tempStoreDir, uniqueName } from './helpers.ts';

const temp = tempStoreDir();
const store = temp.url;
const source = join(temp.dir, 'source.sqlite');
afterAll(() => temp.remove());

const QUERIES = [
  'SELECT * FROM item ORDER BY id',
  'SELECT * FROM audit ORDER BY rowid',
  'SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name',
];

function fileRows(file: string, queries = QUERIES): unknown[] {
  const db = new Sqlite(file, { readonly: true });
  try {
    return queries.map((sql) => canonical(db.prepare(sql).raw().all()));
  } finally {
    db.close();
  }
}

async function databaseRows(name: string, queries = QUERIES, at?: string): Promise<unknown[]> {
  const head = await open(name, { store, create: false });
  const db = at === undefined ? head : await head.at(at);
  try {
    const out = [];
    for (const sql of queries) out.push(canonical(await db.query(sql, [], { rowMode: 'array' })));
    return out;
  } finally {
    if (db !== head) await db.close();
    await head.close();
  }
}

async function names(): Promise<string[]> {
  return (await listDatabases({ store })).map((d) => d.name);
}

/** The error a call fails with. */
async function failure(call: () => Promise<unknown>): Promise<Error> {
  try {
    await call();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

function sqliteFile(file: string, sql: string, pageSize = 4096): void {
  const db = new Sqlite(file);
  db.pragma(`page_size = ${pageSize}`);
  db.exec(sql);
  db.close();
}

const shop = uniqueName('shop');
let imported: Awaited<ReturnType<typeof importDatabase>>;
const progress: TransferProgress[] = [];

beforeAll(async () => {
  const db = new Sqlite(source);
  db.exec(`
    CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL, data BLOB);
    CREATE INDEX item_name ON item(name);
    CREATE TABLE audit (item_id INTEGER, action TEXT);
    CREATE TRIGGER item_deleted AFTER DELETE ON item BEGIN INSERT INTO audit VALUES (old.id, 'deleted'); END;
  `);
  const insert = db.prepare('INSERT INTO item (name, price, data) VALUES (?, ?, ?)');
  db.transaction(() => {
    // Many pages; every 50th row has a BLOB on overflow pages.
    for (let i = 0; i < 800; i++) insert.run(`name-${i % 23}`, i % 5 === 0 ? null : i / 4, i % 50 === 0 ? Buffer.alloc(7000, i % 256) : Buffer.from([i % 256]));
  })();
  db.exec('DELETE FROM item WHERE id % 40 = 0'); // free pages and audit rows
  db.close();
  imported = await importDatabase(shop, source, { store, clientTag: 'file-image test', onProgress: (p) => progress.push(p) });
});

describe('importDatabase', () => {
  it('gives a database that answers every query as the file does, checks out with SQLite, and is one commit', async () => {
    const pages = readFileSync(source).length / 4096;
    expect(imported).toEqual({ version: expect.stringMatching(/^[0-9a-f]{20}$/), pageSize: 4096, pages, tables: 2 });
    expect(await databaseRows(shop)).toEqual(fileRows(source));
    const db = await open(shop, { store, create: false });
    try {
      expect(await db.get('PRAGMA integrity_check')).toEqual({ integrity_check: 'ok' });
      expect(await db.head()).toBe(imported.version);
      expect(await db.log()).toMatchObject([{ version: imported.version, pages, clientTag: 'file-image test' }]);
    } finally {
      await db.close();
    }
  });

  it('reports reading every page, then the commit and the check', () => {
    const total = imported.pages;
    const reads = progress.filter((p) => p.phase === 'read').map((p) => p.done);
    expect(reads).toEqual(Array.from({ length: total + 1 }, (_, i) => i));
    expect(progress.filter((p) => p.phase !== 'read')).toEqual([
      { phase: 'commit', done: 0, total },
      { phase: 'commit', done: total, total },
      { phase: 'check', done: 0, total },
      { phase: 'check', done: total, total },
    ]);
    expect(progress.every((p) => p.total === total)).toBe(true);
  });

  it('takes the file as bytes too, with the same content', async () => {
    const name = uniqueName('bytes');
    const result = await importDatabase(name, readFileSync(source), { store });
    expect(result).toMatchObject({ pageSize: 4096, pages: imported.pages, tables: 2 });
    expect(await databaseRows(name)).toEqual(fileRows(source));
  });

  it('imports the empty file as an empty database', async () => {
    const empty = join(temp.dir, 'empty.sqlite');
    writeFileSync(empty, '');
    const name = uniqueName('empty');
    expect(await importDatabase(name, empty, { store })).toMatchObject({ pages: 0, tables: 0 });
    expect(await databaseRows(name, ['SELECT count(*) FROM sqlite_schema'])).toEqual([canonical([[0]])]);
  });

  describe('refuses, leaving the store as it was', () => {
    async function refused(name: string, file: string | Uint8Array): Promise<Error> {
      const before = await names();
      const error = await failure(() => importDatabase(name, file, { store }));
      expect(await names()).toEqual(before);
      return error;
    }

    it('a file that is not an SQLite database', async () => {
      const text = join(temp.dir, 'notes.txt');
      writeFileSync(text, 'hello, not a database\n'.repeat(500));
      const error = await refused(uniqueName(), text);
      expect(error).toBeInstanceOf(InvalidImageError);
      expect(error.message).toBe(`${text} is not an SQLite database: it does not start with the "SQLite format 3" header`);
      const bytes = await refused(uniqueName(), new Uint8Array(8192));
      expect(bytes.message).toBe('the given 8192 bytes is not an SQLite database: it does not start with the "SQLite format 3" header');
    });

    it('a taken name (the database there unchanged)', async () => {
      const error = await refused(shop, source);
      expect(error).toBeInstanceOf(DatabaseExistsError);
      expect(await databaseRows(shop)).toEqual(fileRows(source));
      const db = await open(shop, { store, create: false });
      expect(await db.head()).toBe(imported.version);
      await db.close();
    });

    it('pages smaller than mvdb supports, saying how to convert', async () => {
      const small = join(temp.dir, 'small.sqlite');
      sqliteFile(small, 'CREATE TABLE t(a); INSERT INTO t VALUES (1)', 1024);
      const error = await refused(uniqueName(), small);
      expect(error).toBeInstanceOf(InvalidImageError);
      expect(error.message).toBe(
        `${small} uses 1024-byte pages; mvdb needs at least 4096: convert it first with sqlite3 ${small} "PRAGMA page_size=4096; VACUUM"`,
      );
    });

    it('a truncated file', async () => {
      const error = await refused(uniqueName(), readFileSync(source).subarray(0, 4096 * 3 + 100));
      expect(error).toBeInstanceOf(InvalidImageError);
      expect(error.message).toMatch(/is 12388 bytes, not a whole number of 4096-byte pages/);
    });

    it('a file SQLite finds damaged, after importing it', async () => {
      const bytes = readFileSync(source);
      bytes.fill(0xff, 4096 * 2, 4096 * 6); // b-tree pages 3..6 become garbage; the header stays valid
      const error = await refused(uniqueName('damaged'), bytes);
      expect(error).toBeInstanceOf(InvalidImageError);
      expect(error.message).toMatch(/^the given \d+ bytes is damaged \(.+\); nothing was imported$/);
    });

    it('a file with an unmerged WAL next to it, a missing file, and a source that is neither', async () => {
      const wal = join(temp.dir, 'wal.sqlite');
      const w = new Sqlite(wal);
      w.pragma('journal_mode = WAL');
      w.exec('CREATE TABLE t(a); INSERT INTO t VALUES (1)');
      try {
        const error = await refused(uniqueName(), wal);
        expect(error).toBeInstanceOf(InvalidImageError);
        expect(error.message).toMatch(/wal\.sqlite-wal next to it .*PRAGMA wal_checkpoint\(TRUNCATE\)/);
      } finally {
        w.close();
      }
      const missing = await refused(uniqueName(), join(temp.dir, 'nope.sqlite'));
      expect(missing).toBeInstanceOf(ArgumentError);
      expect(missing.message).toBe(`${join(temp.dir, 'nope.sqlite')} does not exist`);
      const neither = await refused(uniqueName(), 42 as never);
      expect(neither).toBeInstanceOf(ArgumentError);
      expect(neither.message).toMatch(/reads a file path or the file's bytes \(a Uint8Array\), got number/);
    });
  });
});

describe('exportDatabase', () => {
  it('writes a file that SQLite opens with the database rows of the head, and reports every batch', async () => {
    const name = uniqueName('head');
    await importDatabase(name, source, { store });
    const db = await open(name, { store, create: false });
    await db.run('DELETE FROM item WHERE id < 100');
    const head = await db.head();
    await db.close();

    const out = join(temp.dir, `${name}.sqlite`);
    const writes: TransferProgress[] = [];
    const result = await exportDatabase(name, out, { store, onProgress: (p) => writes.push(p) });
    expect(result).toEqual({ version: head, pageSize: 4096, pages: readFileSync(out).length / 4096 });
    expect(fileRows(out)).toEqual(await databaseRows(name));
    expect(fileRows(out, ['SELECT count(*) FROM item WHERE id < 100', 'PRAGMA integrity_check'])).toEqual([canonical([[0]]), [['ok']]]);
    expect(writes.at(0)).toEqual({ phase: 'write', done: 0, total: result.pages });
    expect(writes.at(-1)).toEqual({ phase: 'write', done: result.pages, total: result.pages });
  });

  it('writes an older version: the imported file again, page for page (page 1 with its counters in stored form)', async () => {
    const name = uniqueName('old');
    const { version } = await importDatabase(name, source, { store });
    const db = await open(name, { store, create: false });
    await db.run("UPDATE item SET name = 'changed'");
    await db.close();

    const out = join(temp.dir, `${name}.sqlite`);
    expect(await exportDatabase(name, out, { store, at: version })).toMatchObject({ version });
    expect(fileRows(out)).toEqual(fileRows(source));
    const expected = readFileSync(source);
    expected.fill(0, 24, 28); // change counter
    expected.fill(0, 92, 96); // version-valid-for
    expect(readFileSync(out).equals(expected)).toBe(true);
  });

  it('hands the same bytes to a writer function, in order', async () => {
    const chunks: Uint8Array[] = [];
    const result = await exportDatabase(shop, (bytes) => void chunks.push(bytes.slice()), { store, at: imported.version });
    const out = join(temp.dir, 'shop-at-import.sqlite');
    await exportDatabase(shop, out, { store, at: imported.version });
    expect(Buffer.concat(chunks).equals(readFileSync(out))).toBe(true);
    expect(result.pages * result.pageSize).toBe(readFileSync(out).length);
  });

  describe('refuses, leaving no file behind', () => {
    async function refused(file: string, call: () => Promise<unknown>): Promise<Error> {
      const before = readdirSync(temp.dir).filter((f) => f !== file.slice(temp.dir.length + 1)).sort();
      const error = await failure(call);
      expect(readdirSync(temp.dir).filter((f) => f !== file.slice(temp.dir.length + 1)).sort()).toEqual(before); // no temporary file either
      return error;
    }

    it('an existing file unless replace, which replaces it', async () => {
      const out = join(temp.dir, 'taken.sqlite');
      writeFileSync(out, 'precious');
      const error = await refused(out, () => exportDatabase(shop, out, { store }));
      expect(error).toBeInstanceOf(ArgumentError);
      expect(error.message).toBe(`${out} already exists; pass { replace: true } to replace it`);
      expect(readFileSync(out, 'utf8')).toBe('precious');
      await exportDatabase(shop, out, { store, replace: true });
      expect(fileRows(out)).toEqual(await databaseRows(shop));
    });

    it('a database that does not exist, a version in the future, a malformed point', async () => {
      const out = join(temp.dir, 'never.sqlite');
      expect(await refused(out, () => exportDatabase(uniqueName('ghost'), out, { store }))).toBeInstanceOf(DatabaseNotFoundError);
      expect(await refused(out, () => exportDatabase(shop, out, { store, at: 'ffffffffffffffff0000' }))).toBeInstanceOf(FutureVersionError);
      const malformed = await refused(out, () => exportDatabase(shop, out, { store, at: '2025-02-30' }));
      expect(malformed).toBeInstanceOf(ArgumentError);
      expect(malformed.message).toMatch(/cannot read a point in time from "2025-02-30"/);
      expect(readdirSync(temp.dir)).not.toContain('never.sqlite');
    });

    it('a writer that fails: its error, with nothing written after it', async () => {
      let calls = 0;
      const error = await failure(() =>
        exportDatabase(
          shop,
          () => {
            calls++;
            throw new Error('disk full');
          },
          { store },
        ),
      );
      expect(error.message).toBe('disk full');
      expect(calls).toBe(1);
    });
  });
});

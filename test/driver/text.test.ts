/** Bound text reaches SQLite as exactly its UTF-8 bytes, whatever its length and characters; text read back is what better-sqlite3 reads. */
import Sqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open, type Database } from '../../src/index.ts';
import { uniqueName } from './helpers.ts';

let db: Database;
beforeAll(async () => {
  db = await open(uniqueName(), { store: 'memory:' });
});
afterAll(async () => db.close());

const ascii = (n: number) => 'abcdefghij'.repeat(Math.ceil(n / 10)).slice(0, n);

describe('bound text', () => {
  const cases: [string, string][] = [
    ['empty', ''],
    ['ASCII', 'hello'],
    ['a NUL inside', 'a\u0000b'],
    ['non-ASCII first', 'é' + ascii(20)],
    ['non-ASCII after an ASCII run', ascii(100) + '€' + ascii(5)],
    ['a 4-byte character last', ascii(30) + '😀'],
    ['ASCII of 32 units', ascii(32)],
    ['ASCII of 33 units', ascii(33)],
    ['31 units then non-ASCII', ascii(31) + 'ü'],
    ['32 units then non-ASCII', ascii(32) + 'ü'],
    ['ASCII of 256 units', ascii(256)],
    ['long ASCII (100,000)', ascii(100_000)],
    ['long mixed', 'ünïcødé 😀 '.repeat(5_000)],
  ];
  it.each(cases)('%s: same length in bytes and same text back', async (_name, text) => {
    const row = await db.get(`SELECT ? AS t, length(CAST(? AS BLOB)) AS bytes`, [text, text]);
    expect(row).toEqual({ t: text, bytes: Buffer.byteLength(text, 'utf8') });
  });

  it('a lone surrogate is stored as U+FFFD, as the UTF-8 encoder writes it', async () => {
    const row = await db.get(`SELECT ? AS t`, ['a\ud800b']);
    expect(row).toEqual({ t: 'a\ufffdb' });
  });
});

describe('text read back', () => {
  it.each([
    ['a leading U+FEFF (byte order mark)', `SELECT char(65279) || 'A' AS t, CAST(x'efbbbf42' AS TEXT) AS u`],
    ['invalid UTF-8', `SELECT CAST(x'ff41c3' AS TEXT) AS t, CAST(x'eda080' AS TEXT) AS u, CAST(x'c0af' AS TEXT) AS v`],
    ['a column name starting with U+FEFF', `SELECT 1 AS "\ufeffname"`],
  ])('%s: as better-sqlite3 reads it', async (_name, sql) => {
    const reference = new Sqlite3(':memory:');
    try {
      expect(await db.get(sql)).toEqual(reference.prepare(sql).get());
    } finally {
      reference.close();
    }
  });

  it('after the wasm memory grew: text and names still read from the current memory', async () => {
    // A 64 MB string built inside SQLite grows the module's memory (a new ArrayBuffer).
    expect(await db.get(`SELECT length(printf('%.*c', 64000000, 'x')) AS n, 'héllo' AS t`)).toEqual({ n: 64_000_000, t: 'héllo' });
    expect(await db.get(`SELECT 'after' AS t, 'é' AS "ü"`)).toEqual({ t: 'after', ü: 'é' });
  });
});

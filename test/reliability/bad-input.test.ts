/**
 * The bad-input catalogue. Each entry checks the error (its class or code, and a message that
 * says what was wrong and what is accepted) and that nothing changed: not one byte of the store,
 * compared key by key before and after.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { open as openLmdbEnv } from 'lmdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ArgumentError,
  ClosedError,
  DatabaseNotFoundError,
  FutureVersionError,
  InvalidNameError,
  InvalidOptionError,
  KvError,
  MvdbError,
  PageCorruptError,
  ReadOnlyError,
  SqliteError,
  TagNotFoundError,
  UnsupportedError,
  UnsupportedFormatError,
  VersionTooOldError,
  VersionFormatError,
  deleteDatabase,
  listDatabases,
  open,
  type Database,
} from '../../src/index.ts';
import { MAX_COMMIT_PAGES, commitPages, openDatabase } from '../../src/engine/index.ts';
import { contentKey, metadataKey, pagePrefix } from '../../src/engine/keys.ts';
import { prefixEnd } from '../../src/kv/bytes.ts';
import { openKv } from '../../src/kv/index.ts';
import { FORMAT_KEY, STORE_FORMAT } from '../../src/kv/lmdb-store.ts';
import type { Kv } from '../../src/kv/types.ts';
import { dumpAll, errorOf, tempStore, uniqueName } from './helpers.ts';

const store = tempStore();
let kv: Kv;
let db: Database;
const ROWS = [
  { id: 1, v: 'one' },
  { id: 2, v: 'two' },
];

beforeAll(async () => {
  kv = await openKv(store.url);
  db = await open('main', { store: kv });
  await db.exec(`CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT UNIQUE); INSERT INTO t VALUES (1, 'one'), (2, 'two')`);
  const other = await open('acct2', { store: kv });
  await other.exec(`CREATE TABLE a(x); INSERT INTO a VALUES (42)`);
  await other.close();
});
afterAll(async () => {
  // The catalogue leaves the database as it found it, whole.
  expect(await db.query(`SELECT * FROM t ORDER BY id`)).toEqual(ROWS);
  expect(await db.query(`PRAGMA integrity_check`)).toEqual([{ integrity_check: 'ok' }]);
  await db.close();
  await kv.close();
  store.remove();
});

/** Keys added, removed or changed between two dumps (at most 10 shown). */
function storeChanges(before: string[], after: string[]): string[] {
  const a = new Set(before);
  const b = new Set(after);
  return [...before.filter((e) => !b.has(e)).map((e) => `- ${e.slice(0, 120)}`), ...after.filter((e) => !a.has(e)).map((e) => `+ ${e.slice(0, 120)}`)].slice(0, 10);
}

/** Runs `action`, which must be refused; checks that the store did not change at all; returns the error. */
async function refused(action: () => Promise<unknown>): Promise<Error> {
  const before = await dumpAll(kv);
  const error = await errorOf(action());
  expect(error, 'the call was refused').toBeInstanceOf(Error);
  expect(storeChanges(before, await dumpAll(kv)), 'the store changed').toEqual([]);
  return error as Error;
}

const POINT_FORMS = /accepted: a version \(20 hex digits\), a Date, "now", "<n> <unit> ago".*ISO 8601/;

describe('versions', () => {
  it.each([
    ['empty', ''],
    ['too short', '0'.repeat(19)],
    ['too long', '0'.repeat(21)],
    ['not hex', 'g'.repeat(20)],
    ['with a 0x prefix', `0x${'0'.repeat(18)}`],
    ['with trailing text', `${'0'.repeat(20)} junk`],
    ['a negative number', '-1'],
  ])('at() with a malformed version (%s) names the accepted forms', async (_what, text) => {
    const error = await refused(() => db.at(text));
    expect(error).toBeInstanceOf(ArgumentError);
    expect(error.message).toContain(`cannot read a point in time from ${JSON.stringify(text)}`);
    expect(error.message).toMatch(POINT_FORMS);
  });

  it('at() with something that is not a point in time at all names the accepted forms', async () => {
    for (const value of [42, null, {}, new Date('not a date')]) {
      const error = await refused(() => db.at(value as never));
      expect(error).toBeInstanceOf(ArgumentError);
      expect(error.message).toMatch(POINT_FORMS);
    }
  });

  it('log() and versionAt() with a malformed version say what a version looks like', async () => {
    for (const options of [{ from: 'xyz' }, { to: '0'.repeat(19) }]) {
      const error = await refused(() => db.log(options));
      expect(error).toBeInstanceOf(VersionFormatError);
      expect(error).toMatchObject({ code: 'VERSION_FORMAT' });
      expect(error.message).toMatch(/expected 20 hexadecimal characters \(8-byte commit version then 2-byte batch order\)/);
    }
    expect(await refused(() => db.versionAt('yesterday-ish'))).toBeInstanceOf(ArgumentError);
  });

  it('a version in the future is refused, naming the newest readable version', async () => {
    const error = await refused(() => db.at('ffffffffffffffff0000'));
    expect(error).toBeInstanceOf(FutureVersionError);
    expect(error).toMatchObject({ code: 'FUTURE_VERSION' });
    expect(error.message).toMatch(/^version ffffffffffffffff0000 is in the future: the store's newest readable version is [0-9a-f]{20}$/);
  });

  it('a version before the database existed is refused, naming its creation version', async () => {
    const error = await refused(() => db.at('00000000000000010000'));
    expect(error).toBeInstanceOf(ArgumentError);
    expect(error.message).toMatch(/did not exist at version 00000000000000010000: it was created at [0-9a-f]{20}/);
  });

  it('versions are accepted in upper case too (and normalized)', async () => {
    const snapshot = await db.at(db.version.toUpperCase());
    expect(snapshot.snapshot).toBe(db.version);
    expect(await snapshot.query(`SELECT * FROM t ORDER BY id`)).toEqual(ROWS);
    await snapshot.close();
  });

  it('an unknown tag is refused, naming the tag and how to list the tags', async () => {
    await db.tag('release');
    try {
      const error = await refused(() => db.at('tag:nope'));
      expect(error).toBeInstanceOf(TagNotFoundError);
      expect(error).toMatchObject({ code: 'TAG_NOT_FOUND', database: 'main', tag: 'nope' });
      expect(error.message).toBe('database "main" has no tag "nope"; list its tags with db.tags() or `mvdb tag main`');
    } finally {
      await db.untag('release');
    }
  });

  it('a version below the GC watermark is refused, naming the oldest readable version', async () => {
    const name = uniqueName('collected');
    const old = await open(name, { store: kv, retention: 0 });
    try {
      await old.exec(`CREATE TABLE t(x); INSERT INTO t VALUES (1)`);
      const first = old.version;
      await old.run(`UPDATE t SET x = 2`);
      // Retention 0: GC moves the watermark to the head, so every earlier version is collected.
      const { watermark } = await old.gc({ contentGraceMs: 0 });
      expect(watermark.to).toBe(old.version);
      for (const point of [first, first.toUpperCase()]) {
        const error = await refused(() => old.at(point));
        expect(error).toBeInstanceOf(VersionTooOldError);
        expect(error).toMatchObject({ code: 'VERSION_TOO_OLD', version: first, truncatedBefore: watermark.to });
        expect(error.message).toBe(
          `version ${first} is no longer readable: history before ${watermark.to} was garbage-collected; the oldest readable version is ${watermark.to}`,
        );
      }
      // The oldest readable version itself still reads.
      const oldest = await old.at(watermark.to);
      expect(await oldest.query(`SELECT x FROM t`)).toEqual([{ x: 2 }]);
      await oldest.close();
    } finally {
      await old.close();
      await deleteDatabase(name, { store: kv });
    }
  });
});

describe('database names', () => {
  const ACCEPTED = /a name is 1 to 128 characters of A-Z, a-z, 0-9, '\.', '_' and '-'/;
  it.each([
    ['empty', ''],
    ['a path', 'a/b'],
    ['a parent path', '../escape'],
    ['an absolute path', '/etc/passwd'],
    ['a Windows path', 'a\\b'],
    ['129 characters', 'x'.repeat(129)],
    ['a newline', 'a\nb'],
    ['a NUL', 'a\u0000b'],
    ['a tab', 'tab\tname'],
    ['a space', 'a b'],
    ['non-ASCII', 'café'],
    ['a URI', 'file:x?vfs=unix'],
    ['not a string', 42],
  ])('%s is refused by open(), deleteDatabase() and ATTACH', async (_what, name) => {
    for (const action of [
      () => open(name as string, { store: kv }),
      () => deleteDatabase(name as string, { store: kv }),
    ]) {
      const error = await refused(action);
      expect(error).toBeInstanceOf(InvalidNameError);
      expect(error).toMatchObject({ code: 'INVALID_NAME' });
      expect(error.message).toContain(`invalid database name ${JSON.stringify(name)}`);
      expect(error.message).toMatch(ACCEPTED);
    }
    if (typeof name === 'string' && name !== '' && !name.includes('\u0000')) {
      const error = await refused(() => db.exec(`ATTACH '${name.replaceAll("'", "''")}' AS other`));
      expect(error).toBeInstanceOf(InvalidNameError);
    }
  });

  it('names up to 128 characters work, opened and ATTACHed', async () => {
    const name = 'x'.repeat(128);
    const long = await open(name, { store: kv });
    try {
      await long.exec(`CREATE TABLE t(x); INSERT INTO t VALUES (1)`);
      expect(await long.query(`SELECT x FROM t`)).toEqual([{ x: 1 }]);
      await db.exec(`ATTACH '${name}' AS long`);
      expect(await db.query(`SELECT x FROM long.t`)).toEqual([{ x: 1 }]);
      await db.exec(`DETACH long`);
    } finally {
      await long.close();
      await deleteDatabase(name, { store: kv });
    }
  });

  it('a name that is a prefix (or an extension, or another case) of an existing one is a different, missing database', async () => {
    for (const name of ['acct', 'acct22', 'ACCT2', 'mai', 'main2', 'Main']) {
      for (const action of [() => open(name, { store: kv, create: false }), () => deleteDatabase(name, { store: kv })]) {
        const error = await refused(action);
        expect(error).toBeInstanceOf(DatabaseNotFoundError);
        expect(error.message).toBe(`database ${JSON.stringify(name)} does not exist`);
      }
    }
    expect((await listDatabases({ store: kv })).map((d) => d.name)).toEqual(['acct2', 'main']);
  });
});

describe('SQLite features the page store cannot support', () => {
  it.each([
    ['PRAGMA journal_mode = WAL', 'journal_mode=WAL', /journal_mode=WAL is not supported.*use a rollback journal mode \(DELETE, the default, TRUNCATE, PERSIST, MEMORY or OFF\)/],
    [`PRAGMA main.journal_mode = 'wal'`, 'journal_mode=WAL', /journal_mode=WAL is not supported/],
    ['PRAGMA page_size = 8192', 'page_size', /page_size cannot change to 8192: database "main" has 4096-byte pages, fixed when it was created/],
    ['PRAGMA locking_mode = EXCLUSIVE', 'locking_mode=EXCLUSIVE', /locking_mode=EXCLUSIVE is not supported.*keep locking_mode=NORMAL/],
    ['PRAGMA locking_mode = exclusive', 'locking_mode=EXCLUSIVE', /locking_mode=EXCLUSIVE is not supported/],
  ])('%s is refused', async (sql, feature, message) => {
    const error = await refused(() => db.exec(sql));
    expect(error).toBeInstanceOf(UnsupportedError);
    expect(error).toMatchObject({ code: 'UNSUPPORTED', feature });
    expect(error.message).toMatch(message);
    expect(await db.query(`PRAGMA journal_mode`)).toEqual([{ journal_mode: 'delete' }]);
    expect(await db.query(`PRAGMA locking_mode`)).toEqual([{ locking_mode: 'normal' }]);
  });

  it('a refused pragma inside a transaction rolls the whole transaction back', async () => {
    const error = await refused(() =>
      db.transaction(async (tx) => {
        await tx.run(`INSERT INTO t VALUES (3, 'three')`);
        await tx.run(`PRAGMA journal_mode = WAL`);
      }),
    );
    expect(error).toBeInstanceOf(UnsupportedError);
  });

  it('the page size a database was created with is fixed: open() with another is refused', async () => {
    const error = await refused(() => open('main', { store: kv, pageSize: 8192 }));
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error.message).toBe('invalid page size: database "main" has page size 4096, fixed at creation; asked for 8192');
    for (const pageSize of [1000, 2048, 131072, 5000]) {
      const bad = await refused(() => open('fresh', { store: kv, pageSize }));
      expect(bad.message).toMatch(/a page size is a power of two from 4096 to 65536 \(default 4096\)/);
    }
  });
});

describe('snapshots are read-only', () => {
  it.each([
    [`INSERT INTO t VALUES (3, 'three')`],
    [`UPDATE t SET v = 'x'`],
    [`DELETE FROM t`],
    [`CREATE TABLE u(x)`],
    [`DROP TABLE t`],
    [`PRAGMA user_version = 7`],
  ])('%s on a snapshot is refused with ReadOnlyError', async (sql) => {
    const snapshot = await db.at(db.version);
    try {
      for (const action of [() => snapshot.exec(sql), () => snapshot.transaction(async (tx) => void (await tx.run(sql)))]) {
        const error = await refused(action);
        expect(error).toBeInstanceOf(ReadOnlyError);
        expect(error).toMatchObject({ code: 'READ_ONLY' });
        expect(error.message).toMatch(/^database "main" is open read-only at version [0-9a-f]{20}: a snapshot cannot be written \(open the database itself to write\)$/);
      }
      expect(await snapshot.query(`SELECT * FROM t ORDER BY id`)).toEqual(ROWS);
    } finally {
      await snapshot.close();
    }
  });
});

describe('SQL errors', () => {
  it('a syntax error mid-transaction rolls back the statements before it', async () => {
    const error = await refused(() =>
      db.transaction(async (tx) => {
        await tx.run(`INSERT INTO t VALUES (3, 'three')`);
        await tx.run(`INSERT INTO t VALUS (4, 'four')`);
      }),
    );
    expect(error).toBeInstanceOf(SqliteError);
    expect(error).toMatchObject({ code: 'SQLITE_ERROR', errno: 1 });
    expect(error.message).toMatch(/near "VALUS": syntax error/);
  });

  it('a constraint violation mid-transaction rolls back the statements before it', async () => {
    const error = await refused(() =>
      db.transaction(async (tx) => {
        await tx.run(`UPDATE t SET v = 'uno' WHERE id = 1`);
        await tx.run(`INSERT INTO t VALUES (3, 'two')`);
      }),
    );
    expect(error).toMatchObject({ code: 'SQLITE_CONSTRAINT_UNIQUE', errno: 2067 });
    expect(error.message).toMatch(/UNIQUE constraint failed: t\.v/);
  });

  it('an exception thrown by the transaction callback rolls back and reaches the caller unchanged', async () => {
    const thrown = new Error('changed my mind');
    const error = await refused(() =>
      db.transaction(async (tx) => {
        await tx.run(`DELETE FROM t`);
        throw thrown;
      }),
    );
    expect(error).toBe(thrown);
  });

  it('a statement that fails part way changes nothing (statement atomicity)', async () => {
    // The third row violates the UNIQUE constraint after two rows went in.
    const error = await refused(() => db.run(`INSERT INTO t(id, v) VALUES (10, 'ten'), (11, 'eleven'), (12, 'one')`));
    expect(error).toMatchObject({ code: 'SQLITE_CONSTRAINT_UNIQUE' });
  });

  it('exec() stops at the first failing statement and commits nothing of an open BEGIN', async () => {
    const error = await refused(() => db.exec(`BEGIN; INSERT INTO t VALUES (3, 'three'); INSERT INTO nowhere VALUES (1); COMMIT`));
    expect(error.message).toMatch(/no such table: nowhere/);
    // As with sqlite3_exec, the transaction that BEGIN opened is still open: end it.
    await db.exec(`ROLLBACK`);
  });

  it('parameters that do not match the statement are refused, naming what is accepted', async () => {
    const cases: [() => Promise<unknown>, RegExp][] = [
      [() => db.run(`INSERT INTO t VALUES (?, ?)`, [3]), /the statement has 2 parameter\(s\); 1 value\(s\) were given/],
      [() => db.run(`INSERT INTO t VALUES (:id, :v)`, { id: 3 }), /no value for parameter :v \(give it as "v", or null for NULL\)/],
      [() => db.run(`INSERT INTO t VALUES (?, ?)`, [3, undefined as never]), /parameter 2 is undefined \(use null for NULL\)/],
      [() => db.run(`INSERT INTO t VALUES (?, ?)`, [3, { a: 1 } as never]), /cannot bind Object; accepted: null, number, bigint, string, boolean, Uint8Array or ArrayBuffer/],
      [() => db.run(`INSERT INTO t VALUES (?, ?)`, [2n ** 63n, 'x']), /9223372036854775808 does not fit in a 64-bit signed integer/],
      [() => db.query(`SELECT 1; SELECT 2`), /more than one statement: use exec\(\) to run several/],
      [() => db.exec(`INSERT INTO t VALUES (?, 'x')`), /exec\(\) takes no parameters/],
    ];
    for (const [action, message] of cases) {
      const error = await refused(action);
      expect(error).toBeInstanceOf(ArgumentError);
      expect(error.message).toMatch(message);
    }
  });
});

describe('values and limits', () => {
  it('a value over 1,000,000,000 bytes (SQLite\'s length limit) is refused with SQLITE_TOOBIG', async () => {
    for (const sql of [`SELECT zeroblob(1000000001) AS z`, `INSERT INTO t VALUES (9, zeroblob(1000000001))`]) {
      const error = await refused(() => db.run(sql));
      expect(error).toBeInstanceOf(SqliteError);
      expect(error).toMatchObject({ code: 'SQLITE_TOOBIG', errno: 18 });
      expect(error.message).toBe('string or blob too big');
    }
  });

  it('a commit of more than 60,000 pages is refused before anything is written', async () => {
    // Engine level: building a 240 MB transaction through SQLite would take minutes. The size is
    // checked before any page is hashed, so every entry may share one buffer.
    const ref = await openDatabase(kv, 'main', { create: false });
    const page = new Uint8Array(ref.pageSize);
    const pages = new Map(Array.from({ length: MAX_COMMIT_PAGES + 1 }, (_, i) => [i + 2, page] as const));
    const error = await refused(() => commitPages(ref, { snapshot: db.version, pages }));
    expect(error).toMatchObject({ code: 'COMMIT_TOO_LARGE' });
    expect(error.message).toBe(`a commit of ${MAX_COMMIT_PAGES + 1} pages is too large: at most ${MAX_COMMIT_PAGES} pages per commit`);
    expect(MAX_COMMIT_PAGES).toBe(60_000);
  });

  it('a large value (6 MB, a two-phase commit) is stored and read back exactly', async () => {
    const big = await open('big-values', { store: kv });
    try {
      const value = new Uint8Array(6 * 1024 * 1024).map((_, i) => (i * 2654435761) >>> 24);
      await big.exec(`CREATE TABLE b(v BLOB)`);
      await big.run(`INSERT INTO b VALUES (?)`, [value]);
      const [row] = (await big.query(`SELECT v FROM b`)) as { v: Uint8Array }[];
      expect(Buffer.from(row!.v).equals(Buffer.from(value))).toBe(true);
    } finally {
      await big.close();
      await deleteDatabase('big-values', { store: kv });
    }
  });
});

describe('options and closed handles', () => {
  it('bad open() options are refused, each naming what is accepted', async () => {
    const cases: [object, RegExp][] = [
      [{ store: kv, colour: 'blue' }, /unknown open\(\) option "colour"; accepted: store, create, pageSize, bigint, cachePages, retries, clientTag/],
      [{ store: kv, retries: -1 }, /retries must be a whole number >= 0, got -1/],
      [{ store: kv, cachePages: 0 }, /cachePages must be a positive whole number of pages, got 0/],
      [{ store: kv, create: 'yes' }, /create must be true or false/],
      [{ store: kv, clientTag: 'x'.repeat(256) }, /clientTag must be a string of at most 255 UTF-8 bytes/],
      [{ store: 42 }, /store must be a store URL \(a directory, lmdb:<dir>, memory:, memory:<name>, fdb:, fdb:<cluster file>\) or an open Kv/],
    ];
    for (const [options, message] of cases) {
      const error = await refused(() => open('main', options as never));
      expect(error).toBeInstanceOf(ArgumentError);
      expect(error.message).toMatch(message);
    }
    const scheme = await refused(() => open('main', { store: 'ftp://example.com/x' }));
    expect(scheme).toBeInstanceOf(KvError);
    expect(scheme.message).toMatch(/unknown store URL scheme "ftp:".*accepted: memory:, memory:<name>, lmdb:<dir>, a directory path \(lmdb\), fdb:, fdb:<cluster file>/);
  });

  it('bad call options are refused', async () => {
    expect((await refused(() => db.transaction(async () => 1, { retries: 1.5 }))).message).toMatch(/retries must be a whole number >= 0, got 1\.5/);
    expect((await refused(() => db.query(`SELECT 1`, [], { rowMode: 'rows' as never }))).message).toMatch(/rowMode must be 'object' or 'array', got "rows"/);
    const limit = await refused(() => db.log({ limit: 0 }));
    expect(limit).toBeInstanceOf(InvalidOptionError);
    expect(limit.message).toBe('invalid limit: 0; a limit is a positive whole number');
  });

  it('a closed Database refuses every call with ClosedError', async () => {
    const handle = await open('main', { store: kv });
    await handle.close();
    for (const action of [() => handle.query(`SELECT 1`), () => handle.exec(`DELETE FROM t`), () => handle.at(db.version), () => handle.log()]) {
      const error = await refused(async () => action());
      expect(error).toBeInstanceOf(ClosedError);
      expect(error.message).toBe('database "main" is closed');
    }
  });
});

describe('stores that are not (compatible) mvdb stores', () => {
  const fileHash = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
  const listing = (dir: string) => readdirSync(dir).sort();

  it('a store written by an incompatible version (another format marker) is refused, naming both formats, and left as it was', async () => {
    const other = tempStore();
    try {
      const dir = join(other.dir, 'store');
      const made = await open('x', { store: other.url });
      await made.exec(`CREATE TABLE t(x); INSERT INTO t VALUES (1)`);
      await made.close();
      const env = openLmdbEnv({ path: dir, maxDbs: 3, keyEncoding: 'binary', encoding: 'binary' });
      const meta = env.openDB({ name: 'meta', keyEncoding: 'binary', encoding: 'binary' });
      expect(String(meta.get(FORMAT_KEY))).toBe(STORE_FORMAT);
      await meta.put(FORMAT_KEY, Buffer.from('mvdb-kv-lmdb 99'));
      await env.close();
      const before = fileHash(join(dir, 'data.mdb'));

      const error = await errorOf(open('x', { store: other.url }));
      expect(error).toBeInstanceOf(KvError);
      expect(error).toMatchObject({ code: 2130 });
      expect((error as Error).message).toContain(`its format marker is "mvdb-kv-lmdb 99"`);
      expect((error as Error).message).toContain(`(format "${STORE_FORMAT}")`);
      expect(fileHash(join(dir, 'data.mdb'))).toBe(before);
    } finally {
      other.remove();
    }
  });

  it('a database whose metadata has another format is refused with UnsupportedFormatError, naming both formats, and left as it was', async () => {
    const name = uniqueName('future-format');
    const made = await open(name, { store: kv });
    await made.exec(`CREATE TABLE t(x); INSERT INTO t VALUES (1)`);
    await made.close();
    const key = metadataKey((await openDatabase(kv, name, { create: false })).prefix);
    const setMetadata = (value: Uint8Array) => kv.run(async (tx) => tx.set(key, value));
    const original = (await kv.run((tx) => tx.get(key)))!;
    const stored = JSON.parse(Buffer.from(original).toString('utf8')) as { format: number };
    expect(stored.format).toBe(1);
    await setMetadata(Buffer.from(JSON.stringify({ ...stored, format: 2 })));
    try {
      for (const action of [() => open(name, { store: kv }), () => open(name, { store: kv, create: false })]) {
        const error = await refused(action);
        expect(error).toBeInstanceOf(UnsupportedFormatError);
        expect(error).toBeInstanceOf(MvdbError);
        expect(error).toMatchObject({ code: 'UNSUPPORTED_FORMAT', found: 2, supported: 1 });
        expect(error.message).toBe('database metadata format 2 is not supported: this mvdb reads format 1; upgrade mvdb to open this database');
      }
    } finally {
      await setMetadata(original);
      await deleteDatabase(name, { store: kv });
    }
  });

  it('a directory holding other files, or a file, is refused and nothing is written there', async () => {
    const other = tempStore();
    try {
      const dir = join(other.dir, 'app');
      mkdirSync(dir);
      writeFileSync(join(dir, 'app.sqlite'), 'SQLite format 3\u0000');
      const error = await errorOf(open('x', { store: dir }));
      expect(error).toMatchObject({ code: 2130 });
      expect((error as Error).message).toMatch(/the directory holds other files \(app\.sqlite\); expected a new or empty directory, or one holding only the data\.mdb and lock\.mdb of an mvdb lmdb store/);
      expect(listing(dir)).toEqual(['app.sqlite']);

      const file = join(dir, 'app.sqlite');
      const notDir = await errorOf(open('x', { store: file }));
      expect(notDir).toMatchObject({ code: 2130 });
      expect((notDir as Error).message).toMatch(/it is a file, not a directory/);
      expect(readFileSync(file, 'utf8')).toBe('SQLite format 3\u0000');
    } finally {
      other.remove();
    }
  });
});

describe('a corrupted page in the store', () => {
  /** Rewrites the stored content of `page` as of the head of database `name` (undefined: deletes it). */
  async function corruptPage(name: string, page: number, mutate: (stored: Uint8Array) => Uint8Array | undefined): Promise<void> {
    const ref = await openDatabase(kv, name, { create: false });
    const tx = kv.createTransaction();
    const prefix = pagePrefix(ref.prefix, page);
    const [entry] = await tx.getRange(prefix, prefixEnd(prefix), { limit: 1, reverse: true });
    const key = contentKey(ref.prefix, entry![1]);
    const changed = mutate((await tx.get(key))!);
    if (changed === undefined) tx.clear(key);
    else tx.set(key, changed);
    await tx.commit();
  }

  async function victim(): Promise<{ name: string; table: number; before: string }> {
    const name = uniqueName('victim');
    const db = await open(name, { store: kv });
    await db.exec(`CREATE TABLE good(x); INSERT INTO good VALUES ('intact'); CREATE TABLE bad(id INTEGER PRIMARY KEY, secret TEXT)`);
    await db.run(`INSERT INTO bad VALUES (1, 'before')`);
    const before = db.version;
    await db.run(`UPDATE bad SET secret = 'after' WHERE id = 1`);
    const { rootpage } = (await db.get(`SELECT rootpage FROM sqlite_schema WHERE name = 'bad'`)) as { rootpage: number };
    await db.close();
    return { name, table: rootpage, before };
  }

  const expectCorrupt = (error: unknown, name: string, page: number) => {
    expect(error).toBeInstanceOf(PageCorruptError);
    expect(error).toBeInstanceOf(MvdbError);
    expect(error).toMatchObject({ code: 'PAGE_CORRUPT', database: name, page });
    expect((error as Error).message).toMatch(new RegExp(`^database "${name}": content of page ${page} \\(hash [0-9a-f]{64}\\) is corrupt or missing$`));
  };

  it.each<[string, (stored: Uint8Array) => Uint8Array | undefined]>([
    ['one flipped bit', (stored) => stored.map((b, i) => (i === 200 ? b ^ 1 : b))],
    ['a truncated value', (stored) => stored.subarray(0, stored.length - 1)],
    ['an unknown encoding byte', (stored) => stored.map((b, i) => (i === 0 ? 0x7f : b))],
    ['a missing value', () => undefined],
  ])('%s is reported as corruption, never served, and only where it is', async (_what, mutate) => {
    const { name, table, before } = await victim();
    await corruptPage(name, table, mutate);
    const db = await open(name, { store: kv });
    try {
      const commits = (await db.log()).length;
      for (const read of [
        () => db.query(`SELECT * FROM bad`),
        () => db.get(`SELECT secret FROM bad WHERE id = 1`),
        () => db.query(`PRAGMA integrity_check`),
        () => db.run(`UPDATE bad SET secret = 'overwritten' WHERE id = 1`),
      ]) {
        expectCorrupt(await errorOf(read()), name, table);
      }
      expect((await db.log()).length).toBe(commits); // nothing was built on the corrupt page
      // Pages that are intact still read, and so do older versions of the corrupt one.
      expect(await db.query(`SELECT x FROM good`)).toEqual([{ x: 'intact' }]);
      const older = await db.at(before);
      expect(await older.query(`SELECT secret FROM bad`)).toEqual([{ secret: 'before' }]);
      await older.close();
    } finally {
      await db.close();
      await deleteDatabase(name, { store: kv });
    }
  });

  it('a corrupted page 1 fails the first statement with the corruption, not garbage', async () => {
    const { name } = await victim();
    await corruptPage(name, 1, (stored) => stored.map((b, i) => (i === 50 ? b ^ 0x80 : b)));
    const db = await open(name, { store: kv });
    try {
      expectCorrupt(await errorOf(db.query(`SELECT x FROM good`)), name, 1);
    } finally {
      await db.close();
      await deleteDatabase(name, { store: kv });
    }
  });
});

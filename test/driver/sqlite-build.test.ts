/**
 * open()'s sqliteBuild option: which wa-sqlite build a Database's SQLite runs. 'sync' on stores with
 * synchronous transactions (memory, LMDB) by default, 'asyncify' on any other (FoundationDB); a bad value,
 * or 'sync' on a store that cannot run it, is a clear error that opens and creates nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ArgumentError, exportDatabase, importDatabase, listDatabases, open, type Database } from '../../src/index.ts';
import { SQLITE_BUILD_ENV } from '../../src/driver/sqlite-build.ts';
import { openMemoryKv } from '../../src/kv/memory.ts';
import { sqliteModuleStats, type Kv } from '../../vfs/index.ts';
import { tempStoreDir, uniqueName } from './helpers.ts';

/** A store with asynchronous transactions only, as FoundationDB. */
function asyncOnlyStore(): Kv {
  return { ...openMemoryKv(), createTransactionSync: undefined };
}

const envBefore = process.env[SQLITE_BUILD_ENV];
afterEach(() => {
  if (envBefore === undefined) delete process.env[SQLITE_BUILD_ENV];
  else process.env[SQLITE_BUILD_ENV] = envBefore;
});

describe('sqliteBuild', () => {
  // First in the file (a process of its own): no module of either build is idle yet.
  it("a closed connection's module serves the next connection of its own build only", async () => {
    const store = openMemoryKv();
    const use = async (db: Database, value: number): Promise<void> => {
      await db.exec('CREATE TABLE IF NOT EXISTS t(x)');
      await db.run('INSERT INTO t VALUES (?)', [value]);
      expect(await db.get('SELECT sum(x) AS s FROM t')).toEqual({ s: value });
    };
    const sync = await open(uniqueName('sync'), { store, sqliteBuild: 'sync' });
    await use(sync, 1);
    await sync.close(); // its module is idle now
    const before = { ...sqliteModuleStats };
    const asyncify = await open(uniqueName('asyncify'), { store, sqliteBuild: 'asyncify' });
    await use(asyncify, 2); // would break (or hang) on a sync-build module: its VFS may answer with a Promise
    expect(sqliteModuleStats).toEqual({ built: before.built + 1, reused: before.reused });
    await asyncify.close();
    const again = await open(uniqueName('sync'), { store, sqliteBuild: 'sync' });
    await use(again, 3);
    expect(sqliteModuleStats).toEqual({ built: before.built + 1, reused: before.reused + 1 });
    await again.close();
  });

  it('a store with synchronous transactions runs the sync build by default; MVDB_SQLITE_BUILD=asyncify changes that default, the option overrides both', async () => {
    const cases = [
      [undefined, undefined, 'sync'],
      ['asyncify', undefined, 'asyncify'],
      ['asyncify', 'sync', 'sync'],
      ['sync', 'asyncify', 'asyncify'],
    ] as const;
    for (const [env, sqliteBuild, expected] of cases) {
      if (env === undefined) delete process.env[SQLITE_BUILD_ENV];
      else process.env[SQLITE_BUILD_ENV] = env;
      const db = await open(uniqueName('default'), { store: 'memory:', ...(sqliteBuild !== undefined ? { sqliteBuild } : {}) });
      try {
        expect(db.sqliteBuild, `env ${env}, option ${sqliteBuild}`).toBe(expected);
        // ATTACH resolves its database at once on the sync build, through the store's synchronous transactions.
        await db.exec("CREATE TABLE t(x); INSERT INTO t VALUES (1), (2); ATTACH 'other' AS o; CREATE TABLE IF NOT EXISTS o.u(y); DELETE FROM o.u; INSERT INTO o.u VALUES (5)");
        expect(await db.query('SELECT (SELECT sum(x) FROM t) + (SELECT y FROM o.u) AS s')).toEqual([{ s: 8 }]);
      } finally {
        await db.close();
      }
    }
  });

  it('an LMDB store runs the sync build by default, and the Asyncify build when asked', async () => {
    delete process.env[SQLITE_BUILD_ENV];
    const lmdb = tempStoreDir();
    try {
      for (const [options, expected] of [[{}, 'sync'], [{ sqliteBuild: 'asyncify' as const }, 'asyncify']] as const) {
        const db = await open('same', { store: lmdb.url, ...options });
        try {
          expect(db.sqliteBuild).toBe(expected);
          await db.exec('CREATE TABLE IF NOT EXISTS t(x)');
          await db.run('INSERT INTO t VALUES (?)', [expected]);
          expect(await db.query('SELECT x FROM t ORDER BY rowid')).toEqual(expected === 'sync' ? [{ x: 'sync' }] : [{ x: 'sync' }, { x: 'asyncify' }]);
        } finally {
          await db.close();
        }
      }
    } finally {
      lmdb.remove();
    }
  });

  it('a value other than sync or asyncify is refused with the accepted values, and nothing is created', async () => {
    const store = openMemoryKv();
    for (const bad of ['fast', 'SYNC', '', 1, true, null]) {
      const name = uniqueName('bad');
      await expect(open(name, { store, sqliteBuild: bad as never })).rejects.toThrow(
        new ArgumentError(`sqliteBuild must be 'sync' or 'asyncify', got ${JSON.stringify(bad)}`),
      );
    }
    expect(await listDatabases({ store })).toEqual([]);
  });

  it('a store without synchronous transactions (as FoundationDB) runs the Asyncify build by default, also when MVDB_SQLITE_BUILD asks for sync', async () => {
    const store = asyncOnlyStore();
    for (const env of [undefined, 'sync', 'asyncify']) {
      if (env === undefined) delete process.env[SQLITE_BUILD_ENV];
      else process.env[SQLITE_BUILD_ENV] = env;
      const db = await open(uniqueName('async-only'), { store });
      try {
        expect(db.sqliteBuild).toBe('asyncify');
        await db.exec("CREATE TABLE t(x); INSERT INTO t VALUES (1), (2); ATTACH 'other' AS o; CREATE TABLE IF NOT EXISTS o.u(y); DELETE FROM o.u; INSERT INTO o.u VALUES (5)");
        expect(await db.query('SELECT (SELECT sum(x) FROM t) + (SELECT y FROM o.u) AS s')).toEqual([{ s: 8 }]);
      } finally {
        await db.close();
      }
    }
  });

  it("asking for 'sync' on a store without synchronous transactions is an error naming the store, and nothing is created", async () => {
    const store = asyncOnlyStore();
    const name = uniqueName('refused');
    await expect(open(name, { store, sqliteBuild: 'sync' })).rejects.toThrow(
      /sqliteBuild 'sync' needs a store with synchronous transactions \(memory:, lmdb:\); "memory:" has none/,
    );
    expect(await listDatabases({ store })).toEqual([]);
    // A FoundationDB URL is refused before any connection is tried (none is configured here).
    await expect(open(name, { store: 'fdb:', sqliteBuild: 'sync' })).rejects.toThrow(/"fdb:" has none: use 'asyncify'/);
  });

  it('MVDB_SQLITE_BUILD with a value other than sync or asyncify makes open() fail with the accepted values', async () => {
    process.env[SQLITE_BUILD_ENV] = 'turbo';
    await expect(open(uniqueName('env'), { store: 'memory:' })).rejects.toThrow(
      new ArgumentError(`${SQLITE_BUILD_ENV} must be 'sync' or 'asyncify' (or unset), got "turbo"`),
    );
  });

  it('a bad MVDB_SQLITE_BUILD makes importDatabase and exportDatabase fail before they touch the store', async () => {
    const store = 'memory:' + uniqueName('env-io');
    const source = await open('source', { store, create: true });
    await source.exec('CREATE TABLE t(x); INSERT INTO t VALUES (1)');
    const chunks: Uint8Array[] = [];
    await exportDatabase('source', (bytes) => void chunks.push(bytes), { store });
    await source.close();
    process.env[SQLITE_BUILD_ENV] = 'turbo';
    const phases: string[] = [];
    const refused = /MVDB_SQLITE_BUILD must be 'sync' or 'asyncify' \(or unset\), got "turbo"/;
    await expect(importDatabase('copy', Buffer.concat(chunks), { store, onProgress: (p) => void phases.push(p.phase) })).rejects.toThrow(refused);
    expect(phases).toEqual([]);
    const written: Uint8Array[] = [];
    await expect(exportDatabase('source', (bytes) => void written.push(bytes), { store, at: 'now' })).rejects.toThrow(refused);
    expect(written).toEqual([]);
    delete process.env[SQLITE_BUILD_ENV];
    expect((await listDatabases({ store })).map((d) => d.name)).toEqual(['source']);
  });

  it('asyncify, asked for, is what a store with synchronous transactions runs too', async () => {
    const db = await open(uniqueName('asked'), { store: 'memory:', sqliteBuild: 'asyncify' });
    try {
      expect(db.sqliteBuild).toBe('asyncify');
      await db.exec('CREATE TABLE t(x)');
      await db.run('INSERT INTO t VALUES (?)', [42]);
      const snapshot = await db.at(db.version);
      expect(snapshot.sqliteBuild).toBe('asyncify');
      expect(await snapshot.get('SELECT x FROM t')).toEqual({ x: 42 });
      await snapshot.close();
    } finally {
      await db.close();
    }
  });
});

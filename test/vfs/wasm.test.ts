/**
 * SQLite modules of both wa-sqlite builds: the one the driver's open() prepares ahead goes to exactly one
 * connection, and a module of one build is never handed out for the other (a VFS written for one build
 * breaks SQLite on the other).
 */
import { describe, expect, it } from 'vitest';
import { SQLITE_BUILDS, createSqliteModule, prepareFirstSqliteModule, releaseSqliteModule, type SqliteModule } from '../../vfs/index.ts';

async function selectOne(m: SqliteModule, sql: string): Promise<unknown[]> {
  const db = await m.sqlite3.open_v2(':memory:');
  const rows: unknown[] = [];
  await m.sqlite3.exec(db, sql, (row) => void rows.push(row[0]));
  await m.sqlite3.close(db);
  return rows;
}

/** Whether the module runs the Asyncify build: only that glue defines the dynCall_* entries (it rewinds through them). */
const isAsyncify = (m: SqliteModule): boolean => 'dynCall_v' in m.module;

describe.each(SQLITE_BUILDS)('SQLite modules, %s build', (build) => {
  it('hands the module prepared ahead to one caller only; every caller gets its own working SQLite of the build asked for', async () => {
    prepareFirstSqliteModule(build);
    prepareFirstSqliteModule(build); // a second open() prepares nothing more
    const [a, b, c] = await Promise.all([createSqliteModule(build), createSqliteModule(build), createSqliteModule(build)]);
    // One module per connection: two connections suspending on one Asyncify module would corrupt it.
    expect(new Set([a.module, b.module, c.module]).size).toBe(3);
    expect(new Set([a.module.HEAPU8.buffer, b.module.HEAPU8.buffer, c.module.HEAPU8.buffer]).size).toBe(3);
    expect([a, b, c].map((m) => [m.build, isAsyncify(m)])).toEqual(Array(3).fill([build, build === 'asyncify']));
    const results = await Promise.all([a, b, c].map((m, i) => m.serializer.run(() => selectOne(m, `SELECT ${i} + 40`))));
    expect(results).toEqual([[40], [41], [42]]);
  });
});

describe('idle modules', () => {
  it('a module given back serves the next caller of its own build only', async () => {
    const sync = await createSqliteModule('sync');
    const asyncify = await createSqliteModule('asyncify');
    releaseSqliteModule(sync, 'none');
    releaseSqliteModule(asyncify, 'none');
    const nextAsyncify = await createSqliteModule('asyncify');
    const nextSync = await createSqliteModule('sync');
    expect(nextAsyncify.module).toBe(asyncify.module);
    expect(nextSync.module).toBe(sync.module);
    expect([isAsyncify(nextSync), isAsyncify(nextAsyncify)]).toEqual([false, true]);
    // With only a sync module idle, an Asyncify caller gets a new module, not that one.
    releaseSqliteModule(nextSync, 'none');
    const another = await createSqliteModule('asyncify');
    expect(another.module).not.toBe(sync.module);
    expect(another.build).toBe('asyncify');
    expect(isAsyncify(another)).toBe(true);
    expect(await (await createSqliteModule('sync')).serializer.run(() => selectOne(sync, 'SELECT 7'))).toEqual([7]);
  });
});

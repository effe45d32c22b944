/** SQLite modules: the one the driver's open() prepares ahead goes to exactly one connection. */
import { describe, expect, it } from 'vitest';
import { createSqliteModule, prepareFirstSqliteModule, type SqliteModule } from '../../vfs/index.ts';

async function selectOne(m: SqliteModule, sql: string): Promise<unknown[]> {
  const db = await m.sqlite3.open_v2(':memory:');
  const rows: unknown[] = [];
  await m.sqlite3.exec(db, sql, (row) => void rows.push(row[0]));
  await m.sqlite3.close(db);
  return rows;
}

describe('SQLite modules', () => {
  it('hands the module prepared ahead to one caller only; every caller gets its own working SQLite', async () => {
    prepareFirstSqliteModule();
    prepareFirstSqliteModule(); // a second open() prepares nothing more
    const [a, b, c] = await Promise.all([createSqliteModule(), createSqliteModule(), createSqliteModule()]);
    // One Asyncify module per connection: two connections suspending on one module would corrupt it.
    expect(new Set([a.module, b.module, c.module]).size).toBe(3);
    expect(new Set([a.module.HEAPU8.buffer, b.module.HEAPU8.buffer, c.module.HEAPU8.buffer]).size).toBe(3);
    const results = await Promise.all(
      [a, b, c].map((m, i) => m.serializer.run(() => selectOne(m, `SELECT ${i} + 40`))),
    );
    expect(results).toEqual([[40], [41], [42]]);
  });
});

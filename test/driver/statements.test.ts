import { afterEach, describe, expect, it } from 'vitest';
import { open, type Database } from '../../src/index.ts';
import { uniqueName } from './helpers.ts';

const dbs: Database[] = [];
afterEach(async () => {
  for (const db of dbs.splice(0)) await db.close();
});

async function fresh(): Promise<Database> {
  const db = await open(uniqueName('stmt'), { store: 'memory:' });
  dbs.push(db);
  return db;
}

describe('cached statements', () => {
  it('a cached SELECT * shows the columns of the schema it runs against, after a change by this or another connection', async () => {
    const db = await fresh();
    await db.exec(`CREATE TABLE t(a, b); INSERT INTO t VALUES (1, 2)`);
    expect(await db.query(`SELECT * FROM t`)).toEqual([{ a: 1, b: 2 }]);
    await db.exec(`ALTER TABLE t RENAME COLUMN a TO x; ALTER TABLE t ADD COLUMN c DEFAULT 3`);
    expect(await db.query(`SELECT * FROM t`)).toEqual([{ x: 1, b: 2, c: 3 }]);
    expect((await db.execute(`SELECT * FROM t`)).columns).toEqual(['x', 'b', 'c']);

    const other = await open(db.name, { store: 'memory:' });
    dbs.push(other);
    await other.exec(`DROP TABLE t; CREATE TABLE t(only)`);
    await other.run(`INSERT INTO t VALUES ('z')`);
    expect(await db.query(`SELECT * FROM t`)).toEqual([{ only: 'z' }]);
    expect(await db.query(`SELECT * FROM t WHERE 0`, [], { rowMode: 'array' })).toEqual([]);
    expect(await db.columns(`SELECT * FROM t`)).toEqual(['only']);
  });

  it('column names handed out are the caller’s own: changing them changes nothing later', async () => {
    const db = await fresh();
    await db.exec(`CREATE TABLE t(a); INSERT INTO t VALUES (1)`);
    const first = await db.execute(`SELECT a FROM t`);
    first.columns[0] = 'mutated';
    first.columns.push('extra');
    expect(await db.execute(`SELECT a FROM t`)).toMatchObject({ columns: ['a'], rows: [[1]] });
    expect(await db.get(`SELECT a FROM t`)).toEqual({ a: 1 });
  });

  it('changes counts only what this statement changed, and a SELECT reports none', async () => {
    const db = await fresh();
    await db.exec(`CREATE TABLE t(a)`);
    expect((await db.run(`INSERT INTO t VALUES (1), (2), (3)`)).changes).toBe(3);
    expect((await db.run(`SELECT * FROM t`)).changes).toBe(0);
    expect((await db.run(`UPDATE t SET a = a + 1 WHERE a > 1`)).changes).toBe(2);
    expect((await db.run(`DELETE FROM t WHERE a > 100`)).changes).toBe(0);
  });
});

/**
 * db.diff against a differential computed by plain SQL at both versions: random workloads over a rowid
 * table with an INTEGER PRIMARY KEY and an index, a table with implicit rowids, a WITHOUT ROWID table,
 * rows large enough to overflow their page, schema changes and VACUUM; for random pairs of versions (in
 * both directions) the tables, inserted/updated/deleted rows and changed indexes must match what reading
 * every row at both versions says. Plus: a one-row change in a big table reads a small part of it.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { open, type Database, type DatabaseDiff, type Row } from '../../src/index.ts';
import { openKv } from '../../src/kv/index.ts';
import type { Kv, KvReader, KvTransaction } from '../../src/kv/types.ts';
import { uniqueName } from '../driver/helpers.ts';

const SCHEMA = [
  'CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT, qty INTEGER)',
  'CREATE INDEX item_name ON item(name)',
  'CREATE TABLE note(body TEXT)',
  'CREATE TABLE kv(k TEXT PRIMARY KEY, v) WITHOUT ROWID',
];

type Op =
  | { op: 'insertItem'; id: number; name: number; qty: number }
  | { op: 'updateItem'; id: number; qty: number }
  | { op: 'renameItem'; id: number; name: number }
  | { op: 'deleteItems'; below: number }
  | { op: 'insertNote'; size: number }
  | { op: 'updateNote'; pick: number; size: number }
  | { op: 'deleteNote'; pick: number }
  | { op: 'putKv'; k: number; v: number }
  | { op: 'deleteKv'; k: number }
  | { op: 'bulk'; from: number }
  | { op: 'schema'; which: number }
  | { op: 'vacuum' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('insertItem' as const), id: fc.nat(300), name: fc.nat(20), qty: fc.nat(9) }), weight: 5 },
  { arbitrary: fc.record({ op: fc.constant('updateItem' as const), id: fc.nat(300), qty: fc.nat(9) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('renameItem' as const), id: fc.nat(300), name: fc.nat(20) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('deleteItems' as const), below: fc.nat(60) }), weight: 1 },
  // Sizes past a page make overflow pages.
  { arbitrary: fc.record({ op: fc.constant('insertNote' as const), size: fc.oneof(fc.nat(100), fc.integer({ min: 4000, max: 12000 })) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('updateNote' as const), pick: fc.nat(), size: fc.oneof(fc.nat(100), fc.integer({ min: 4000, max: 9000 })) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('deleteNote' as const), pick: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('putKv' as const), k: fc.nat(50), v: fc.nat(1000) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('deleteKv' as const), k: fc.nat(50) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('bulk' as const), from: fc.nat(5000) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('schema' as const), which: fc.nat(3) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('vacuum' as const) }), weight: 1 },
);

async function apply(db: Database, step: Op, seq: number): Promise<void> {
  switch (step.op) {
    case 'insertItem':
      return void (await db.run('INSERT OR REPLACE INTO item VALUES (?, ?, ?)', [step.id, `n${step.name}`, step.qty]));
    case 'updateItem':
      return void (await db.run('UPDATE item SET qty = ? WHERE id = ?', [step.qty, step.id]));
    case 'renameItem':
      return void (await db.run('UPDATE item SET name = ? WHERE id = ?', [`n${step.name}`, step.id]));
    case 'deleteItems':
      return void (await db.run('DELETE FROM item WHERE id < ?', [step.below]));
    case 'insertNote':
      return void (await db.run('INSERT INTO note(body) VALUES (?)', [`${seq}:`.padEnd(step.size, String(seq % 10))]));
    case 'updateNote':
      return void (await db.run(
        'UPDATE note SET body = ? WHERE rowid = (SELECT rowid FROM note ORDER BY rowid LIMIT 1 OFFSET ?)',
        [`${seq}u`.padEnd(step.size, 'u'), step.pick % 8],
      ));
    case 'deleteNote':
      return void (await db.run('DELETE FROM note WHERE rowid = (SELECT rowid FROM note ORDER BY rowid LIMIT 1 OFFSET ?)', [step.pick % 8]));
    case 'putKv':
      return void (await db.run('INSERT OR REPLACE INTO kv VALUES (?, ?)', [`k${step.k}`, step.v]));
    case 'deleteKv':
      return void (await db.run('DELETE FROM kv WHERE k = ?', [`k${step.k}`]));
    case 'bulk':
      // Enough rows to split pages and grow interior levels.
      return void (await db.run(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 199) INSERT OR REPLACE INTO item SELECT 1000 + ? + i, 'bulk' || i, i % 7 FROM n",
        [step.from],
      ));
    case 'schema': {
      const ddl = [
        'CREATE INDEX IF NOT EXISTS item_qty ON item(qty)',
        'DROP INDEX IF EXISTS item_qty',
        'CREATE TABLE IF NOT EXISTS extra(id INTEGER PRIMARY KEY, x); INSERT INTO extra(x) VALUES (1), (2)',
        'DROP TABLE IF EXISTS extra',
      ][step.which]!;
      return db.exec(ddl);
    }
    case 'vacuum':
      return db.exec('VACUUM');
  }
}

/** The reference: every row of every table at both versions, matched by rowid (or primary key). */
async function referenceDiff(db: Database, from: string, to: string) {
  const read = async (version: string) => {
    const snapshot = await db.at(version);
    try {
      const tables = await snapshot.query(
        "SELECT l.name AS name, l.wr AS wr FROM pragma_table_list l WHERE l.schema = 'main' AND l.type = 'table' AND l.name NOT LIKE 'sqlite_%'",
      );
      const out = new Map<string, Map<string, Row>>();
      for (const { name, wr } of tables) {
        const key = Number(wr) === 1 ? 'k' : '_rowid_';
        const rows = await snapshot.query(`SELECT ${key} AS __key, * FROM "${String(name)}"`, undefined, { bigint: true });
        out.set(String(name), new Map(rows.map(({ __key, ...row }) => [String(__key), row])));
      }
      const indexes = await snapshot.query("SELECT name, tbl_name AS tbl FROM sqlite_schema WHERE type = 'index'");
      return { tables: out, indexes: new Map(indexes.map((i) => [String(i.name), String(i.tbl)])) };
    } finally {
      await snapshot.close();
    }
  };
  const [a, b] = [await read(from), await read(to)];
  const tables: Record<string, { inserted: string[]; updated: string[]; deleted: string[]; change: string }> = {};
  for (const name of new Set([...a.tables.keys(), ...b.tables.keys()])) {
    const left = a.tables.get(name) ?? new Map<string, Row>();
    const right = b.tables.get(name) ?? new Map<string, Row>();
    const inserted = [...right.keys()].filter((k) => !left.has(k)).sort();
    const deleted = [...left.keys()].filter((k) => !right.has(k)).sort();
    const updated = [...right.keys()].filter((k) => left.has(k) && JSON.stringify(left.get(k), big) !== JSON.stringify(right.get(k), big)).sort();
    const change = !a.tables.has(name) ? 'added' : !b.tables.has(name) ? 'dropped' : 'changed';
    if (inserted.length + updated.length + deleted.length > 0 || change !== 'changed') tables[name] = { inserted, updated, deleted, change };
  }
  return { tables, indexesA: a.indexes, indexesB: b.indexes };
}

const big = (_: string, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v);

/** db.diff in the reference's shape: row keys as text (rowid or primary key). */
function shapeOf(diff: DatabaseDiff) {
  const tables: Record<string, { inserted: string[]; updated: string[]; deleted: string[]; change: string }> = {};
  const keyText = (key: Row) => String(Object.values(key)[0]);
  for (const t of diff.tables) {
    tables[t.name] = {
      inserted: t.inserted.map((r) => keyText(r.key)).sort(),
      updated: t.updated.map((r) => keyText(r.key)).sort(),
      deleted: t.deleted.map((r) => keyText(r.key)).sort(),
      change: t.change,
    };
  }
  return tables;
}

describe('diff', () => {
  it('matches a differential computed by plain SQL at both versions', async () => {
    let compared = 0;
    let withRows = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 4, maxLength: 25 }), fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 3, maxLength: 6 }), async (ops, pairs) => {
        // bigint, so rowids read back exactly; note's implicit rowid is its key (shown as "rowid").
        const db = await open(uniqueName('diff'), { store: 'memory:diff-tests', bigint: true });
        try {
          for (const sql of SCHEMA) await db.exec(sql);
          const versions = [await db.head()];
          for (const [i, step] of ops.entries()) {
            await apply(db, step, i);
            const v = await db.head();
            if (v !== versions.at(-1)) versions.push(v);
          }
          for (const [x, y] of pairs) {
            const from = versions[x % versions.length]!;
            const to = versions[y % versions.length]!;
            const diff = await db.diff(from, to);
            const reference = await referenceDiff(db, from, to);
            expect(shapeOf(diff), `diff ${from} -> ${to}`).toEqual(reference.tables);
            // Old and new values are the rows at each version.
            for (const t of diff.tables) {
              for (const u of t.updated) expect(JSON.stringify(u.old, big)).not.toBe(JSON.stringify(u.new, big));
            }
            // Every index whose table's rows were inserted or deleted is reported (no false negatives).
            for (const [index, table] of reference.indexesB) {
              const t = reference.tables[table];
              if (reference.indexesA.has(index) && t && t.inserted.length + t.deleted.length > 0) {
                expect(diff.indexes.map((i) => i.name), `index ${index}`).toContain(index);
              }
              if (!reference.indexesA.has(index)) expect(diff.indexes).toContainEqual({ name: index, table, change: 'added' });
            }
            compared++;
            if (diff.tables.length > 0) withRows++;
          }
        } finally {
          await db.close();
        }
      }),
      { numRuns: 12 },
    );
    expect(withRows).toBeGreaterThan(compared / 4);
  });

  it('reports updated rows with their old and new values, by INTEGER PRIMARY KEY, rowid or primary key', async () => {
    const db = await open(uniqueName('diff-values'), { store: 'memory:diff-tests' });
    try {
      for (const sql of SCHEMA) await db.exec(sql);
      await db.exec("INSERT INTO item VALUES (1, 'a', 1), (2, 'b', 2); INSERT INTO note VALUES ('x'); INSERT INTO kv VALUES ('k1', 1)");
      const from = await db.head();
      await db.exec("UPDATE item SET qty = 20 WHERE id = 2; INSERT INTO note VALUES ('y'); DELETE FROM kv; INSERT INTO kv VALUES ('k2', x'00ff')");
      const diff = await db.diff(from);
      expect(diff.to).toBe(await db.head());
      expect(diff.tables).toEqual([
        {
          name: 'item',
          change: 'changed',
          key: ['id'],
          inserted: [],
          updated: [{ key: { id: 2 }, old: { id: 2, name: 'b', qty: 2 }, new: { id: 2, name: 'b', qty: 20 } }],
          deleted: [],
          counts: { inserted: 0, updated: 1, deleted: 0 },
        },
        {
          name: 'note',
          change: 'changed',
          key: ['rowid'],
          inserted: [{ key: { rowid: 2 }, row: { rowid: 2, body: 'y' } }],
          updated: [],
          deleted: [],
          counts: { inserted: 1, updated: 0, deleted: 0 },
        },
        {
          name: 'kv',
          change: 'changed',
          key: ['k'],
          inserted: [{ key: { k: 'k2' }, row: { k: 'k2', v: new Uint8Array([0, 255]) } }],
          updated: [],
          deleted: [{ key: { k: 'k1' }, row: { k: 'k1', v: 1 } }],
          counts: { inserted: 1, updated: 0, deleted: 1 },
        },
      ]);
      expect(diff.indexes).toEqual([]); // item_name: qty changed, name did not
      // maxRows lists fewer; the counts stay complete.
      await db.exec("WITH RECURSIVE n(i) AS (SELECT 10 UNION ALL SELECT i + 1 FROM n WHERE i < 59) INSERT INTO item SELECT i, 'x', 0 FROM n");
      const limited = await db.diff(from, undefined, { maxRows: 5 });
      const item = limited.tables.find((t) => t.name === 'item')!;
      expect(item.inserted).toHaveLength(5);
      expect(item.counts.inserted).toBe(50);
      expect(limited.indexes).toEqual([{ name: 'item_name', table: 'item', change: 'changed' }]);
      // Nothing changed: nothing reported.
      expect(await db.diff(await db.head(), await db.head())).toMatchObject({ pages: 0, tables: [], indexes: [], schema: [] });
    } finally {
      await db.close();
    }
  });

  it('a one-row change in a big table reads a small part of the database', async () => {
    const counting = countingKv(await openKv('memory:'));
    const db = await open(uniqueName('diff-cheap'), { store: counting });
    try {
      await db.exec(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE u(x); INSERT INTO u VALUES (1);" +
          "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) INSERT INTO t SELECT i, printf('%0100d', i) FROM n",
      );
      const pages = Number((await db.get('PRAGMA page_count'))!.page_count);
      const from = await db.head();
      await db.run("UPDATE t SET v = 'changed' WHERE id = 12345");
      counting.gets = 0;
      const diff = await db.diff(from);
      expect(diff.tables.map((t) => [t.name, t.counts])).toEqual([['t', { inserted: 0, updated: 1, deleted: 0 }]]);
      expect(pages).toBeGreaterThan(500);
      // Page contents fetched: interior pages, the changed leaf and its neighbours, schema, not the table.
      expect(counting.gets).toBeLessThan(pages / 10);
    } finally {
      await db.close();
    }
  });
});

/** A Kv that counts reads of page contents (point reads of a page's size or more). */
function countingKv(kv: Kv): Kv & { gets: number } {
  const counter = { gets: 0 };
  const reader = (r: KvReader): KvReader => ({
    get: async (key) => {
      const value = await r.get(key);
      if (value !== undefined && value.length >= 4096) counter.gets++;
      return value;
    },
    getRange: (b, e, o) => r.getRange(b, e, o),
  });
  const wrap = (tx: KvTransaction): KvTransaction =>
    new Proxy(tx, {
      get(target, prop) {
        if (prop === 'snapshot') return () => reader(target.snapshot());
        if (prop === 'get') return reader(target).get;
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  return Object.assign(counter, {
    get url() {
      return kv.url;
    },
    createTransaction: (options?: Parameters<Kv['createTransaction']>[0]) => wrap(kv.createTransaction(options)),
    run: <T>(body: (tx: KvTransaction) => Promise<T>, options?: Parameters<Kv['run']>[1]) => kv.run((tx) => body(wrap(tx)), options),
    close: () => kv.close(),
  });
}

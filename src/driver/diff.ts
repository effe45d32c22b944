/**
 * What changed between two versions of a database: schema objects, indexes, and the rows of tables.
 *
 * Cheap for a small change in a big database: the engine names the pages whose content differs (from the
 * changelog, compared by content hash); each b-tree's interior pages at both versions say which tree owns
 * those pages and which rowids a changed leaf may hold (btree.ts), so only the trees that changed are
 * compared, and only over the rowid ranges of their changed leaves. A row that differs always sits on a
 * leaf that changed or that joined or left its tree, so nothing is missed. Pages the walk cannot place
 * (overflow pages of large rows) make every table compare in full; so does a schema change of a table.
 * Rows are read through two read-only snapshots, in rowid order, a chunk at a time.
 */

import {
  differingPages,
  headerPageCount,
  readPages,
  type DatabaseRef,
  type Version,
} from '../../vfs/index.ts';
import { freelistPages, walkTree, type PageReader, type RowidRange } from './btree.ts';
import type { Database } from './database.ts';
import type { Row, SqlValue } from './values.ts';

export type Change = 'added' | 'dropped' | 'changed';

export interface RowChange {
  /** The row's identity: its INTEGER PRIMARY KEY (or rowid), or a WITHOUT ROWID table's primary key. */
  key: Row;
  row: Row;
}

export interface RowUpdate {
  key: Row;
  old: Row;
  new: Row;
}

export interface TableDiff {
  name: string;
  change: Change;
  /** The columns of `key`. */
  key: string[];
  inserted: RowChange[];
  updated: RowUpdate[];
  deleted: RowChange[];
  /** How many rows each kind has (the lists stop at `maxRows`). */
  counts: { inserted: number; updated: number; deleted: number };
}

export interface IndexDiff {
  name: string;
  table: string;
  change: Change;
}

export interface SchemaDiff {
  type: string;
  name: string;
  change: Change;
  /** The object's SQL at each version (null where it does not exist, or has none). */
  before: string | null;
  after: string | null;
}

export interface DatabaseDiff {
  from: Version;
  to: Version;
  /** Schema objects (tables, indexes, views, triggers) added, dropped or redefined. */
  schema: SchemaDiff[];
  /** Tables whose rows differ, with the rows. */
  tables: TableDiff[];
  /** Indexes whose b-tree changed (or that were added or dropped). */
  indexes: IndexDiff[];
  /** Pages whose content differs between the versions. */
  pages: number;
}

export interface DiffOptions {
  /** At most this many rows listed per table and kind (the counts are always complete). Default: all. */
  maxRows?: number;
}

/** The two sides of a diff: read-only snapshots and their pages. */
export interface DiffSides {
  ref: DatabaseRef;
  from: { version: Version; db: Database };
  to: { version: Version; db: Database };
  /** Integers as bigints in the result (otherwise numbers where they are safe). */
  bigint: boolean;
}

interface SchemaEntry {
  type: string;
  name: string;
  table: string;
  root: number;
  sql: string | null;
}

/** Where the pages of one version belong. */
interface Layout {
  pageCount: number;
  /** Page -> owning b-tree (by schema name; 'sqlite_schema' for page 1's tree). */
  owner: Map<number, string>;
  /** Leaves per b-tree, with their rowid ranges. */
  leaves: Map<string, Map<number, RowidRange>>;
  free: Set<number>;
}

const ROW_CHUNK = 500;

export async function diffVersions(sides: DiffSides, options: DiffOptions = {}): Promise<DatabaseDiff> {
  const { ref, from, to } = sides;
  const readerAt = (version: Version): PageReader => (pages) => readPages(ref, pages, version);
  const [pageOneA, pageOneB] = await Promise.all([readerAt(from.version)([1]), readerAt(to.version)([1])]);
  const countA = pageOneA[0] ? headerPageCount(pageOneA[0]) : 0;
  const countB = pageOneB[0] ? headerPageCount(pageOneB[0]) : 0;
  const changed = await differingPages(ref, from.version, to.version, Math.max(countA, countB));
  const result: DatabaseDiff = { from: from.version, to: to.version, schema: [], tables: [], indexes: [], pages: changed.length };
  if (changed.length === 0) return result;

  const [schemaA, schemaB] = await Promise.all([readSchema(from.db), readSchema(to.db)]);
  const [layoutA, layoutB] = await Promise.all([
    layoutOf(readerAt(from.version), schemaA, pageOneA[0], countA),
    layoutOf(readerAt(to.version), schemaB, pageOneB[0], countB),
  ]);

  // Trees that changed, and the rowid ranges of their changed leaves (at either version).
  const touched = new Map<string, RowidRange[]>();
  const touch = (tree: string, range?: RowidRange) => {
    const ranges = touched.get(tree) ?? [];
    if (range) ranges.push(range);
    touched.set(tree, ranges);
  };
  let unplaced = false;
  for (const page of changed) {
    for (const layout of [layoutA, layoutB]) {
      const tree = layout.owner.get(page);
      if (tree !== undefined) touch(tree, layout.leaves.get(tree)?.get(page));
    }
    if (!placed(layoutA, page) || !placed(layoutB, page)) unplaced = true;
  }
  // A leaf that joined or left its tree (freed whole, say) holds rows that changed even if its bytes did not.
  for (const [tree, leavesA] of layoutA.leaves) {
    const leavesB = layoutB.leaves.get(tree);
    if (leavesB === undefined) continue;
    for (const [page, range] of leavesA) if (!leavesB.has(page)) touch(tree, range);
    for (const [page, range] of leavesB) if (!leavesA.has(page)) touch(tree, range);
  }

  result.schema = schemaChanges(schemaA, schemaB);
  const redefined = new Set(result.schema.map((s) => s.name));
  const byName = (schema: SchemaEntry[]) => new Map(schema.map((s) => [s.name, s]));
  const [namesA, namesB] = [byName(schemaA), byName(schemaB)];

  for (const name of new Set([...namesA.keys(), ...namesB.keys()])) {
    const a = namesA.get(name);
    const b = namesB.get(name);
    const entry = (b ?? a)!;
    if (entry.root === 0) continue; // views, triggers, virtual tables: schema only
    const change: Change = a === undefined ? 'added' : b === undefined ? 'dropped' : 'changed';
    if (entry.type === 'index') {
      if (change !== 'changed' || touched.has(name) || a!.root !== b!.root) result.indexes.push({ name, table: entry.table, change });
      continue;
    }
    if (entry.type !== 'table' || name.startsWith('sqlite_')) continue;
    const whole = change !== 'changed' || redefined.has(name) || a!.root !== b!.root || unplaced;
    if (!whole && !touched.has(name)) continue;
    const ranges = whole ? [{}] : mergeRanges(touched.get(name)!);
    if (ranges.length === 0) continue;
    const diff = await diffTable(sides, name, change, a !== undefined, b !== undefined, ranges, options.maxRows ?? Infinity);
    if (diff.counts.inserted + diff.counts.updated + diff.counts.deleted > 0 || change !== 'changed') result.tables.push(diff);
  }
  return result;
}

/** A page is placed when it is a b-tree page, on the freelist, or past the end of the file at that version. */
function placed(layout: Layout, page: number): boolean {
  return page > layout.pageCount || layout.owner.has(page) || layout.free.has(page);
}

async function readSchema(db: Database): Promise<SchemaEntry[]> {
  const rows = await db.query('SELECT type, name, tbl_name AS "table", rootpage AS root, sql FROM sqlite_schema');
  return rows.map((r) => ({
    type: String(r.type),
    name: String(r.name),
    table: String(r.table),
    root: Number(r.root ?? 0),
    sql: r.sql === null ? null : String(r.sql),
  }));
}

async function layoutOf(read: PageReader, schema: SchemaEntry[], pageOne: Uint8Array | undefined, pageCount: number): Promise<Layout> {
  const layout: Layout = { pageCount, owner: new Map(), leaves: new Map(), free: new Set() };
  if (pageOne === undefined) return layout;
  const trees = [{ name: 'sqlite_schema', root: 1 }, ...schema.filter((s) => s.root > 0)];
  for (const { name, root } of trees) {
    const pages = await walkTree(read, root);
    for (const page of pages.interior) layout.owner.set(page, name);
    for (const page of pages.leaves.keys()) layout.owner.set(page, name);
    layout.leaves.set(name, pages.leaves);
  }
  layout.free = await freelistPages(read, pageOne);
  return layout;
}

function schemaChanges(a: SchemaEntry[], b: SchemaEntry[]): SchemaDiff[] {
  const before = new Map(a.map((s) => [s.name, s]));
  const after = new Map(b.map((s) => [s.name, s]));
  const out: SchemaDiff[] = [];
  for (const name of new Set([...before.keys(), ...after.keys()])) {
    const x = before.get(name);
    const y = after.get(name);
    if (x !== undefined && y !== undefined && x.sql === y.sql && x.type === y.type) continue;
    out.push({
      type: (y ?? x)!.type,
      name,
      change: x === undefined ? 'added' : y === undefined ? 'dropped' : 'changed',
      before: x?.sql ?? null,
      after: y?.sql ?? null,
    });
  }
  return out;
}

/** Sorted, overlapping or adjacent ranges joined; an unbounded range swallows the rest. */
function mergeRanges(ranges: RowidRange[]): RowidRange[] {
  const sorted = [...ranges].sort((x, y) => (x.low === undefined ? -1 : y.low === undefined ? 1 : x.low < y.low ? -1 : x.low > y.low ? 1 : 0));
  const out: RowidRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && (last.high === undefined || r.low === undefined || r.low <= last.high)) {
      if (last.high !== undefined && (r.high === undefined || r.high > last.high)) {
        if (r.high === undefined) delete last.high;
        else last.high = r.high;
      }
      continue;
    }
    out.push({ ...r });
  }
  return out;
}

interface TableShape {
  /** WITHOUT ROWID tables are keyed by their primary key; others by rowid. */
  withoutRowid: boolean;
  /** Key columns as shown: the INTEGER PRIMARY KEY, 'rowid', or the primary key's columns. */
  key: string[];
}

async function shapeOf(db: Database, table: string): Promise<TableShape> {
  const [list, columns] = await Promise.all([
    db.query("SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?", [table]),
    db.query('SELECT name, type, pk FROM pragma_table_info(?) ORDER BY pk', [table]),
  ]);
  const withoutRowid = Number(list[0]?.wr) === 1;
  const pk = columns.filter((c) => Number(c.pk) > 0).map((c) => ({ name: String(c.name), type: String(c.type) }));
  if (withoutRowid) return { withoutRowid, key: pk.map((c) => c.name) };
  const alias = pk.length === 1 && pk[0]!.type.toUpperCase() === 'INTEGER' ? pk[0]!.name : 'rowid';
  return { withoutRowid, key: [alias] };
}

async function diffTable(
  sides: DiffSides,
  name: string,
  change: Change,
  inA: boolean,
  inB: boolean,
  ranges: RowidRange[],
  maxRows: number,
): Promise<TableDiff> {
  const [shapeA, shapeB] = await Promise.all([
    inA ? shapeOf(sides.from.db, name) : undefined,
    inB ? shapeOf(sides.to.db, name) : undefined,
  ]);
  const shape = (shapeB ?? shapeA)!;
  const diff: TableDiff = {
    name,
    change,
    key: shape.key,
    inserted: [],
    updated: [],
    deleted: [],
    counts: { inserted: 0, updated: 0, deleted: 0 },
  };
  const out = (row: Row) => outputRow(row, sides.bigint);
  const keyOf = (row: Row) => Object.fromEntries(shape.key.map((k) => [k, row[k] ?? null])) as Row;
  const emit = {
    inserted: (row: Row) => {
      if (diff.counts.inserted++ < maxRows) diff.inserted.push({ key: out(keyOf(row)), row: out(row) });
    },
    deleted: (row: Row) => {
      if (diff.counts.deleted++ < maxRows) diff.deleted.push({ key: out(keyOf(row)), row: out(row) });
    },
    pair: (old: Row, row: Row) => {
      if (sameRow(old, row)) return;
      if (diff.counts.updated++ < maxRows) diff.updated.push({ key: out(keyOf(row)), old: out(old), new: out(row) });
    },
  };
  const compare = async (a: Database | undefined, b: Database | undefined, { withoutRowid, key }: TableShape) => {
    if (withoutRowid) await compareByKey(a, b, name, key, emit);
    else for (const range of ranges) await compareByRowid(a, b, name, key[0] === 'rowid', range, emit);
  };
  if (shapeA !== undefined && shapeB !== undefined && shapeA.withoutRowid !== shapeB.withoutRowid) {
    // Recreated with a different kind of key: its rows cannot be matched, every one left and came back.
    await compare(sides.from.db, undefined, shapeA);
    await compare(undefined, sides.to.db, shapeB);
  } else {
    await compare(inA ? sides.from.db : undefined, inB ? sides.to.db : undefined, shape);
  }
  return diff;
}

interface Emit {
  inserted(row: Row): void;
  deleted(row: Row): void;
  pair(old: Row, row: Row): void;
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
const ROWID = '__mvdb_rowid';

/** A merge join of both sides in rowid order over (low, high], a chunk of rows at a time from each. */
async function compareByRowid(
  a: Database | undefined,
  b: Database | undefined,
  table: string,
  showRowid: boolean,
  range: RowidRange,
  emit: Emit,
): Promise<void> {
  const fetch = async (db: Database | undefined, after: bigint | undefined) => {
    if (db === undefined) return [];
    const conditions: string[] = [];
    const params: bigint[] = [];
    if (after !== undefined) {
      conditions.push('_rowid_ > ?');
      params.push(after);
    }
    if (range.high !== undefined) {
      conditions.push('_rowid_ <= ?');
      params.push(range.high);
    }
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const sql = `SELECT _rowid_ AS ${ROWID}, * FROM ${quote(table)} ${where} ORDER BY _rowid_ LIMIT ${ROW_CHUNK}`;
    const rows = await db.query(sql, params, { bigint: true });
    return rows.map((r) => {
      const rowid = r[ROWID] as bigint;
      const row: Row = showRowid ? { rowid } : {};
      for (const [k, v] of Object.entries(r)) if (k !== ROWID) row[k] = v;
      return { rowid, row };
    });
  };
  let cursor = range.low;
  for (;;) {
    const [left, right] = await Promise.all([fetch(a, cursor), fetch(b, cursor)]);
    if (left.length === 0 && right.length === 0) return;
    // Both sides are complete up to the smaller of their last rowids (a side that ran out is complete).
    const lastLeft = left.length === ROW_CHUNK ? left[left.length - 1]!.rowid : undefined;
    const lastRight = right.length === ROW_CHUNK ? right[right.length - 1]!.rowid : undefined;
    const bound = lastLeft === undefined ? lastRight : lastRight === undefined ? lastLeft : lastLeft < lastRight ? lastLeft : lastRight;
    const within = (side: { rowid: bigint; row: Row }[], i: number) => (i < side.length && (bound === undefined || side[i]!.rowid <= bound) ? side[i] : undefined);
    for (let i = 0, j = 0; ; ) {
      const l = within(left, i);
      const r = within(right, j);
      if (l === undefined && r === undefined) break;
      if (l !== undefined && r !== undefined && l.rowid === r.rowid) {
        emit.pair(l.row, r.row);
        i++;
        j++;
      } else if (l !== undefined && (r === undefined || l.rowid < r.rowid)) {
        emit.deleted(l.row);
        i++;
      } else {
        emit.inserted(r!.row);
        j++;
      }
    }
    if (bound === undefined) return;
    cursor = bound;
  }
}

/** WITHOUT ROWID tables: both sides read whole, matched by primary key. */
async function compareByKey(a: Database | undefined, b: Database | undefined, table: string, key: string[], emit: Emit): Promise<void> {
  const read = async (db: Database | undefined) => {
    const rows = db === undefined ? [] : await db.query(`SELECT * FROM ${quote(table)}`, undefined, { bigint: true });
    return new Map(rows.map((row) => [canonical(key.map((k) => row[k] ?? null)), row]));
  };
  const [left, right] = await Promise.all([read(a), read(b)]);
  for (const [k, row] of left) {
    const other = right.get(k);
    if (other === undefined) emit.deleted(row);
    else emit.pair(row, other);
  }
  for (const [k, row] of right) if (!left.has(k)) emit.inserted(row);
}

/** Values as one comparable string (bigints and blobs tagged so they never equal a number or text). */
function canonical(values: SqlValue[]): string {
  return JSON.stringify(values, (_, v: unknown) =>
    typeof v === 'bigint' ? `i:${v}` : v instanceof Uint8Array ? `b:${Buffer.from(v).toString('hex')}` : typeof v === 'string' ? `s:${v}` : v,
  );
}

function sameRow(x: Row, y: Row): boolean {
  const kx = Object.keys(x);
  const ky = Object.keys(y);
  if (kx.length !== ky.length || kx.some((k, i) => k !== ky[i])) return false;
  return canonical(Object.values(x)) === canonical(Object.values(y));
}

/** Integers as numbers where safe, unless the Database returns bigints. */
function outputRow(row: Row, bigint: boolean): Row {
  if (bigint) return row;
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) {
    out[k] = typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  return out;
}

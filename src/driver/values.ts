/**
 * JavaScript values <-> SQLite values. Parameters: null, number, bigint,
 * string, boolean, Uint8Array (Buffer included), ArrayBuffer. Integers come
 * back as numbers when they fit exactly (|n| <= 2^53 - 1) and as bigint
 * otherwise, or always as bigint with { bigint: true }.
 */
import { ArgumentError } from './errors.ts';
import {
  SQLITE_BLOB,
  SQLITE_FLOAT,
  SQLITE_INTEGER,
  SQLITE_OK,
  SQLITE_TEXT,
  type SqliteApi,
} from './sqlite.ts';

export type SqlValue = null | number | bigint | string | Uint8Array;
/** What a parameter may be given as. */
export type BindValue = SqlValue | boolean | ArrayBuffer;
/** Positional (`?`, `?NNN`) as an array; named (`:a`, `@a`, `$a`) as an object, keys with or without the prefix. */
export type Params = readonly BindValue[] | Readonly<Record<string, BindValue>>;
export type Row = Record<string, SqlValue>;

const MAX_INT64 = (1n << 63n) - 1n;
const MIN_INT64 = -(1n << 63n);
const ACCEPTED = 'null, number, bigint, string, boolean, Uint8Array or ArrayBuffer';

/** Binds `params` to a freshly reset statement; throws ArgumentError for a missing, extra or unbindable value. */
export function bindParams(api: SqliteApi, stmt: number, params: Params | undefined): void {
  const count = api.parameterCount(stmt);
  if (params === undefined || params === null) {
    if (count > 0) throw new ArgumentError(`the statement has ${count} parameter(s) and none were given`);
    return;
  }
  if (Array.isArray(params)) {
    if (params.length !== count) {
      throw new ArgumentError(`the statement has ${count} parameter(s); ${params.length} value(s) were given`);
    }
    for (let i = 0; i < count; i++) {
      const value = params[i];
      if (value === undefined && !(i in params)) continue; // a hole in a sparse array stays unbound (NULL), as forEach left it
      bindValue(api, stmt, i + 1, value, i + 1);
    }
    return;
  }
  if (typeof params !== 'object' || params instanceof Uint8Array || params instanceof ArrayBuffer) {
    throw new ArgumentError(`parameters must be an array (positional) or an object (named), got ${describe(params)}`);
  }
  const named = params as Readonly<Record<string, BindValue>>;
  for (let i = 1; i <= count; i++) {
    const name = api.parameterName(stmt, i);
    if (name === null || name.startsWith('?')) {
      throw new ArgumentError(`parameter ${name ?? `?${i}`} is positional: pass the parameters as an array`);
    }
    const key = name.slice(1);
    const value = Object.hasOwn(named, key) ? named[key] : Object.hasOwn(named, name) ? named[name] : undefined;
    if (value === undefined) throw new ArgumentError(`no value for parameter ${name} (give it as "${key}", or null for NULL)`);
    bindValue(api, stmt, i, value, name);
  }
}

/** `parameter` names the parameter in errors: its position, or its name with the prefix. */
function bindValue(api: SqliteApi, stmt: number, index: number, value: BindValue | undefined, parameter: number | string): void {
  let rc: number;
  if (value === null) rc = api.bindNull(stmt, index);
  else if (typeof value === 'number') {
    rc = Number.isSafeInteger(value) ? api.bindSafeInteger(stmt, index, value) : api.bindDouble(stmt, index, value);
  } else if (typeof value === 'bigint') {
    if (value > MAX_INT64 || value < MIN_INT64) {
      throw new ArgumentError(`parameter ${parameter}: ${value} does not fit in a 64-bit signed integer`);
    }
    rc = api.bindInt64(stmt, index, value);
  } else if (typeof value === 'string') rc = api.bindText(stmt, index, value);
  else if (typeof value === 'boolean') rc = api.bindInt64(stmt, index, value ? 1n : 0n);
  else if (value instanceof Uint8Array) rc = api.bindBlob(stmt, index, value);
  else if (value instanceof ArrayBuffer) rc = api.bindBlob(stmt, index, new Uint8Array(value));
  else if (value === undefined) throw new ArgumentError(`parameter ${parameter} is undefined (use null for NULL)`);
  else throw new ArgumentError(`parameter ${parameter}: cannot bind ${describe(value)}; accepted: ${ACCEPTED}`);
  if (rc !== SQLITE_OK) throw new ArgumentError(`parameter ${parameter}: SQLite refused the value (code ${rc})`);
}

export function columnNames(api: SqliteApi, stmt: number): string[] {
  const names: string[] = [];
  for (let i = 0, n = api.columnCount(stmt); i < n; i++) names.push(api.columnName(stmt, i));
  return names;
}

/** The current row, in column order. */
export function readRow(api: SqliteApi, stmt: number, columns: number, bigint: boolean): SqlValue[] {
  const row: SqlValue[] = new Array(columns);
  for (let i = 0; i < columns; i++) row[i] = readColumn(api, stmt, i, bigint);
  return row;
}

function readColumn(api: SqliteApi, stmt: number, i: number, bigint: boolean): SqlValue {
  switch (api.columnType(stmt, i)) {
    case SQLITE_INTEGER:
      return api.columnInteger(stmt, i, bigint);
    case SQLITE_FLOAT:
      return api.columnDouble(stmt, i);
    case SQLITE_TEXT:
      return api.columnText(stmt, i);
    case SQLITE_BLOB:
      return api.columnBlob(stmt, i);
    default:
      return null;
  }
}

/** An object row; with duplicate column names the last one wins (array rows keep them all). */
export function toObject(columns: readonly string[], values: readonly SqlValue[]): Row {
  const row: Row = {};
  columns.forEach((name, i) => (row[name] = values[i]!));
  return row;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return typeof value;
}

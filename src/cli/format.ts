/**
 * Result sets as text: aligned tables for people, JSON for machines.
 * Values are what the driver returns: null, number, bigint, string, Uint8Array.
 */

export interface ResultSet {
  columns: string[];
  rows: unknown[][];
}

/** Table cells longer than this are cut with '…'; --json always carries the full value. */
export const MAX_CELL_WIDTH = 80;
const BLOB_PREVIEW_BYTES = 16;

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Control characters as visible escapes, so one row stays on one line. */
function escapeControls(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/** One value as a table cell: NULL for null, x'..' for blobs (long blobs previewed with their size). */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (value instanceof Uint8Array) {
    if (value.byteLength <= BLOB_PREVIEW_BYTES) return `x'${hex(value)}'`;
    return `x'${hex(value.subarray(0, BLOB_PREVIEW_BYTES))}…' (${value.byteLength} bytes)`;
  }
  if (typeof value === 'string') return escapeControls(value);
  if (typeof value === 'number' && !Number.isFinite(value)) {
    if (Number.isNaN(value)) return 'NaN';
    return value > 0 ? 'Inf' : '-Inf';
  }
  return escapeControls(String(value));
}

/** Whether a code point takes two terminal columns (CJK, fullwidth forms, most emoji). */
function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

function isZeroWidth(cp: number): boolean {
  return (
    (cp >= 0x0300 && cp <= 0x036f) || // combining diacritics
    cp === 0x200b || cp === 0x200c || cp === 0x200d ||
    (cp >= 0xfe00 && cp <= 0xfe0f) // variation selectors
  );
}

/** Terminal columns a string takes (an approximation good enough for alignment). */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    width += isZeroWidth(cp) ? 0 : isWide(cp) ? 2 : 1;
  }
  return width;
}

/** Cuts `text` to at most `max` columns, ending in '…' when cut. */
export function truncate(text: string, max: number): string {
  if (displayWidth(text) <= max) return text;
  let out = '';
  let width = 0;
  for (const ch of text) {
    const w = displayWidth(ch);
    if (width + w > max - 1) break;
    out += ch;
    width += w;
  }
  return `${out}…`;
}

function pad(text: string, width: number, right: boolean): string {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(text)));
  return right ? fill + text : text + fill;
}

function isNumeric(value: unknown): boolean {
  return typeof value === 'number' || typeof value === 'bigint';
}

/**
 * An aligned table: a header, a dashed rule, one line per row. Numeric
 * columns (every non-NULL value a number) are right-aligned. Ends with a
 * newline; a result without columns (e.g. from INSERT) renders as ''.
 */
export function formatTable(result: ResultSet, maxCellWidth = MAX_CELL_WIDTH): string {
  const { columns, rows } = result;
  if (columns.length === 0) return '';
  const cells = rows.map((row) => columns.map((_, i) => truncate(cellText(row[i]), maxCellWidth)));
  const headers = columns.map((c) => truncate(escapeControls(c), maxCellWidth));
  const widths = headers.map((h, i) => Math.max(displayWidth(h), ...cells.map((r) => displayWidth(r[i]!))));
  const right = columns.map(
    (_, i) => rows.some((r) => isNumeric(r[i])) && rows.every((r) => r[i] === null || r[i] === undefined || isNumeric(r[i])),
  );
  const line = (parts: string[]) =>
    parts
      .map((p, i) => pad(p, widths[i]!, right[i]!))
      .join('  ')
      .trimEnd();
  const out = [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)];
  return `${out.join('\n')}\n`;
}

/**
 * A value as JSON text, losslessly where JSON allows: 64-bit integers as
 * exact integer literals (parse them with a bigint-aware reader if you need
 * all 64 bits), BLOBs as {"$hex": "..."}, infinities as ±1e999.
 */
export function jsonValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'null';
    if (!Number.isFinite(value)) return value > 0 ? '1e999' : '-1e999';
    return JSON.stringify(value);
  }
  if (value instanceof Uint8Array) return `{"$hex":"${hex(value)}"}`;
  if (Array.isArray(value)) return `[${value.map(jsonValue).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${jsonValue(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Column names made unique for JSON objects: the second `id` becomes `id:2`, the third `id:3`. */
export function uniqueKeys(columns: string[]): string[] {
  const seen = new Map<string, number>();
  const taken = new Set(columns);
  return columns.map((name) => {
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    if (n === 1) return name;
    let key = `${name}:${n}`;
    while (taken.has(key)) key += "'";
    taken.add(key);
    return key;
  });
}

/** A result set as one line of JSON: an array of row objects keyed by column name. */
export function formatJsonRows(result: ResultSet): string {
  const keys = uniqueKeys(result.columns);
  const rows = result.rows.map(
    (row) => `{${keys.map((k, i) => `${JSON.stringify(k)}:${jsonValue(row[i])}`).join(',')}}`,
  );
  return `[${rows.join(',')}]\n`;
}

/** Objects (e.g. log entries) as a result set, columns in the order given. */
export function recordsToResult<T extends object>(records: T[], columns: (keyof T & string)[]): ResultSet {
  return {
    columns,
    rows: records.map((r) => columns.map((c) => (r as Record<string, unknown>)[c] ?? null)),
  };
}

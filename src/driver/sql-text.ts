/** What the driver reads from SQL text itself (SQLite parses everything else). */

/**
 * The first keyword of `sql`, upper-cased, after whitespace and comments ('' when there is none).
 * Enough to tell a query (SELECT, VALUES, WITH) from transaction control or a PRAGMA, which
 * sqlite3_stmt_readonly() also reports as read-only.
 */
export function firstKeyword(sql: string): string {
  let at = 0;
  for (;;) {
    while (at < sql.length && isSpace(sql.charCodeAt(at))) at++;
    if (sql.startsWith('--', at)) {
      const end = sql.indexOf('\n', at);
      if (end < 0) return '';
      at = end + 1;
    } else if (sql.startsWith('/*', at)) {
      const end = sql.indexOf('*/', at + 2);
      if (end < 0) return '';
      at = end + 2;
    } else {
      break;
    }
  }
  let end = at;
  while (end < sql.length && isLetter(sql.charCodeAt(end))) end++;
  return sql.slice(at, end).toUpperCase();
}

const QUERY_KEYWORDS = new Set(['SELECT', 'VALUES', 'WITH']);

/** Whether `sql` starts as a query does; a read-only statement that does is a plain query. */
export function startsAsQuery(sql: string): boolean {
  return QUERY_KEYWORDS.has(firstKeyword(sql));
}

/** SQLite's whitespace: space, tab, newline, form feed, carriage return. */
function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d;
}

function isLetter(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

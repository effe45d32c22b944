/**
 * Splits SQL text into complete statements, the way sqlite3's shell decides
 * that a statement is finished: a ';' outside string literals, quoted
 * identifiers and comments ends it, except inside CREATE TRIGGER, whose
 * body ends only at `END;`.
 */

export interface SplitResult {
  /** Complete statements, trimmed, without their final ';'. Empty statements are dropped. */
  statements: string[];
  /** The unfinished tail ('' when only whitespace or comments remain). */
  rest: string;
}

type Token = { kind: 'word'; upper: string } | { kind: 'semi' } | { kind: 'other' } | { kind: 'space' };

/** Scans one token at `i`; returns it and the index after it, or null when it is unterminated. */
function scan(sql: string, i: number): { token: Token; end: number } | null {
  const c = sql[i]!;
  if (/\s/.test(c)) {
    let j = i + 1;
    while (j < sql.length && /\s/.test(sql[j]!)) j++;
    return { token: { kind: 'space' }, end: j };
  }
  if (c === '-' && sql[i + 1] === '-') {
    const nl = sql.indexOf('\n', i + 2);
    // A line comment at the very end is complete: nothing can continue it.
    return { token: { kind: 'space' }, end: nl === -1 ? sql.length : nl + 1 };
  }
  if (c === '/' && sql[i + 1] === '*') {
    const close = sql.indexOf('*/', i + 2);
    return close === -1 ? null : { token: { kind: 'space' }, end: close + 2 };
  }
  if (c === "'" || c === '"' || c === '`' || c === '[') {
    const closer = c === '[' ? ']' : c;
    let j = i + 1;
    for (;;) {
      const k = sql.indexOf(closer, j);
      if (k === -1) return null;
      // A doubled quote is an escaped quote (not for [...]).
      if (closer !== ']' && sql[k + 1] === closer) {
        j = k + 2;
        continue;
      }
      // Quoted text is never a keyword: a quoted "END" does not end a trigger.
      return { token: { kind: 'other' }, end: k + 1 };
    }
  }
  if (c === ';') return { token: { kind: 'semi' }, end: i + 1 };
  if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
    let j = i + 1;
    while (j < sql.length && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[j]!)) j++;
    return { token: { kind: 'word', upper: sql.slice(i, j).toUpperCase() }, end: j };
  }
  return { token: { kind: 'other' }, end: i + 1 };
}

/** Whether the words that begin a statement make it a CREATE TRIGGER. */
function isTriggerStart(words: string[]): boolean {
  let k = 0;
  if (words[k] === 'EXPLAIN') {
    k++;
    if (words[k] === 'QUERY' && words[k + 1] === 'PLAN') k += 2;
  }
  if (words[k] !== 'CREATE') return false;
  k++;
  if (words[k] === 'TEMP' || words[k] === 'TEMPORARY') k++;
  return words[k] === 'TRIGGER';
}

export function splitStatements(sql: string): SplitResult {
  const statements: string[] = [];
  let start = 0;
  let i = 0;
  let leadingWords: string[] = [];
  let lastSignificant: Token | null = null;
  let significant = false;

  while (i < sql.length) {
    const scanned = scan(sql, i);
    if (scanned === null) break; // an unterminated literal or comment: the rest is unfinished
    const { token, end } = scanned;
    i = end;
    if (token.kind === 'space') continue;
    if (token.kind === 'semi') {
      const inTrigger = isTriggerStart(leadingWords);
      const endsTrigger = lastSignificant?.kind === 'word' && lastSignificant.upper === 'END';
      if (!inTrigger || endsTrigger) {
        if (significant) statements.push(sql.slice(start, end - 1).trim());
        start = end;
        leadingWords = [];
        lastSignificant = null;
        significant = false;
        continue;
      }
    } else {
      significant = true;
    }
    if (token.kind === 'word' && leadingWords.length < 5) leadingWords.push(token.upper);
    else if (leadingWords.length < 5) leadingWords.push('');
    lastSignificant = token;
  }
  const tail = sql.slice(start);
  return { statements, rest: significant || i < sql.length ? tail : '' };
}

/**
 * All statements of a complete script: the unfinished tail counts as a last
 * statement (so `select 1` works without ';'); SQLite itself reports what is
 * wrong with a tail that is not a statement (e.g. an unterminated string).
 */
export function scriptStatements(sql: string): string[] {
  const { statements, rest } = splitStatements(sql);
  return rest.trim() === '' ? statements : [...statements, rest.trim()];
}

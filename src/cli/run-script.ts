/** Runs a script of SQL statements one by one, printing each result set. */

import type { CliContext } from './context.ts';
import { CliError, oneLine, UsageError } from './errors.ts';
import { scriptStatements } from './statements.ts';
import type { CliDatabase } from './store.ts';

function abbreviate(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ');
  return flat.length > 60 ? `${flat.slice(0, 59)}…` : flat;
}

/**
 * Executes every statement of `sql` in order and prints what each returns;
 * stops at the first error, naming the statement when there are several
 * (the ones before it have already taken effect, as in sqlite3).
 */
export async function runScript(ctx: CliContext, db: CliDatabase, sql: string, json: boolean): Promise<void> {
  const statements = scriptStatements(sql);
  if (statements.length === 0) throw new UsageError('no SQL statement given (the SQL text is empty or only comments)');
  let printed = false;
  for (const [i, statement] of statements.entries()) {
    let result;
    try {
      result = await db.execute(statement);
    } catch (err) {
      if (statements.length === 1) throw err;
      throw new CliError(`${oneLine(err)} (statement ${i + 1} of ${statements.length}: ${abbreviate(statement)})`, {
        cause: err,
      });
    }
    if (result.columns.length === 0) continue;
    // A blank line between tables, as psql and sqlite3 do; JSON lines need no separator.
    if (printed && !json) ctx.out('\n');
    ctx.printResult(result, json);
    printed = true;
  }
}

/** The SQL from the argument, or from stdin when it is `-` or omitted and stdin is not a terminal. */
export async function sqlArgument(ctx: CliContext, sql: string | undefined): Promise<string> {
  if (sql !== undefined && sql !== '-') return sql;
  if (sql === undefined && ctx.io.stdin.isTTY) {
    throw new UsageError('missing SQL: give it as an argument (quoted) or pipe it on stdin');
  }
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.io.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

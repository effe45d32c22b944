/** Errors the driver adds to those of the layers below (re-exported from src/index.ts), and the argument checks its calls share. */
import * as SQLite from '@journeyapps/wa-sqlite';
import { MvdbError } from '../../vfs/index.ts';

/** An error SQLite reported: its message, and its (extended) result code by name and number. */
export class SqliteError extends MvdbError {
  /** The extended result code, e.g. 2067 for SQLITE_CONSTRAINT_UNIQUE. */
  readonly errno: number;
  constructor(message: string, errno: number, options?: { cause?: unknown }) {
    super(sqliteCodeName(errno), message);
    this.errno = errno;
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
  /** The primary result code (errno & 0xff), e.g. 19 for any SQLITE_CONSTRAINT_*. */
  get primaryCode(): number {
    return this.errno & 0xff;
  }
}

/** A bad argument to a driver call: says what was wrong and what is accepted. */
export class ArgumentError extends MvdbError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

/** An options argument of `fn`: an object whose keys are all `accepted`. */
export function checkOptionNames(fn: string, options: unknown, accepted: readonly string[]): void {
  if (options === null || typeof options !== 'object') throw new ArgumentError(`${fn}() options must be an object`);
  for (const key of Object.keys(options)) {
    if (!accepted.includes(key)) throw new ArgumentError(`unknown ${fn}() option "${key}"; accepted: ${accepted.join(', ')}`);
  }
}

/** The clientTag option of open() and importDatabase(): stored with each commit in the log. */
export function checkClientTag(clientTag: unknown): void {
  if (clientTag !== undefined && (typeof clientTag !== 'string' || Buffer.byteLength(clientTag) > 255)) {
    throw new ArgumentError('clientTag must be a string of at most 255 UTF-8 bytes');
  }
}

/** A call on a Database that was closed, or on a transaction that has ended. */
export class ClosedError extends MvdbError {
  constructor(message: string) {
    super('CLOSED', message);
  }
}

const PRIMARY = [
  'ERROR', 'INTERNAL', 'PERM', 'ABORT', 'BUSY', 'LOCKED', 'NOMEM', 'READONLY', 'INTERRUPT', 'IOERR', 'CORRUPT',
  'NOTFOUND', 'FULL', 'CANTOPEN', 'PROTOCOL', 'EMPTY', 'SCHEMA', 'TOOBIG', 'CONSTRAINT', 'MISMATCH', 'MISUSE',
  'NOLFS', 'AUTH', 'FORMAT', 'RANGE', 'NOTADB', 'NOTICE', 'WARNING',
];

/** Result code number -> name, from the constants wa-sqlite ships (primary and extended codes only). */
const CODE_NAMES: Map<number, string> = (() => {
  const names = new Map<number, string>();
  for (const [name, value] of Object.entries(SQLite)) {
    if (typeof value !== 'number') continue;
    const bare = name.replace(/^SQLITE_/, '');
    if (PRIMARY.some((p) => bare === p || bare.startsWith(`${p}_`)) && !names.has(value)) names.set(value, name);
  }
  return names;
})();

export function sqliteCodeName(code: number): string {
  return CODE_NAMES.get(code) ?? CODE_NAMES.get(code & 0xff) ?? `SQLITE_${code}`;
}

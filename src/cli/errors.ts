/**
 * How the CLI reports failure: one line on stderr (`mvdb: <message>`) and an
 * exit code; the stack only with MVDB_DEBUG=1.
 */

/** Exit codes: 1 for a failed operation, 2 for arguments the CLI cannot accept. */
export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const;

/** The user typed something the CLI does not accept; the message says what is accepted. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A failure the CLI detected itself, worded for the user (no extra context needed). */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/** The error as one line: the message of the error, flattened, without a stack. */
export function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const flat = text.replace(/\s*\n\s*/g, ' ').trim();
  return flat === '' ? (err instanceof Error ? err.name : 'unknown error') : flat;
}

export function exitCodeFor(err: unknown): number {
  return err instanceof UsageError ? ExitCode.usage : ExitCode.failure;
}

/** The text to print on stderr for `err`: one line, plus the stack when debugging. */
export function describeError(err: unknown, debug: boolean): string {
  let text = `mvdb: ${oneLine(err)}\n`;
  if (debug && err instanceof Error && err.stack) text += `${err.stack}\n`;
  return text;
}

export function debugEnabled(env: NodeJS.ProcessEnv): boolean {
  const v = env.MVDB_DEBUG;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

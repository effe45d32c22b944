/**
 * The state of an `mvdb shell`: the open database, the snapshot being read
 * (after `.at`), the output mode, and the unfinished statement being typed.
 * Lines go in through `feed`; results and messages go out through `ctx`.
 */

import type { CliContext } from '../context.ts';
import { debugEnabled, oneLine } from '../errors.ts';
import { splitStatements } from '../statements.ts';
import type { CliDatabase } from '../store.ts';
import { runDotCommand } from './dot-commands.ts';

export type OutputMode = 'table' | 'json';

export class ShellSession {
  /** The snapshot chosen with `.at`, or undefined when reading and writing at the head. */
  snapshot: CliDatabase | undefined;
  mode: OutputMode;
  done = false;
  errors = 0;
  private buffer = '';
  private lineNumber = 0;
  private statementLine = 0;

  constructor(
    readonly ctx: CliContext,
    readonly head: CliDatabase,
    json: boolean,
    /** Errors name their input line when reading a script rather than a person's typing. */
    private readonly scripted: boolean,
  ) {
    this.mode = json ? 'json' : 'table';
  }

  /** The connection statements run on. */
  get current(): CliDatabase {
    return this.snapshot ?? this.head;
  }

  /** True while a statement is unfinished (the prompt shows continuation). */
  get pending(): boolean {
    return this.buffer.trim() !== '';
  }

  clearPending(): void {
    this.buffer = '';
  }

  prompt(): string {
    const main = `${this.head.name}${this.snapshot ? `@${this.snapshot.snapshot}` : ''}> `;
    return this.pending ? `${'...> '.padStart(main.length)}` : main;
  }

  /** One line of input: a dot-command (when no statement is pending) or more SQL. */
  async feed(line: string): Promise<void> {
    this.lineNumber++;
    if (!this.pending && line.trimStart().startsWith('.')) {
      this.statementLine = this.lineNumber;
      await this.guard(() => runDotCommand(this, line.trim()));
      return;
    }
    if (!this.pending) this.statementLine = this.lineNumber;
    this.buffer += `${line}\n`;
    const { statements, rest } = splitStatements(this.buffer);
    this.buffer = rest;
    for (const statement of statements) {
      await this.guard(() => this.execute(statement));
      if (this.done) return;
    }
  }

  /** End of input: a last statement without ';' still runs, as in sqlite3. */
  async finish(): Promise<void> {
    const rest = this.buffer.trim();
    this.buffer = '';
    if (rest !== '' && !this.done) await this.guard(() => this.execute(rest));
  }

  async close(): Promise<void> {
    await this.snapshot?.close();
    this.snapshot = undefined;
  }

  private async execute(statement: string): Promise<void> {
    const result = await this.current.execute(statement);
    this.ctx.printResult(result, this.mode === 'json');
  }

  /** Runs one step; an error is reported on stderr and the shell goes on. */
  private async guard(step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (err) {
      this.errors++;
      const where = this.scripted ? ` (line ${this.statementLine})` : '';
      this.ctx.io.stderr.write(`Error${where}: ${oneLine(err)}\n`);
      if (debugEnabled(this.ctx.io.env) && err instanceof Error && err.stack) this.ctx.io.stderr.write(`${err.stack}\n`);
    }
  }
}

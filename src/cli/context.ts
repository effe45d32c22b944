/** What every command gets: the process's streams, the global options, and output helpers. */

import type { Command } from 'commander';
import { DEFAULT_STORE } from '../index.ts';
import { openStore } from './connect.ts';
import { formatJsonRows, formatTable, type ResultSet } from './format.ts';
import type { CliDatabase, CliStore } from './store.ts';

export interface CliIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export interface GlobalOptions {
  /** Store URL: a directory, lmdb:<dir>, memory:, fdb:[cluster file]. */
  store: string;
  json: boolean;
}

function defaultStore(env: NodeJS.ProcessEnv): string {
  const fromEnv = env.MVDB_STORE;
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_STORE;
}

export class CliContext {
  constructor(readonly io: CliIo) {}

  /** The global options as given anywhere on the command line (before or after the command). */
  globals(command: Command): GlobalOptions {
    const opts = command.optsWithGlobals<{ store?: string; json?: boolean }>();
    return { store: opts.store ?? defaultStore(this.io.env), json: opts.json === true };
  }

  /**
   * Runs `body` with the store open and closes it afterwards. Only commands
   * that write (`create`) may bring a new store directory into being.
   */
  async withStore<T>(globals: GlobalOptions, options: { create: boolean }, body: (store: CliStore) => Promise<T>): Promise<T> {
    const store = await openStore(globals.store, options);
    try {
      return await body(store);
    } finally {
      await store.close();
    }
  }

  /** Runs `body` with database `name` open (created first when `create`), closing both afterwards. */
  withDatabase<T>(
    globals: GlobalOptions,
    name: string,
    options: { create: boolean },
    body: (db: CliDatabase, store: CliStore) => Promise<T>,
  ): Promise<T> {
    return this.withStore(globals, options, async (store) => {
      const db = await store.open(name, options);
      try {
        return await body(db, store);
      } finally {
        await db.close();
      }
    });
  }

  out(text: string): void {
    this.io.stdout.write(text);
  }

  /** Messages for the person at the terminal (not results): stderr, so stdout stays clean for pipes. */
  note(text: string): void {
    this.io.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** A result set as a table, or as one JSON line with --json. */
  printResult(result: ResultSet, json: boolean): void {
    if (json) {
      if (result.columns.length > 0) this.out(formatJsonRows(result));
    } else {
      this.out(formatTable(result));
    }
  }
}

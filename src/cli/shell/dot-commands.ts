/** The shell's dot-commands (.tables, .schema, .log, .at, .mode, .help, .quit). */

import { formatTime, parseCount, parsePointInTime, POINT_IN_TIME_FORMS } from '../args.ts';
import { logResult } from '../commands/log.ts';
import { UsageError } from '../errors.ts';
import type { ShellSession } from './session.ts';

interface DotCommand {
  usage: string;
  help: string;
  run(session: ShellSession, arg: string): Promise<void>;
}

function sqlLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** The argument text, without one pair of surrounding quotes (`.at "2024-05-01 12:00"`). */
function unquote(text: string): string {
  const m = /^(['"])(.*)\1$/.exec(text);
  return m ? m[2]! : text;
}

const COMMANDS: Record<string, DotCommand> = {
  tables: {
    usage: '.tables [pattern]',
    help: 'list tables and views (names matching a LIKE pattern)',
    async run(session, arg) {
      const filter = arg === '' ? '' : ` AND name LIKE ${sqlLiteral(arg)}`;
      const result = await session.current.execute(
        `SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'${filter} ORDER BY name`,
      );
      for (const [name] of result.rows) session.ctx.out(`${String(name)}\n`);
    },
  },
  schema: {
    usage: '.schema [table]',
    help: 'show the CREATE statements (of the tables matching a LIKE pattern, with their indexes and triggers)',
    async run(session, arg) {
      const filter = arg === '' ? '' : ` AND tbl_name LIKE ${sqlLiteral(arg)}`;
      const result = await session.current.execute(
        `SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL${filter} ORDER BY tbl_name, type <> 'table', name`,
      );
      for (const [sql] of result.rows) session.ctx.out(`${String(sql)};\n`);
    },
  },
  log: {
    usage: '.log [n]',
    help: 'show the newest n commits (default 10)',
    async run(session, arg) {
      const limit = arg === '' ? 10 : parseCount('.log', arg);
      const json = session.mode === 'json';
      session.ctx.printResult(logResult(await session.head.log(limit), json), json);
    },
  },
  at: {
    usage: '.at [version|time|head]',
    help: 'read the database as of a version or time (read-only); .at head returns; no argument shows where you are',
    async run(session, arg) {
      const { ctx } = session;
      if (arg === '') {
        ctx.out(
          session.snapshot
            ? `reading at ${session.snapshot.snapshot} (read-only); .at head returns to the head\n`
            : `reading at the head (${await session.head.version()})\n`,
        );
        return;
      }
      const point = parsePointInTime(unquote(arg));
      if (point.kind === 'head') {
        await session.close();
        ctx.out(`reading at the head (${await session.head.version()})\n`);
        return;
      }
      const snapshot = await session.head.at(point);
      await session.close();
      session.snapshot = snapshot;
      const asked = point.kind === 'time' ? `, the newest version at or before ${formatTime(point.time)}` : '';
      ctx.out(`reading at ${snapshot.snapshot}${asked} (read-only); .at head returns to the head\n`);
    },
  },
  mode: {
    usage: '.mode [table|json]',
    help: 'how results are printed: aligned tables or JSON',
    async run(session, arg) {
      if (arg === '') {
        session.ctx.out(`${session.mode}\n`);
        return;
      }
      if (arg !== 'table' && arg !== 'json') throw new UsageError(`unknown mode "${arg}"; accepted: table, json`);
      session.mode = arg;
    },
  },
  help: {
    usage: '.help',
    help: 'show this list',
    async run(session) {
      const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.length));
      const lines = Object.values(COMMANDS).map((c) => `${c.usage.padEnd(width)}  ${c.help}`);
      session.ctx.out(
        `${lines.join('\n')}\n\nSQL statements end with ';' and may span lines. A version or time is ${POINT_IN_TIME_FORMS}.\n`,
      );
    },
  },
  quit: {
    usage: '.quit',
    help: 'leave the shell (also .exit or Ctrl-D)',
    async run(session) {
      session.done = true;
    },
  },
};

const ALIASES: Record<string, string> = { exit: 'quit', q: 'quit' };

/** Runs `line` (starting with '.'); unknown commands are an error that points at .help. */
export async function runDotCommand(session: ShellSession, line: string): Promise<void> {
  const match = /^\.(\S*)\s*(.*)$/s.exec(line)!;
  const name = match[1]!.toLowerCase();
  const command = COMMANDS[ALIASES[name] ?? name];
  if (command === undefined) {
    throw new UsageError(`unknown command ".${match[1]}"; accepted: ${Object.keys(COMMANDS).map((c) => `.${c}`).join(', ')} (.help)`);
  }
  await command.run(session, match[2]!.trim());
}

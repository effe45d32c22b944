#!/usr/bin/env node
// The `mvdb` command. It runs the TypeScript sources, not dist/ (which could be
// stale while developing): this registers tsx (a runtime dependency) so Node can
// load the TypeScript CLI, then runs it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

// Our tsconfig, whatever the working directory (tsx would otherwise look in the cwd).
const tsconfig = fileURLToPath(new URL('../tsconfig.json', import.meta.url));
register({ tsconfig: existsSync(tsconfig) ? tsconfig : false });

let cli;
try {
  cli = await import('../src/cli/main.ts');
} catch (err) {
  // A broken install: still one line (the stack with MVDB_DEBUG=1).
  process.stderr.write(`mvdb: cannot load the CLI: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n`);
  if (process.env.MVDB_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}
await cli.runCli();

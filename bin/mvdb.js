#!/usr/bin/env node
// The `mvdb` command. mvdb has no build step: this registers tsx (a runtime
// dependency) so Node can load the TypeScript CLI, then runs it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

// Our tsconfig, whatever the working directory (tsx would otherwise look in the cwd).
const tsconfig = fileURLToPath(new URL('../tsconfig.json', import.meta.url));
register({ tsconfig: existsSync(tsconfig) ? tsconfig : false });

const { runCli } = await import('../src/cli/main.ts');
await runCli();

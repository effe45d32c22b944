/**
 * The package as a user installs it: `npm run build` compiles src/ and vfs/ to plain JavaScript that
 * Node runs without tsx, and `import { open } from 'mvdb'` opens a database through it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
// Inside the repository, so the compiled code resolves its dependencies from node_modules.
const outDir = mkdtempSync(join(root, '.build-test-'));

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('the built package', () => {
  it('compiles to JavaScript that plain Node runs: open, write, read an older version', () => {
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir], {
      cwd: root,
      stdio: 'pipe',
    });
    const entry = './' + relative(root, join(outDir, 'src/index.js'));
    const script = `
      const { open } = await import(${JSON.stringify(entry)});
      const db = await open('pkg', { store: 'memory:' });
      await db.exec('CREATE TABLE t(a); INSERT INTO t VALUES (1)');
      const first = db.version;
      await db.run('UPDATE t SET a = 2');
      const then = await db.at(first);
      console.log(JSON.stringify([await db.get('SELECT a FROM t'), await then.get('SELECT a FROM t')]));
      await then.close();
      await db.close();
    `;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(JSON.parse(output.trim())).toEqual([{ a: 2 }, { a: 1 }]);
  });
});

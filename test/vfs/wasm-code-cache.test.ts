/**
 * The opt-in wasm code cache (vfs/wasm-code-cache.ts): a process loads SQLite's compiled code from it
 * and gets the same results as a process that compiles; a file that does not match the wasm, or is not
 * whole, is never run (the process compiles instead), and a miss leaves a usable file for the next one.
 * Each case runs fresh processes (test/vfs/wasm-code-cache-child.ts): a process compiles SQLite once.
 * Both wa-sqlite builds have a file of their own; the checks on damaged files run on the Asyncify build's
 * (the code that reads and checks a file is the same for both).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CODE_CACHE_ENV, buildWasmCodeCache, codeCacheFile } from '../../vfs/wasm-code-cache.ts';
import type { SqliteBuild } from '../../vfs/wasm.ts';

const CHILD = new URL('./wasm-code-cache-child.ts', import.meta.url).pathname;

interface ChildResult {
  loaded: number;
  rejected: number;
  rows: unknown[][];
}

async function runChild(cacheDir?: string, build: SqliteBuild = 'asyncify'): Promise<ChildResult> {
  const env = { ...process.env };
  if (cacheDir === undefined) delete env[CODE_CACHE_ENV];
  else env[CODE_CACHE_ENV] = cacheDir;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', CHILD, build], { env, encoding: 'utf8' });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildResult;
}

async function waitFor(done: () => boolean, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !done(); ) {
    if (Date.now() > end) throw new Error(`not done after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('wasm code cache', { timeout: 120_000 }, () => {
  let dir: string;
  let file: string;
  let compiled: ChildResult;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mvdb-code-cache-'));
    // For the children's V8 flags (none), whatever flags this test process runs with.
    file = codeCacheFile(dir, 'asyncify', []);
    [compiled] = await Promise.all([runChild(), buildWasmCodeCache(dir, 'asyncify', [])]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a process loads SQLite from the built cache and gets what a compiling process gets', async () => {
    expect(compiled.loaded).toBe(0);
    expect(compiled.rows.length).toBe(4); // the aggregate row, then three rows
    const cached = await runChild(dir);
    expect(cached.loaded).toBe(1);
    expect(cached.rows).toEqual(compiled.rows);
  });

  it('never runs a file made from other wasm or not whole; the next process finds a rebuilt one', async () => {
    const good = readFileSync(file);
    const damaged: Buffer[] = [
      Buffer.concat([good.subarray(0, 20), Buffer.from([good[20]! ^ 1]), good.subarray(21)]), // another wasm's digest
      good.subarray(0, good.length - 1000), // truncated
      Buffer.concat([good.subarray(0, good.length - 1), Buffer.from([good.at(-1)! ^ 0xff])]), // one byte of code changed
    ];
    for (const bytes of damaged) {
      writeFileSync(file, bytes);
      const result = await runChild(dir);
      expect({ loaded: result.loaded, rejected: result.rejected }).toEqual({ loaded: 0, rejected: 1 });
      expect(result.rows).toEqual(compiled.rows);
      // The miss started a builder in the background; it replaces the file and removes its marker.
      await waitFor(() => !existsSync(`${file}.building`) && !readFileSync(file).equals(bytes), 60_000);
    }
    const rebuilt = await runChild(dir);
    expect(rebuilt.loaded).toBe(1);
    expect(rebuilt.rows).toEqual(compiled.rows);
  });

  it('a whole file that V8 refuses (built for other V8 flags) is not run, nor rebuilt by every process', async () => {
    const other = codeCacheFile(dir, 'asyncify', ['--expose-gc']);
    await buildWasmCodeCache(dir, 'asyncify', ['--expose-gc']);
    const good = readFileSync(file);
    writeFileSync(file, readFileSync(other));
    const result = await runChild(dir);
    expect({ loaded: result.loaded, rejected: result.rejected }).toEqual({ loaded: 0, rejected: 1 });
    expect(result.rows).toEqual(compiled.rows);
    expect(existsSync(`${file}.building`)).toBe(false); // the file is new: no builder started
    expect(readFileSync(file).equals(readFileSync(other))).toBe(true);
    writeFileSync(file, good);
  });

  it("the sync build has a file of its own: a sync-build process loads SQLite from it, gets what a compiling one gets, and leaves the Asyncify build's file alone", async () => {
    const asyncifyFile = readFileSync(file);
    const syncFile = await buildWasmCodeCache(dir, 'sync', []);
    expect(syncFile).toBe(codeCacheFile(dir, 'sync', []));
    expect(syncFile).not.toBe(file);
    const [plain, cached] = [await runChild(undefined, 'sync'), await runChild(dir, 'sync')];
    expect([plain.loaded, cached.loaded]).toEqual([0, 1]);
    expect(plain.rows).toEqual(compiled.rows);
    expect(cached.rows).toEqual(compiled.rows);
    expect(readFileSync(file).equals(asyncifyFile)).toBe(true);
  });

  it('without a file, a process compiles and leaves one for the next', async () => {
    rmSync(file);
    const first = await runChild(dir);
    expect({ loaded: first.loaded, rejected: first.rejected }).toEqual({ loaded: 0, rejected: 0 });
    await waitFor(() => existsSync(file) && !existsSync(`${file}.building`), 60_000);
    expect((await runChild(dir)).loaded).toBe(1);
  });
});

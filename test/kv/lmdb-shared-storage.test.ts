/**
 * Every Kv a process opens on one lmdb directory (by any path to it) shares one LmdbStorage: two would run
 * two lmdb-js writers on one LMDB environment, and a synchronous commit through one while the other's group
 * commit held the write lock hung the process.
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { openLmdbKv } from '../../src/kv/lmdb.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'mvdb-lmdb-shared-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

it('a synchronous commit through one Kv while another Kv of the same directory has a group commit in flight lands, without hanging', async () => {
  const dir = join(root, 'store');
  const link = join(root, 'link');
  await (await openLmdbKv(dir)).close();
  symlinkSync(dir, link);
  const child = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'lmdb-two-handles.ts'), dir, link], {
    cwd: resolve(here, '../..'),
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(child.signal, `the child hung: ${child.stderr}`).toBeNull();
  const versions = /^done (\d+) (\d+) (\d+)\n$/.exec(child.stdout)?.slice(1).map(BigInt);
  expect(versions, child.stderr).toHaveLength(3);
  expect(new Set(versions).size).toBe(3);
});

it('Kvs opened on one directory by different paths share commits, and closing one leaves the others working', async () => {
  const dir = join(root, 'paths');
  const first = await openLmdbKv(dir);
  const link = join(root, 'paths-link');
  symlinkSync(dir, link);
  const second = await openLmdbKv(link);
  const third = await openLmdbKv(join(dir, '.'));
  await first.run(async (tx) => tx.set(Buffer.from('k'), Buffer.from('1')));
  expect(second.committedVersionSync!()).toBe(first.committedVersionSync!());
  await first.close();
  await second.run(async (tx) => tx.set(Buffer.from('k'), Buffer.from('2')));
  const tx = third.createTransactionSync!();
  expect(Buffer.from(tx.get(Buffer.from('k'))!).toString()).toBe('2');
  tx.cancel();
  await second.close();
  await third.close();
  // The last close closed the store: it opens again.
  const again = await openLmdbKv(dir);
  expect(again.committedVersionSync!()).toBeGreaterThan(0n);
  await again.close();
});

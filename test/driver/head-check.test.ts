/**
 * Each statement (or transaction) reads at the head as of its start. On embedded stores the
 * VFS skips the head check when the store's version has not moved since its last snapshot:
 * these tests make sure a commit by another store handle or another process is never missed,
 * including right after statements that took that shortcut.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { openLmdbKv } from '../../src/kv/lmdb.ts';
import { open } from '../../src/index.ts';
import { tempStoreDir, uniqueName } from './helpers.ts';

const run = promisify(execFile);
const lmdb = tempStoreDir();
afterAll(() => lmdb.remove());

describe('a statement sees every commit made before it starts (lmdb)', () => {
  it('by a connection on another handle of the same store directory', async () => {
    const name = uniqueName('head');
    const [kvA, kvB] = [await openLmdbKv(join(lmdb.dir, 'handles')), await openLmdbKv(join(lmdb.dir, 'handles'))];
    const a = await open(name, { store: kvA });
    const b = await open(name, { store: kvB });
    try {
      await a.exec(`CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)`);
      for (let id = 1; id <= 5; id++) {
        // Two reads with nothing committed in between: the second takes the unchanged-store shortcut.
        expect(await b.get(`SELECT count(*) AS n FROM t`)).toEqual({ n: id - 1 });
        expect(await b.get(`SELECT count(*) AS n FROM t`)).toEqual({ n: id - 1 });
        await a.run(`INSERT INTO t VALUES (?, ?)`, [id, `row ${id}`]);
        expect(await b.get(`SELECT max(id) AS id FROM t`)).toEqual({ id });
      }
    } finally {
      await a.close();
      await b.close();
      await kvA.close();
      await kvB.close();
    }
  });

  it('by another process', async () => {
    const name = uniqueName('head-proc');
    const db = await open(name, { store: lmdb.url });
    try {
      await db.exec(`CREATE TABLE counter(id INTEGER PRIMARY KEY, n INTEGER); INSERT INTO counter VALUES (1, 0)`);
      const fixture = join(import.meta.dirname, 'fixtures', 'increment.ts');
      for (let n = 1; n <= 2; n++) {
        expect(await db.get(`SELECT n FROM counter`)).toEqual({ n: n - 1 });
        expect(await db.get(`SELECT n FROM counter`)).toEqual({ n: n - 1 });
        await run(process.execPath, ['--import', 'tsx', fixture, lmdb.url, name, '1'], { timeout: 120_000 });
        expect(await db.get(`SELECT n FROM counter`)).toEqual({ n });
      }
    } finally {
      await db.close();
    }
  });
});

/** A closed connection's SQLite module serves the next connection, which must see only its own database. */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_OPEN_CONNECTIONS, open, setMaxOpenConnections } from '../../src/index.ts';
import { sqliteModuleStats } from '../../vfs/index.ts';
import { onEachBuild } from './helpers.ts';

const store = (): string => `memory:reuse-${randomUUID()}`;

async function withRows(url: string, name: string, rows: string[]): Promise<void> {
  const db = await open(name, { store: url });
  await db.exec('CREATE TABLE t(x TEXT)');
  for (const x of rows) await db.run('INSERT INTO t VALUES (?)', [x]);
  await db.close();
}

onEachBuild(() => {
  describe('SQLite module reuse', () => {
    afterEach(() => setMaxOpenConnections(DEFAULT_MAX_OPEN_CONNECTIONS));

    it('the next database opened after a close gets the closed one’s module and reads and writes only its own pages', async () => {
      const url = store();
      await withRows(url, 'a', ['a1', 'a2']);
      const { reused, built } = sqliteModuleStats;
      const b = await open('b', { store: url });
      await b.exec('CREATE TABLE t(x TEXT)');
      await b.run('INSERT INTO t VALUES (?)', ['b1']);
      expect(sqliteModuleStats).toEqual({ reused: reused + 1, built });
      expect(await b.query('SELECT x FROM t')).toEqual([{ x: 'b1' }]);
      const pinned = await b.at(b.version);
      expect(await pinned.query('SELECT x FROM t')).toEqual([{ x: 'b1' }]);
      await pinned.close();
      await b.close();
      const a = await open('a', { store: url });
      expect(await a.query('SELECT x FROM t ORDER BY x')).toEqual([{ x: 'a1' }, { x: 'a2' }]);
      await a.close();
    });

    it('a reused module carries no process-wide SQLite setting over: heap limits one database set are not the next one’s', async () => {
      const url = store();
      const a = await open('a', { store: url });
      await a.exec('PRAGMA hard_heap_limit=5000000');
      await a.exec('PRAGMA soft_heap_limit=4000000');
      await a.close();
      const { reused } = sqliteModuleStats;
      const b = await open('b', { store: url });
      await b.exec('CREATE TABLE t(x)');
      expect(sqliteModuleStats.reused).toBe(reused + 1);
      // A fresh module's defaults: no limit.
      expect(await b.query('PRAGMA hard_heap_limit')).toEqual([{ hard_heap_limit: 0 }]);
      expect(await b.query('PRAGMA soft_heap_limit')).toEqual([{ soft_heap_limit: 0 }]);
      await b.close();
    });

    it('past the connection cap, evicted connections’ modules serve other databases without mixing them up', async () => {
      const url = store();
      const names = ['p', 'q', 'r', 's', 't'];
      for (const name of names) await withRows(url, name, [`${name}-row`]);
      setMaxOpenConnections(2);
      const dbs = await Promise.all(names.map((name) => open(name, { store: url })));
      const reusedBefore = sqliteModuleStats.reused;
      for (let round = 0; round < 3; round++) {
        for (const [i, db] of dbs.entries()) {
          await db.run('INSERT INTO t VALUES (?)', [`${names[i]}-${round}`]);
          const rows = await db.query('SELECT x FROM t ORDER BY rowid', [], { rowMode: 'array' });
          expect(rows.map((r) => r[0])).toEqual([`${names[i]}-row`, ...Array.from({ length: round + 1 }, (_, k) => `${names[i]}-${k}`)]);
        }
      }
      expect(sqliteModuleStats.reused).toBeGreaterThan(reusedBefore);
      await Promise.all(dbs.map((db) => db.close()));
    });
  });
});

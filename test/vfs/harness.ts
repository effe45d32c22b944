/** A bare SQLite connection on the page-store VFS (no driver), for VFS tests. */
import * as SQLite from '@journeyapps/wa-sqlite';
import type { Kv } from '../../src/kv/types.ts';
import { openDatabase, openDatabaseSync, type DatabaseRef } from '../../src/engine/index.ts';
import { PageStoreVfs, VFS_NAME, createSqliteModule, type PageStoreVfsOptions } from '../../vfs/index.ts';

export interface Harness {
  vfs: PageStoreVfs;
  ref: DatabaseRef;
  /** Runs SQL (several statements allowed); rows of every statement, as arrays. */
  all(sql: string): Promise<unknown[][]>;
  /** Like all(), but resolves to the error (SQLite's, with the VFS's cause) instead of throwing. */
  fails(sql: string): Promise<{ code: number; message: string; cause: unknown }>;
  close(): Promise<void>;
}

export async function connect(
  kv: Kv,
  name: string,
  options: Partial<PageStoreVfsOptions> & { pageSize?: number } = {},
): Promise<Harness> {
  const { module, sqlite3, serializer } = await createSqliteModule(options.synchronous ? 'sync' : 'asyncify');
  const ref = await openDatabase(kv, name, { create: true, ...(options.pageSize ? { pageSize: options.pageSize } : {}) });
  const vfs = new PageStoreVfs(module, {
    resolve: (n, create) => (n === name ? ref : options.synchronous ? openDatabaseSync(kv, n, { create }) : openDatabase(kv, n, { create })),
    ...options,
  });
  sqlite3.vfs_register(vfs as unknown as SQLiteVFS, false);
  const flags = options.pinned ? SQLite.SQLITE_OPEN_READONLY : SQLite.SQLITE_OPEN_READWRITE | SQLite.SQLITE_OPEN_CREATE;
  const db = await serializer.run(() => sqlite3.open_v2(name, flags, VFS_NAME));
  const all = (sql: string) =>
    serializer.run(async () => {
      vfs.takeError();
      const rows: unknown[][] = [];
      await sqlite3.exec(db, sql, (row) => void rows.push(row));
      return rows;
    });
  return {
    vfs,
    ref,
    all,
    async fails(sql) {
      try {
        await all(sql);
      } catch (error) {
        const e = error as { code: number; message: string };
        return { code: e.code, message: e.message, cause: vfs.takeError() };
      }
      throw new Error(`expected ${JSON.stringify(sql)} to fail`);
    },
    close: () => serializer.run(() => sqlite3.close(db).then(() => undefined)),
  };
}

/**
 * Child process that writes the wasm code cache of one wa-sqlite build (see wasm-code-cache.ts):
 *   node [--import tsx] vfs/wasm-code-cache-builder.ts <dir> <sync|asyncify> [build marker to remove]
 * It compiles SQLite lazily with TurboFan only (--no-liftoff), so that the functions its workload runs
 * (opening a database of our VFS, writing, reopening it and a first query: what a cold open runs) get
 * optimized code and nothing else gets any; then it writes that code. Functions it did not run are
 * compiled on first call in the processes that load the cache, as without it.
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import v8 from 'node:v8';
import * as SQLite from '@journeyapps/wa-sqlite';
import { openDatabase, openKv, type DatabaseRef } from '../src/engine/index.ts';
import { PageStoreVfs, VFS_NAME } from './page-store-vfs.ts';
import { cacheFileContents, codeCacheFile, processV8Flags, serializeModule } from './wasm-code-cache.ts';
import { SQLITE_BUILDS, compiledWasm, createSqliteModule, wasmBytes, type SqliteBuild } from './wasm.ts';

const [dir, build, marker] = process.argv.slice(2) as [string | undefined, SqliteBuild | undefined, string | undefined];
if (dir === undefined || build === undefined || !SQLITE_BUILDS.includes(build)) {
  throw new Error(`usage: wasm-code-cache-builder.ts <dir> <${SQLITE_BUILDS.join('|')}> [build marker]`);
}

// Set at run time, not on the command line, so that they can be set back before serializing: V8 keys the
// code to a hash of its flags, and a process that loads the cache runs with the defaults plus its command
// line's (which this process got too). --no-liftoff also turns dynamic tiering off; both go back.
v8.setFlagsFromString('--no-liftoff');

try {
  const kv = await openKv('memory:');
  const ref = await openDatabase(kv, 'warm', { create: true });
  const sql = (first: boolean): string =>
    (first ? 'CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, payload BLOB); CREATE INDEX t_name ON t(name);' : '') +
    "BEGIN; INSERT INTO t(name, score, payload) VALUES ('a', 1.5, x'00ff'), ('b', 2, NULL); UPDATE t SET score = score + 1 WHERE id = 1; DELETE FROM t WHERE id = 2; COMMIT;" +
    'SELECT id, name, score, payload FROM t WHERE id = 1; SELECT count(*) FROM t WHERE name >= ? ; SELECT * FROM t ORDER BY name LIMIT 10;';
  // Twice, on two connections: the second opens an existing database and reads its schema, as a cold open does.
  for (const first of [true, false]) await runOn(ref, sql(first));
  v8.setFlagsFromString('--liftoff --wasm-dynamic-tiering');
  for (const flag of processV8Flags()) v8.setFlagsFromString(flag);
  const contents = cacheFileContents(await wasmBytes(build), serializeModule(await compiledWasm(build)));
  const file = codeCacheFile(dir, build);
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, contents);
  await rename(temp, file); // readers see the whole file or none
} finally {
  if (marker !== undefined) await rm(marker, { force: true });
}
process.exit(0);

async function runOn(ref: DatabaseRef, sql: string): Promise<void> {
  const m = await createSqliteModule(build!);
  // The sync build takes only answers given at once: the VFS in its synchronous mode (as the driver runs it).
  const synchronous = build === 'sync';
  m.registerVfs(new PageStoreVfs(m.module, { resolve: synchronous ? () => ref : async () => ref, synchronous }));
  const { sqlite3 } = m;
  const db = await sqlite3.open_v2('warm', SQLite.SQLITE_OPEN_READWRITE | SQLite.SQLITE_OPEN_CREATE, VFS_NAME);
  for await (const stmt of sqlite3.statements(db, sql)) {
    if (sqlite3.bind_parameter_count(stmt) > 0) sqlite3.bind_collection(stmt, ['a']);
    while ((await sqlite3.step(stmt)) === SQLite.SQLITE_ROW) sqlite3.row(stmt);
  }
  await sqlite3.close(db);
}

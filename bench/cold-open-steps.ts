/**
 * One cold open + first query, taken one call at a time: the calls src/driver/index.ts open() and
 * Connection.open() + execute() make, in their order, each timed. Run by bench/profile-cold-open.ts --steps
 * in a fresh process per sample; prints one JSON line of step -> ms. Keep it in step with those two.
 *   node --import tsx bench/cold-open-steps.ts <dir> <name> [sync|asyncify]
 *   node --import tsx bench/cold-open-steps.ts --wa-sqlite [sync|asyncify]
 * The build defaults to sync (what open() runs on LMDB).
 * The second form is the floor under any WebAssembly SQLite here: that wa-sqlite build alone, no
 * store and no VFS of ours (compile, instantiate, open :memory:, create the bench's table, one insert,
 * the first select), so SQLite's own code runs for the first time much as in a cold open.
 */
import { join } from 'node:path';
import * as SQLite from '@journeyapps/wa-sqlite';
import {
  PageStoreVfs,
  VFS_NAME,
  compiledWasm,
  createSqliteModule,
  head,
  openDatabase,
  prepareFirstSqliteModule,
  type SqliteBuild,
} from '../vfs/index.ts';
import { acquireStore } from '../src/driver/store.ts';
import { SqliteApi, encodeSql } from '../src/driver/sqlite.ts';
import '../src/index.ts';
import { SCHEMA } from './lib/table.ts';
import { mvdbLmdb } from './systems/mvdb.ts';

const args = process.argv.slice(2);
const dir = args[0];
const name = dir === '--wa-sqlite' ? undefined : args[1];
const build = (args[dir === '--wa-sqlite' ? 1 : 2] ?? 'sync') as SqliteBuild;
if (!dir || (!name && dir !== '--wa-sqlite') || (build !== 'sync' && build !== 'asyncify')) {
  throw new Error('usage: node --import tsx bench/cold-open-steps.ts <dir> <name> [sync|asyncify] | --wa-sqlite [sync|asyncify]');
}
await mvdbLmdb.preload?.();

const steps: Record<string, number> = {};
let last = performance.now();
const start = last;
const step = (label: string): void => {
  const now = performance.now();
  steps[label] = now - last;
  last = now;
};
let compiledAt = 0;

if (dir === '--wa-sqlite') {
  await compiledWasm(build);
  step('compile the wasm');
  const { sqlite3 } = await createSqliteModule(build);
  step('instantiate + glue + Factory');
  const db = await sqlite3.open_v2(':memory:');
  step('sqlite3_open_v2 (:memory:)');
  await sqlite3.exec(db, SCHEMA);
  step('create the table');
  await sqlite3.exec(db, "INSERT INTO t VALUES (4242, 'user4242', 7, 'x')");
  step('insert one row');
  let rows = 0;
  await sqlite3.exec(db, 'SELECT id, name, score, payload FROM t WHERE id = 4242', () => void rows++);
  if (rows !== 1) throw new Error('the select found no row');
  step('select (first row)');
  steps.TOTAL = last - start;
  console.log(JSON.stringify(steps));
  process.exit(0);
}

// open()
prepareFirstSqliteModule(build);
void compiledWasm(build).then(() => void (compiledAt = performance.now() - start));
step('start compile + module setup');
const { kv } = await acquireStore(`lmdb:${join(dir, 'store')}`);
step('open() store (LMDB env)');
const ref = await openDatabase(kv, name!, { create: true });
step('open() openDatabase');
await head(ref);
step('open() head');
// first query: Connection.open (the module started at open(): waits for the compile, then instantiates)
const sqlite = await createSqliteModule(build);
const { module } = sqlite;
step('wait for compile + instantiate');
const vfs = new PageStoreVfs(module, { resolve: () => ref, synchronous: build === 'sync' });
sqlite.registerVfs(vfs);
step('new PageStoreVfs + register');
const api = new SqliteApi(sqlite);
const opened = await api.open(name!, SQLite.SQLITE_OPEN_READWRITE | SQLite.SQLITE_OPEN_CREATE, VFS_NAME);
if ('code' in opened) throw new Error(opened.message);
step('sqlite3_open_v2 (xOpen)');
// execute: prepare, bind, step
const prepared = await api.prepare(opened.db, encodeSql('SELECT id, name, score, payload FROM t WHERE id = ?'), 0, true);
step('prepare (xLock, schema read)');
module._sqlite3_bind_int(prepared.stmt, 1, 4242);
if ((await api.step(prepared.stmt)) !== SQLite.SQLITE_ROW) throw new Error('the first query found no row');
step('step (first row)');
steps.TOTAL = last - start;
steps['(wasm compiled at)'] = compiledAt;
console.log(JSON.stringify(steps));
process.exit(0);

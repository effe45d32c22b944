/**
 * Child process of wasm-code-cache.test.ts: gets a SQLite module of the build named in argv[2] the way the
 * driver does (its cache directory, if any, in MVDB_WASM_CODE_CACHE), runs a few statements and prints
 * what they returned and whether the code came from the cache.
 */
import { codeCacheStats } from '../../vfs/wasm-code-cache.ts';
import { createSqliteModule, type SqliteBuild } from '../../vfs/wasm.ts';

const m = await createSqliteModule(process.argv[2] as SqliteBuild);
const db = await m.sqlite3.open_v2(':memory:');
const rows: unknown[][] = [];
await m.sqlite3.exec(
  db,
  'CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL); CREATE INDEX t_name ON t(name);' +
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) INSERT INTO t SELECT i, 'n' || (i * 7 % 500), i / 3.0 FROM n;" +
    "SELECT count(*), sum(id), round(sum(score), 3), min(name), max(name) FROM t WHERE name > 'n2';" +
    'SELECT id, name FROM t WHERE id IN (1, 250, 500) ORDER BY id DESC;',
  (row) => void rows.push(row),
);
await m.sqlite3.close(db);
console.log(JSON.stringify({ ...codeCacheStats, rows }));
process.exit(0);

/**
 * Child process of wasm-code-cache.test.ts: gets SQLite the way the driver does (its cache directory,
 * if any, in MVDB_WASM_CODE_CACHE), runs a few statements on our VFS and prints what they returned and
 * whether the code came from the cache.
 */
import { openKv } from '../../src/engine/index.ts';
import { codeCacheStats } from '../../vfs/wasm-code-cache.ts';
import { connect } from './harness.ts';

const h = await connect(await openKv('memory:'), 'cached');
const rows = await h.all(
  'CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL); CREATE INDEX t_name ON t(name);' +
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) INSERT INTO t SELECT i, 'n' || (i * 7 % 500), i / 3.0 FROM n;" +
    "SELECT count(*), sum(id), round(sum(score), 3), min(name), max(name) FROM t WHERE name > 'n2';" +
    'SELECT id, name FROM t WHERE id IN (1, 250, 500) ORDER BY id DESC;',
);
await h.close();
console.log(JSON.stringify({ ...codeCacheStats, rows }));
process.exit(0);

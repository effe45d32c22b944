/**
 * Profiles a cold open: run once to create a 10,000-row database in <dir>, then again (a fresh process)
 * to time and profile open() + the first query. Usage: npx tsx bench/profile-cold-open.ts <dir> [out.cpuprofile]
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { open } from '../src/index.ts';
import { profiled } from './lib/profiler.ts';
import { buildRows } from './lib/table.ts';
import { mvdbLmdb } from './systems/mvdb.ts';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: npx tsx bench/profile-cold-open.ts <dir> [out.cpuprofile]');
  process.exit(2);
}
const loc = { dir, name: 'cold' };
if (!existsSync(join(dir, 'store'))) {
  const conn = await mvdbLmdb.open(loc);
  await buildRows(conn, 10_000);
  await conn.close();
  console.log(`created ${join(dir, 'store')}; run again to profile the cold open`);
} else {
  const steps: [string, number][] = [];
  const t0 = performance.now();
  await profiled(process.argv[3] ?? join(dir, 'cold-open.cpuprofile'), async () => {
    const db = await open('cold', { store: `lmdb:${join(dir, 'store')}` });
    steps.push(['open()', performance.now() - t0]);
    await db.get('SELECT * FROM t WHERE id = ?', [42]);
    steps.push(['first query', performance.now() - t0]);
    await db.get('SELECT * FROM t WHERE id = ?', [4242]);
    steps.push(['second query', performance.now() - t0]);
    await db.close();
  });
  for (const [what, ms] of steps) console.log(`${what.padEnd(14)} at ${ms.toFixed(1)} ms`);
}

/** 1,000 databases open at once in one process: resident memory and time to open each. */
import { inFreshChild } from '../lib/child-process.ts';
import type { Conn, Sample, Sizes, System, Workload } from '../lib/types.ts';

const count = (s: Sizes): number => (s.quick ? 20 : 1_000);
const DEFAULT_CAP = 128; // mvdb's DEFAULT_MAX_OPEN_CONNECTIONS, for the description only
const MB = 1024 * 1024;

export interface ManyResult {
  rssBeforeMB: number;
  rssAfterMB: number;
  openMsPerDb: number;
}

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

/**
 * Runs in a bench child. `create`: make `n` small databases and close them. `open`: open the existing
 * ones and run a query on each, keeping all open. `create-keep`: make them and keep them open (systems
 * whose databases do not outlive their connection).
 */
export async function openMany(sys: System, dir: string, n: number, mode: 'create' | 'open' | 'create-keep', maxOpen?: number): Promise<ManyResult> {
  if (maxOpen !== undefined) sys.maxOpenConnections?.set(maxOpen);
  gc();
  const rssBefore = process.memoryUsage().rss;
  const open: Conn[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const conn = await sys.open({ dir, name: `many-${i}` });
    if (mode !== 'open') {
      await conn.exec('CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
      await conn.run('INSERT INTO notes(body) VALUES (?)', [`database ${i}`]);
    }
    const row = await conn.get('SELECT body FROM notes WHERE id = 1');
    if (row?.[0] !== `database ${i}`) throw new Error(`many-dbs: database ${i} returned ${String(row?.[0])}`);
    if (mode === 'create') await conn.close();
    else open.push(conn);
  }
  const ms = performance.now() - t0;
  gc();
  const rssAfter = process.memoryUsage().rss;
  for (const conn of open) await conn.close();
  return { rssBeforeMB: rssBefore / MB, rssAfterMB: rssAfter / MB, openMsPerDb: ms / n };
}

export const manyDbs: Workload = {
  id: 'many-dbs',
  title: '1,000 open databases',
  describe: (s) => `A fresh process opens ${count(s).toLocaleString('en')} existing one-table databases and reads a row from each, keeping all open; resident set size (RSS, whole process, after GC) and mean time per open. Systems without persistence create the databases instead. mvdb closes idle connections past a cap (an LRU, default ${DEFAULT_CAP}): measured with the default, and with the cap raised so all ${count(s).toLocaleString('en')} stay live.`,
  applies: () => true,
  reps: () => 1,
  async run(ctx): Promise<Sample[]> {
    const n = count(ctx.sizes);
    const dir = ctx.dir;
    const measure = (maxOpen?: number): Promise<ManyResult> =>
      inFreshChild<ManyResult>('many-dbs', { system: ctx.sys.id, dir, count: n, mode: ctx.sys.persistent ? 'open' : 'create-keep', maxOpen });
    if (ctx.sys.persistent) await inFreshChild('many-dbs', { system: ctx.sys.id, dir, count: n, mode: 'create' });
    const samples = (r: ManyResult, suffix: string): Sample[] => [
      { case: `resident MB${suffix}`, value: r.rssAfterMB, unit: 'MB', better: 'lower', extra: { baselineMB: r.rssBeforeMB } },
      { case: `ms per open${suffix}`, value: r.openMsPerDb, unit: 'ms', better: 'lower', extra: { created: !ctx.sys.persistent } },
    ];
    const out = samples(await measure(), '');
    const cap = ctx.sys.maxOpenConnections;
    if (cap && cap.default < n) out.push(...samples(await measure(n), ', all live'));
    return out;
  },
};

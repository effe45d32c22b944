/**
 * Entry of a bench child process (forked by child-process.ts). It takes tasks over IPC, one at a time,
 * and keeps at most one open connection between tasks (a writer waiting for its next round).
 */
import { getSystem } from '../systems/index.ts';
import type { Conn, DbLocation } from './types.ts';
import { writerLoop, type WriterPattern } from '../workloads/writers.ts';
import { openMany } from '../workloads/many-dbs.ts';
import { profiled } from './profiler.ts';
import { codeCacheStats } from '../../vfs/wasm-code-cache.ts';

let conn: Conn | undefined;

type Args = Record<string, unknown>;
const tasks: Record<string, (a: Args) => Promise<unknown>> = {
  /**
   * Open an existing database and run its first query; the imports above are already loaded. With
   * `profile` (a file name, from bench/profile-cold-open.ts): a CPU profile of the timed part. Also says
   * whether SQLite's code came from the wasm code cache (MVDB_WASM_CODE_CACHE).
   */
  async 'cold-open'(a) {
    const sys = getSystem(a.system as string);
    await sys.preload?.();
    const timed = async (): Promise<{ openMs: number; queryMs: number; codeFromCache: boolean }> => {
      const t0 = performance.now();
      const c = await sys.open(a.loc as DbLocation);
      const t1 = performance.now();
      const row = await c.get(a.sql as string, a.params as [number]);
      const t2 = performance.now();
      if (row === undefined) throw new Error('cold-open: the first query found no row');
      await c.close();
      return { openMs: t1 - t0, queryMs: t2 - t1, codeFromCache: codeCacheStats.loaded > 0 };
    };
    return typeof a.profile === 'string' ? profiled(a.profile, timed) : timed();
  },
  async 'writer-open'(a) {
    conn = await getSystem(a.system as string).open(a.loc as DbLocation);
    await conn.get('SELECT count(*) FROM w'); // the first read happens before the clock starts
    return null;
  },
  async 'writer-run'(a) {
    if (!conn) throw new Error('writer-run before writer-open');
    return writerLoop(conn, a.pattern as WriterPattern, a.index as number, a.durationMs as number);
  },
  async 'writer-close'() {
    await conn?.close();
    conn = undefined;
    return null;
  },
  async 'many-dbs'(a) {
    return openMany(getSystem(a.system as string), a.dir as string, a.count as number, a.mode as 'create' | 'open' | 'create-keep', a.maxOpen as number | undefined);
  },
};

process.on('message', (msg: { id: number; task: string; args: Args }) => {
  if (msg.task === 'exit') {
    process.exit(0); // do not wait on handles a store may keep open

  }
  const fn = tasks[msg.task];
  const reply = (r: object): void => void process.send!({ id: msg.id, ...r });
  if (!fn) return reply({ ok: false, error: `unknown bench child task "${msg.task}"` });
  fn(msg.args).then(
    (result) => reply({ ok: true, result }),
    (err: unknown) => reply({ ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) }),
  );
});

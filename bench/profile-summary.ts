/**
 * Summarizes a V8 .cpuprofile (from `node --cpu-prof`): where the time went, by layer of mvdb (kv,
 * engine, vfs, driver), by SQLite's wasm, and by the top functions. Usage:
 *   npx tsx bench/profile-summary.ts <file.cpuprofile> [top N]
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Which part of the system a frame belongs to. */
export function layerOf(f: CallFrame): string {
  const u = f.url;
  if (f.functionName === '(garbage collector)') return 'gc';
  if (f.functionName === '(idle)') return 'idle';
  if (f.functionName === '(program)') return 'program';
  if (u.startsWith('wasm://') || /^(wasm-function|\$)/.test(f.functionName)) return 'sqlite wasm';
  if (u.includes('/@journeyapps/wa-sqlite/')) return 'wa-sqlite glue (js)';
  if (u.includes('/node_modules/lmdb/') || u.includes('/node_modules/msgpackr/')) return 'lmdb (js)';
  if (u.includes('/node_modules/better-sqlite3/')) return 'better-sqlite3';
  for (const [part, name] of [['/src/kv/', 'kv'], ['/src/engine/', 'engine'], ['/vfs/', 'vfs'], ['/src/driver/', 'driver'], ['/bench/', 'bench']] as const) {
    if (u.includes(part)) return name;
  }
  if (u.startsWith('node:') || u === '') return 'node / native';
  return 'other js';
}

export function summarize(p: Profile, top = 25): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);

  const layerSelf = new Map<string, number>();
  const layerOnStack = new Map<string, number>();
  const fnSelf = new Map<string, number>();
  const fnOnStack = new Map<string, number>();
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    const fname = (f: CallFrame): string => `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*?\/(node_modules|src|vfs|bench)\//, (_m, dir: string) => (dir === 'node_modules' ? '' : `${dir}/`))}:${f.lineNumber + 1}`;
    layerSelf.set(layerOf(node.callFrame), (layerSelf.get(layerOf(node.callFrame)) ?? 0) + us);
    fnSelf.set(fname(node.callFrame), (fnSelf.get(fname(node.callFrame)) ?? 0) + us);
    const layers = new Set<string>();
    const fns = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      if (f.functionName === '(root)') continue;
      layers.add(layerOf(f));
      fns.add(fname(f));
    }
    for (const l of layers) layerOnStack.set(l, (layerOnStack.get(l) ?? 0) + us);
    for (const f of fns) fnOnStack.set(f, (fnOnStack.get(f) ?? 0) + us);
  }
  const pct = (us: number): string => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
  const lines = [`total sampled ${(total / 1e6).toFixed(2)} s`, '', 'layer                  self   on stack'];
  for (const [l, us] of [...layerSelf].sort((a, b) => b[1] - a[1])) lines.push(`${l.padEnd(20)} ${pct(us)}  ${pct(layerOnStack.get(l) ?? 0)}`);
  lines.push('', `top ${top} functions by self time`);
  for (const [f, us] of [...fnSelf].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`${pct(us)}  ${f}`);
  lines.push('', `top ${top} mvdb functions by time on stack (inclusive)`);
  const ours = [...fnOnStack].filter(([f]) => /^\S+ (src|vfs)\//.test(f) || / (src|vfs)\//.test(f));
  for (const [f, us] of ours.sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`${pct(us)}  ${f}`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [top N]');
    process.exit(2);
  }
  console.log(summarize(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(process.argv[3] ?? 25)));
}

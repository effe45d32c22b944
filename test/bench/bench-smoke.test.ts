/**
 * Smoke test of `npm run bench -- --quick`: every workload runs on every system it applies to, without
 * error, and the JSON, markdown and SVG outputs are written and consistent. Never checks a timing.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchResult } from '../../bench/lib/harness.ts';
import type { TargetOutcome } from '../../bench/lib/targets.ts';
import { allSystems } from '../../bench/systems/index.ts';
import { WORKLOADS } from '../../bench/workloads/index.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
let out: string;
let result: BenchResult & { targets: TargetOutcome[] };
let stderr: string;

beforeAll(async () => {
  out = mkdtempSync(join(os.tmpdir(), 'mvdb-bench-smoke-'));
  const r = await run(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--out', out], { cwd: ROOT, maxBuffer: 16 << 20 });
  stderr = r.stderr;
  result = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
}, 180_000);

afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('bench --quick', () => {
  it('runs every workload on every system it applies to, without errors', () => {
    expect(result.workloads.flatMap((w) => w.errors.map((e) => `${w.id}/${e.system}: ${e.error}`))).toEqual([]);
    expect(result.workloads.map((w) => w.id)).toEqual(WORKLOADS.map((w) => w.id));
    for (const w of WORKLOADS) {
      const measured = new Set(result.workloads.find((x) => x.id === w.id)!.results.map((c) => c.system));
      const expected = allSystems().filter((s) => w.applies(s)).map((s) => s.id);
      expect([...measured].sort(), w.id).toEqual([...expected].sort());
    }
    expect(stderr).not.toMatch(/WARNING/); // e.g. a writer's lost update
  });

  it('reports finite, positive numbers with units and the machine header', () => {
    for (const w of result.workloads) {
      for (const c of w.results) {
        expect(Number.isFinite(c.value) && c.value > 0, `${w.id}/${c.system}/${c.case} = ${c.value}`).toBe(true);
        expect(c.unit).not.toBe('');
      }
    }
    expect(result.machine.cores).toBeGreaterThan(0);
    expect(result.machine.loadAverageAtStart).toHaveLength(3);
    expect(result.sizes.quick).toBe(true);
  });

  it('writes a markdown table with every system and every target', () => {
    const md = readFileSync(join(out, 'results.md'), 'utf8');
    for (const s of result.systems) expect(md).toContain(s.label);
    for (const t of result.targets) expect(md).toContain(t.target);
    expect(md).toContain('load average');
  });

  it('writes one well-formed SVG chart per measured workload with a bar per result', () => {
    for (const w of result.workloads.filter((x) => x.results.length > 0)) {
      const file = join(out, `${w.id}.svg`);
      expect(existsSync(file), file).toBe(true);
      const svg = readFileSync(file, 'utf8');
      expect(svg.startsWith('<svg ')).toBe(true);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
      expect(svg.match(/<rect x=/g)?.length ?? 0).toBe(w.results.length);
    }
  });
});

/**
 * Random concurrent transactions, interleaved step by step, on each backend. Then:
 *  - serializability: replaying the committed writers serially in commit order on a plain
 *    Map gives every value each of them read (snapshot reads excepted: they are unprotected);
 *  - snapshot isolation: every read of every transaction (committed, failed or read-only,
 *    snapshot reads included) equals the state at its read version plus its own writes;
 *  - no false conflicts: a transaction that failed with 1020 read something that a commit
 *    newer than its read version (and acknowledged before its commit) wrote.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { concatBytes, prefixEnd, utf8 } from '../../src/kv/bytes.ts';
import { errorCode } from '../../src/kv/errors.ts';
import { openKv } from '../../src/kv/index.ts';
import { openMemoryKv } from '../../src/kv/memory.ts';
import type { Kv, KvTransaction } from '../../src/kv/types.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The backends under test: adding one is one line. */
const BACKENDS: [name: string, open: () => Promise<Kv>][] = [
  ['memory', async () => openMemoryKv()],
  ['lmdb', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kv-serializable-'));
    dirs.push(dir);
    return openKv(`lmdb:${dir}`);
  }],
];

type Op =
  | { t: 'get'; key: string; snapshot: boolean }
  | { t: 'range'; begin: string; end: string; limit: number; reverse: boolean; snapshot: boolean }
  | { t: 'set'; key: string }
  | { t: 'clear'; key: string }
  | { t: 'clearRange'; begin: string; end: string };

const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f');
const span = fc.tuple(key, key).map(([x, y]) => (x <= y ? { begin: x, end: y } : { begin: y, end: x }));
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant('get' as const), key, snapshot: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc
      .record({ span, limit: fc.nat(3), reverse: fc.boolean(), snapshot: fc.boolean() })
      .map(({ span: s, ...rest }) => ({ t: 'range' as const, ...s, ...rest })),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('set' as const), key }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('clear' as const), key }) },
  { weight: 1, arbitrary: span.map((s) => ({ t: 'clearRange' as const, ...s })) },
);
const program = fc.record({
  initial: fc.subarray(['a', 'b', 'c', 'd', 'e', 'f']),
  txs: fc.array(fc.array(op, { minLength: 1, maxLength: 6 }), { minLength: 2, maxLength: 5 }),
  schedule: fc.array(fc.nat(), { maxLength: 40 }),
});

type Model = Map<string, string>;
type Row = [string, string];

interface Outcome {
  ops: Op[];
  /** What each read returned, by op index. */
  reads: Map<number, string | undefined | Row[]>;
  readVersion?: bigint;
  version?: bigint;
  /** Order in which commits were acknowledged (for the no-false-conflict check). */
  ackOrder?: number;
  failed?: number;
  attemptOrder?: number;
}

// Keys are one ASCII letter under a prefix, so the model compares them as strings (string order = byte order).

/** Runs an op on the model (a Map including the transaction's own writes); returns what a read gives. */
function applyToModel(model: Model, op: Op, value: string): string | undefined | Row[] | void {
  switch (op.t) {
    case 'get':
      return model.get(op.key);
    case 'range': {
      let rows = [...model.entries()].filter(([k]) => k >= op.begin && k < op.end).sort(([a], [b]) => (a < b ? -1 : 1));
      if (op.reverse) rows.reverse();
      if (op.limit > 0) rows = rows.slice(0, op.limit);
      return rows;
    }
    case 'set':
      model.set(op.key, value);
      return;
    case 'clear':
      model.delete(op.key);
      return;
    case 'clearRange':
      for (const k of [...model.keys()]) if (k >= op.begin && k < op.end) model.delete(k);
      return;
  }
}

const valueOf = (tx: number, i: number) => `t${tx}.${i}`;
const isRead = (op: Op) => op.t === 'get' || op.t === 'range';

type Program = typeof program extends fc.Arbitrary<infer T> ? T : never;

async function execute(kv: Kv, prefix: Uint8Array, p: Program): Promise<Outcome[]> {
  const k = (name: string) => concatBytes(prefix, utf8(name));
  const name = (bytes: Uint8Array) => Buffer.from(bytes.subarray(prefix.length)).toString();
  const init = kv.createTransaction();
  for (const key of p.initial) init.set(k(key), utf8('init'));
  await init.commit();

  const txs: KvTransaction[] = p.txs.map(() => kv.createTransaction({ retryLimit: 0 }));
  const outcomes: Outcome[] = p.txs.map((ops) => ({ ops, reads: new Map() }));
  const next = p.txs.map(() => 0);
  const done = p.txs.map(() => false);
  let counter = 0;

  const step = async (i: number) => {
    if (done[i]) return;
    const tx = txs[i]!;
    const out = outcomes[i]!;
    const j = next[i]!++;
    const op = out.ops[j];
    if (op === undefined) {
      done[i] = true;
      out.attemptOrder = counter++;
      try {
        const { version } = await tx.commit();
        out.version = version;
        out.ackOrder = counter++;
      } catch (err) {
        out.failed = errorCode(err);
        if (out.failed !== 1020) throw err;
      }
      return;
    }
    const reader = 'snapshot' in op && op.snapshot ? tx.snapshot() : tx;
    switch (op.t) {
      case 'get': {
        const v = await reader.get(k(op.key));
        out.reads.set(j, v === undefined ? undefined : Buffer.from(v).toString());
        break;
      }
      case 'range': {
        const rows = await reader.getRange(k(op.begin), k(op.end), { limit: op.limit, reverse: op.reverse });
        out.reads.set(j, rows.map(([key, v]) => [name(key), Buffer.from(v).toString()] as Row));
        break;
      }
      case 'set':
        tx.set(k(op.key), utf8(valueOf(i, j)));
        break;
      case 'clear':
        tx.clear(k(op.key));
        break;
      case 'clearRange':
        tx.clearRange(k(op.begin), k(op.end));
        break;
    }
    if (isRead(op) && out.readVersion === undefined) out.readVersion = await tx.getReadVersion();
  };

  for (const pick of p.schedule) await step(pick % txs.length);
  for (let i = 0; i < txs.length; i++) while (!done[i]) await step(i);
  return outcomes;
}

function check(initial: string[], outcomes: Outcome[]) {
  const start: Model = new Map(initial.map((key) => [key, 'init']));
  const writers = outcomes
    .map((o, i) => ({ o, i }))
    .filter(({ o }) => o.version !== undefined)
    .sort((a, b) => (a.o.version! < b.o.version! ? -1 : 1));

  /** Replays a transaction on `model`, checking the reads `compare` selects; returns the model after it. */
  const replay = (model: Model, o: Outcome, i: number, compare: (op: Op) => boolean, label: string) => {
    const local = new Map(model);
    o.ops.forEach((op, j) => {
      const result = applyToModel(local, op, valueOf(i, j));
      if (isRead(op) && o.reads.has(j) && compare(op)) {
        expect(o.reads.get(j), `${label}: tx ${i} op ${j} ${JSON.stringify(op)}`).toEqual(result);
      }
    });
    return local;
  };

  // Serializability: committed writers, serially in commit order; their protected reads must match.
  let serial = start;
  for (const { o, i } of writers) serial = replay(serial, o, i, (op) => !('snapshot' in op && op.snapshot), 'serial');

  // Snapshot isolation: every transaction's reads see its read version plus its own writes.
  outcomes.forEach((o, i) => {
    if (o.readVersion === undefined) return;
    let atRead = start;
    for (const w of writers) if (w.o.version! <= o.readVersion) atRead = replay(atRead, w.o, w.i, () => false, '');
    replay(atRead, o, i, () => true, 'snapshot');
  });

  // No false conflicts: a 1020 needs a newer, earlier-acknowledged commit writing into a range it read.
  outcomes.forEach((o, i) => {
    if (o.failed === undefined) return;
    expect(o.readVersion, `tx ${i} failed without reading`).toBeDefined();
    const readRanges: [string, string][] = [];
    o.ops.forEach((op, j) => {
      if (!isRead(op) || ('snapshot' in op && op.snapshot)) return;
      if (op.t === 'get') readRanges.push([op.key, op.key + '\x00']);
      else if (op.t === 'range') {
        const rows = o.reads.get(j) as Row[];
        const last = rows[rows.length - 1]?.[0];
        if (op.limit > 0 && rows.length === op.limit && last !== undefined) {
          readRanges.push(op.reverse ? [last, op.end] : [op.begin, last + '\x00']);
        } else readRanges.push([op.begin, op.end]);
      }
    });
    const explained = writers.some(({ o: w }) => {
      if (w.version! <= o.readVersion! || w.ackOrder! > o.attemptOrder!) return false;
      return w.ops.some((op) => {
        const [b, e] = op.t === 'set' || op.t === 'clear' ? [op.key, op.key + '\x00'] : op.t === 'clearRange' ? [op.begin, op.end] : ['', ''];
        return b < e && readRanges.some(([rb, re]) => rb < e && b < re);
      });
    });
    expect(explained, `tx ${i} failed with 1020 but nothing it read was written after its read version`).toBe(true);
  });
}

for (const [backend, open] of BACKENDS) {
  describe(`serializable histories: ${backend}`, () => {
    it('random interleaved transactions are serializable in commit order, with no false conflicts', async () => {
      const kv = await open();
      let run = 0;
      try {
        await fc.assert(
          fc.asyncProperty(program, async (p) => {
            const prefix = utf8(`ser/${run++}/`);
            const outcomes = await execute(kv, prefix, p);
            check(p.initial, outcomes);
            await kv.run(async (tx) => tx.clearRange(prefix, prefixEnd(prefix)));
          }),
          { numRuns: 60 },
        );
      } finally {
        await kv.close();
      }
    });
  });
}

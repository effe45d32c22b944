/** Shared test setup: the backends the engine runs on, and a Kv wrapper that records transaction sizes. */

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKv } from '../../src/kv/index.ts';
import type { Kv, KvTransaction } from '../../src/kv/types.ts';

export interface Backend {
  name: string;
  open(): Promise<{ kv: Kv; close(): Promise<void> }>;
}

const memory: Backend = {
  name: 'memory',
  async open() {
    const kv = await openKv('memory:');
    return { kv, close: () => kv.close() };
  },
};

const lmdb: Backend = {
  name: 'lmdb',
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'mvdb-engine-'));
    const kv = await openKv('lmdb:' + dir);
    return {
      kv,
      async close() {
        await kv.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

// TEMPORARY while the lmdb backend is being written: run on it once it exports its opener.
const lmdbModule = new URL('../../src/kv/lmdb.ts', import.meta.url);
const lmdbAvailable =
  existsSync(lmdbModule) && typeof ((await import(lmdbModule.href)) as { openLmdbKv?: unknown }).openLmdbKv === 'function';
export const backends: Backend[] = lmdbAvailable ? [memory, lmdb] : [memory];

export interface RecordingKv extends Kv {
  /** The largest getApproximateSize() seen just before a commit. */
  readonly largest: number;
  readonly commits: number;
}

/** Records, for every commit, the transaction's approximate size just before it. */
export function recordingKv(kv: Kv): RecordingKv {
  let largest = 0;
  let commits = 0;
  const wrap = (tx: KvTransaction): KvTransaction =>
    new Proxy(tx, {
      get(target, prop) {
        if (prop === 'commit') {
          return () => {
            largest = Math.max(largest, target.getApproximateSize());
            commits++;
            return target.commit();
          };
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  return {
    get url() {
      return kv.url;
    },
    get largest() {
      return largest;
    },
    get commits() {
      return commits;
    },
    createTransaction: (options) => wrap(kv.createTransaction(options)),
    async run(body, options) {
      const tx = wrap(kv.createTransaction(options));
      for (;;) {
        try {
          const value = await body(tx);
          await tx.commit();
          return value;
        } catch (err) {
          await tx.onError(err);
        }
      }
    },
    close: () => kv.close(),
  };
}

/** Every key and value under the whole store, for "nothing changed" checks. */
export async function dumpStore(kv: Kv): Promise<string[]> {
  const tx = kv.createTransaction();
  const rows = await tx.snapshot().getRange(new Uint8Array([0]), new Uint8Array([0xff]));
  tx.cancel();
  return rows.map(([k, v]) => Buffer.from(k).toString('hex') + '=' + Buffer.from(v).toString('hex'));
}

/** A page of `size` bytes whose content is determined by `seed`. */
export function pageOf(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  for (let i = 0; i + 4 <= size; i += 64) view.setUint32(i, (seed * 2654435761 + i) >>> 0);
  out[size - 1] = seed & 0xff;
  return out;
}

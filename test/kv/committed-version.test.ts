/**
 * Kv.committedVersionSync on the embedded stores: the read version a transaction created now
 * gets, synchronously; it moves with every commit, including another Kv's commit on the same
 * store (another process's, on lmdb), and stays put while nothing commits. The VFS skips its
 * per-transaction head check on the strength of "unchanged means nothing was committed".
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { errorCode, ErrorCode } from '../../src/kv/errors.ts';
import { openLmdbKv } from '../../src/kv/lmdb.ts';
import { openMemoryKv } from '../../src/kv/memory.ts';
import type { Kv } from '../../src/kv/types.ts';

const root = mkdtempSync(join(tmpdir(), 'mvdb-committed-version-'));
let dirs = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

const key = (text: string) => Buffer.from(text);

/** Two Kvs on one store: two opens of one lmdb directory, two views of one named memory store. */
const stores: [string, () => Promise<[Kv, Kv]>][] = [
  [
    'lmdb',
    async () => {
      const dir = join(root, `store-${dirs++}`);
      return [await openLmdbKv(dir), await openLmdbKv(dir)];
    },
  ],
  [
    'memory',
    async () => {
      const name = `committed-version-${dirs++}`;
      return [openMemoryKv(name), openMemoryKv(name)];
    },
  ],
];

describe.each(stores)('committedVersionSync on %s', (_name, openPair) => {
  it("is a new transaction's read version, unchanged while nothing commits", async () => {
    const [a, b] = await openPair();
    try {
      await a.run(async (tx) => tx.set(key('k'), key('1')));
      const version = a.committedVersionSync!();
      expect(version).toBe(await a.createTransaction().getReadVersion());
      expect(b.committedVersionSync!()).toBe(version);
      // Reads and read-only transactions commit nothing.
      await b.run(async (tx) => tx.get(key('k')));
      expect(a.committedVersionSync!()).toBe(version);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("sees the other Kv's commit as soon as the commit resolves, before any other await", async () => {
    const [a, b] = await openPair();
    try {
      await a.run(async (tx) => tx.set(key('k'), key('1')));
      for (let round = 0; round < 3; round++) {
        const tx = a.createTransaction();
        tx.set(key('k'), key(String(round)));
        const before = b.committedVersionSync!();
        const { version } = await tx.commit();
        const after = b.committedVersionSync!();
        expect(after).toBeGreaterThan(before);
        expect(after).toBe(version);
        expect(await b.createTransaction().getReadVersion()).toBe(after);
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('fails on a closed store, as createTransaction does', async () => {
    const [a, b] = await openPair();
    await a.close();
    await b.close();
    let failure: unknown;
    try {
      a.committedVersionSync!();
    } catch (error) {
      failure = error;
    }
    expect(errorCode(failure)).toBe(ErrorCode.storeClosed);
  });
});

/**
 * Synchronous transactions on the memory store: the conformance suite through them, and mixed
 * with asynchronous transactions on one store.
 */

import { describe, expect, it, vi } from 'vitest';
import { utf8 } from '../../src/kv/bytes.ts';
import { errorCode } from '../../src/kv/errors.ts';
import { openMemoryKv } from '../../src/kv/memory.ts';
import type { Kv } from '../../src/kv/types.ts';
import { describeKvConformance } from './conformance.ts';
import { describeSyncAlongsideAsync } from './sync-alongside.ts';
import { syncBacked } from './sync-adapter.ts';

// 'makes concurrent read-modify-write transactions serializable' interleaves 20 synchronous transactions
// in this one thread (the adapter awaits between their reads and commits), so their blocking backoffs
// (retry.ts BlockingBackoff) add up instead of overlapping: ~5 s.
vi.setConfig({ testTimeout: 30_000 });

describeKvConformance('memory, synchronous transactions', async () => {
  const kv = openMemoryKv();
  return { kv: syncBacked(kv), close: () => kv.close() };
});

describeSyncAlongsideAsync('memory', async () => {
  const kv = openMemoryKv();
  return { kv, close: () => kv.close() };
});

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString());

describe('memory store: synchronous transactions', () => {
  it('are offered by private and named stores, and see the same named store', async () => {
    const a = openMemoryKv('sync-shared');
    const b = openMemoryKv('sync-shared');
    const tx = a.createTransactionSync!();
    tx.set(utf8('k'), utf8('from a'));
    tx.commit();
    expect(text(b.createTransactionSync!().get(utf8('k')))).toBe('from a');
    expect(typeof openMemoryKv().createTransactionSync).toBe('function');
    await a.close();
    await b.close();
  });

  it('a closed Kv refuses them with 2132, and a transaction open at close cannot commit', async () => {
    const kv: Kv = openMemoryKv();
    const open = kv.createTransactionSync!();
    open.set(utf8('k'), utf8('v'));
    await kv.close();
    expect(() => kv.createTransactionSync!()).toThrow(expect.objectContaining({ code: 2132 }));
    let code: number | undefined;
    try {
      open.commit();
    } catch (err) {
      code = errorCode(err);
    }
    expect(code).toBe(2132);
  });
});

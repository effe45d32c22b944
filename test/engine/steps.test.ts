import { describe, expect, it } from 'vitest';
import { openKv } from '../../src/kv/index.ts';
import { all, runAsync, runEager, runSync, transaction, wait, SyncUnavailableError, type Steps } from '../../src/engine/steps.ts';
import type { Kv, KvTransaction } from '../../src/kv/types.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

function* readBoth(kv: Kv): Steps<string[]> {
  const tx = yield* transaction(kv);
  const values = yield* all(['a', 'b'].map(function* (k) {
    const v = yield* wait(tx.get(bytes(k)));
    return v === undefined ? '-' : new TextDecoder().decode(v);
  }));
  tx.cancel();
  return values;
}

function* failing(): Steps<number> {
  yield* wait(Promise.resolve());
  throw new Error('boom');
}

function* caught(): Steps<string> {
  try {
    yield* failing();
    return 'no';
  } catch (e) {
    return (e as Error).message;
  }
}

describe('steps runners', () => {
  it('run one operation synchronously and asynchronously with the same result', async () => {
    const kv = await openKv('memory:');
    await kv.run(async (tx: KvTransaction) => tx.set(bytes('a'), bytes('1')));
    expect(await runAsync(readBoth(kv))).toEqual(['1', '-']);
    expect(runSync(readBoth(kv))).toEqual(['1', '-']);
    await kv.close();
  });

  it('throw a rejection into the operation, where it can be caught', async () => {
    function* rejected(): Steps<string> {
      try {
        yield* wait(Promise.reject(new Error('rejected')));
        return 'no';
      } catch (e) {
        return (e as Error).message;
      }
    }
    expect(await runAsync(rejected())).toBe('rejected');
    expect(await runAsync(caught())).toBe('boom');
  });

  it('refuse a promise in a synchronous run, as an error the operation sees', () => {
    expect(runSync(caught())).toMatch(/synchronous engine run waited for a promise/);
  });

  it('leave no rejection unhandled when a synchronous run refuses a promise that then rejects', async () => {
    const unhandled: unknown[] = [];
    const note = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', note);
    try {
      function* rejecting(): Steps<string> {
        try {
          yield* wait(Promise.reject(new Error('store failed')));
          return 'no';
        } catch (e) {
          return (e as Error).message;
        }
      }
      expect(runSync(rejecting())).toMatch(/synchronous engine run waited for a promise/);
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', note);
    }
  });

  it('answer from memory at once under runEager', () => {
    function* pure(): Steps<number> {
      const [a, b] = yield* all([wait(1), wait(2)]);
      return a! + b!;
    }
    expect(runEager(pure())).toBe(3);
  });

  it('refuse a synchronous run on a store without synchronous transactions', async () => {
    const kv = await openKv('memory:');
    const asyncOnly: Kv = { ...kv, createTransactionSync: undefined };
    expect(() => runSync(readBoth(asyncOnly))).toThrow(SyncUnavailableError);
    await kv.close();
  });
});

/**
 * Synchronous and asynchronous transactions on one store, as the engine mixes them: one store,
 * one version sequence, conflicts detected whichever kind committed first.
 */

import { describe, expect, it } from 'vitest';
import { utf8 } from '../../src/kv/bytes.ts';
import { errorCode } from '../../src/kv/errors.ts';
import type { Bytes, Kv } from '../../src/kv/types.ts';
import type { OpenedKv } from './conformance.ts';

const text = (b: Bytes | undefined) => (b === undefined ? undefined : Buffer.from(b).toString());

function syncFailure(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    const code = errorCode(err);
    if (code === undefined) throw err;
    return code;
  }
  return undefined;
}

export function describeSyncAlongsideAsync(backend: string, open: () => Promise<OpenedKv>): void {
  describe(`${backend}: synchronous transactions alongside asynchronous ones`, () => {
    async function withKv(fn: (kv: Kv) => Promise<void>) {
      const opened = await open();
      try {
        await fn(opened.kv);
      } finally {
        await opened.close();
      }
    }

    it("a sync commit landing between an async transaction's read and commit fails it with 1020", () =>
      withKv(async (kv) => {
        const reader = kv.createTransaction();
        expect(await reader.get(utf8('k'))).toBeUndefined();
        const writer = kv.createTransactionSync!();
        writer.set(utf8('k'), utf8('sync'));
        writer.commit();
        reader.set(utf8('marker'), utf8('async'));
        expect(await reader.commit().then(() => undefined, errorCode)).toBe(1020);
        expect(await kv.createTransaction().get(utf8('marker'))).toBeUndefined();
      }));

    it("an async commit landing between a sync transaction's read and commit fails it with 1020", () =>
      withKv(async (kv) => {
        const reader = kv.createTransactionSync!();
        expect(reader.get(utf8('k'))).toBeUndefined();
        await kv.run(async (tx) => tx.set(utf8('k'), utf8('async')));
        reader.set(utf8('marker'), utf8('sync'));
        expect(syncFailure(() => reader.commit())).toBe(1020);
        expect(kv.createTransactionSync!().get(utf8('marker'))).toBeUndefined();
      }));

    it('a sync transaction keeps reading its snapshot while async commits land', () =>
      withKv(async (kv) => {
        await kv.run(async (tx) => tx.set(utf8('a'), utf8('old')));
        const reader = kv.createTransactionSync!();
        expect(text(reader.get(utf8('a')))).toBe('old');
        await kv.run(async (tx) => tx.set(utf8('a'), utf8('new')));
        expect(text(reader.get(utf8('a')))).toBe('old');
        expect(text(reader.snapshot().get(utf8('a')))).toBe('old');
        expect(text(kv.createTransactionSync!().get(utf8('a')))).toBe('new');
      }));

    it('alternating sync and async read-modify-write commits share one increasing version sequence', () =>
      withKv(async (kv) => {
        const versions: bigint[] = [];
        const previous: bigint[] = [];
        for (let i = 0; i < 10; i++) {
          let result;
          if (i % 2 === 0) {
            const tx = kv.createTransactionSync!();
            const n = Number(text(tx.get(utf8('n'))) ?? '0');
            tx.set(utf8('n'), utf8(String(n + 1)));
            result = tx.commit();
          } else {
            const tx = kv.createTransaction();
            const n = Number(text(await tx.get(utf8('n'))) ?? '0');
            tx.set(utf8('n'), utf8(String(n + 1)));
            result = await tx.commit();
          }
          versions.push(result.version!);
          previous.push(result.previousVersion!);
        }
        expect(text(kv.createTransactionSync!().get(utf8('n')))).toBe('10');
        for (let i = 1; i < versions.length; i++) {
          expect(versions[i]!).toBeGreaterThan(versions[i - 1]!);
          expect(previous[i]).toBe(versions[i - 1]); // nothing else committed in between
        }
        expect(kv.createTransactionSync!().getReadVersion()).toBe(versions[9]);
      }));
  });
}

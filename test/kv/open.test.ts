import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { utf8 } from '../../src/kv/bytes.ts';
import { errorCode } from '../../src/kv/errors.ts';
import { openKv } from '../../src/kv/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'kv-open-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const failure = (p: Promise<unknown>) => p.then(() => undefined, (err: unknown) => err as Error);

describe('openKv(url)', () => {
  it('memory: is private; memory:<name> is shared by name', async () => {
    const a = await openKv('memory:open-test');
    const b = await openKv('memory:open-test');
    const priv = await openKv('memory:');
    await a.run(async (tx) => tx.set(utf8('k'), utf8('v')));
    expect(await b.createTransaction().get(utf8('k'))).toBeDefined();
    expect(await priv.createTransaction().get(utf8('k'))).toBeUndefined();
    expect([a.url, priv.url]).toEqual(['memory:open-test', 'memory:']);
    await Promise.all([a.close(), b.close(), priv.close()]);
  });

  it('lmdb:<dir> and a bare path open the same durable store', async () => {
    const store = join(dir, 'store');
    const viaScheme = await openKv(`lmdb:${store}`);
    await viaScheme.run(async (tx) => tx.set(utf8('k'), utf8('durable')));
    await viaScheme.close();
    const viaPath = await openKv(store);
    expect(Buffer.from((await viaPath.createTransaction().get(utf8('k')))!).toString()).toBe('durable');
    expect(viaPath.url).toBe(`lmdb:${store}`);
    await viaPath.close();
  });

  it('an unknown scheme fails with 2130 naming the accepted forms', async () => {
    for (const url of ['http://localhost:4500', 'redis:x', '']) {
      const err = await failure(openKv(url));
      expect(errorCode(err)).toBe(2130);
      expect(err?.message).toMatch(/memory:.*lmdb:<dir>.*fdb:/);
    }
  });

  it('lmdb: without a directory fails with 2130', async () => {
    expect(errorCode(await failure(openKv('lmdb:')))).toBe(2130);
  });
});

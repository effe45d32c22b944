/**
 * The fdb backend. The shared conformance suite runs against a live cluster only when
 * FDB_CLUSTER_FILE is set (docker-compose.yml starts one); it works under a random prefix
 * and clears it afterwards. Where the FoundationDB client does not load (as on this
 * project's CI), opening fdb: must fail with 2131 and say what to install.
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../src/kv/bytes.ts';
import { ErrorCode, KvError } from '../../src/kv/errors.ts';
import { openFdbKv } from '../../src/kv/fdb.ts';
import { openKv } from '../../src/kv/index.ts';
import { describeKvConformance } from './conformance.ts';

const clusterFile = process.env['FDB_CLUSTER_FILE'] || undefined;
/** Whether the optional `foundationdb` package and its libfdb_c load here. */
const clientLoads = await import('foundationdb').then(
  () => true,
  () => false,
);

async function rejection(promise: Promise<unknown>): Promise<KvError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KvError);
  return err as KvError;
}

describe('fdb options', () => {
  it('a root prefix that is empty or reaches the system keys (0xff) is refused with 2006', async () => {
    for (const rootPrefix of [new Uint8Array(0), new Uint8Array([0xff, 1])]) {
      expect((await rejection(openFdbKv(clusterFile, { rootPrefix }))).code).toBe(ErrorCode.invalidOptionValue);
    }
  });

  it('a connectTimeoutMs that is not a positive whole number is refused with 2006', async () => {
    for (const connectTimeoutMs of [0, -1, 1.5]) {
      expect((await rejection(openFdbKv(clusterFile, { connectTimeoutMs }))).code).toBe(ErrorCode.invalidOptionValue);
    }
  });
});

describe.skipIf(clientLoads)(`fdb without the FoundationDB client${clientLoads ? ' (skipped: it is installed here)' : ''}`, () => {
  it('openKv("fdb:") fails with 2131, naming what to install and how to point at a cluster', async () => {
    const err = await rejection(openKv('fdb:'));
    expect(err.code).toBe(ErrorCode.clientNotInstalled);
    expect(err.message).toContain('libfdb_c');
    expect(err.message).toContain('7.3');
    expect(err.message).toContain('npm install foundationdb');
    expect(err.message).toContain('FDB_CLUSTER_FILE');
    expect(err.message).toContain('fdb:/path/to/fdb.cluster');
  });
});

describe.skipIf(!clientLoads)(`fdb with the FoundationDB client${clientLoads ? '' : ' (skipped: it does not load here)'}`, () => {
  it('a cluster file that does not exist fails with 2130 naming it', async () => {
    const missing = join(tmpdir(), 'mvdb-no-such-dir', 'fdb.cluster');
    const err = await rejection(openKv(`fdb:${missing}`));
    expect(err.code).toBe(ErrorCode.invalidStore);
    expect(err.message).toContain(missing);
  });

  it('a cluster nobody answers for fails with 1031 within connectTimeoutMs, pointing at the server setup', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mvdb-fdb-')), 'fdb.cluster');
    writeFileSync(file, 'nobody:home@127.0.0.1:1\n'); // nothing listens on port 1
    const err = await rejection(openFdbKv(file, { connectTimeoutMs: 500 }));
    expect(err.code).toBe(ErrorCode.transactionTimedOut);
    expect(err.message).toContain('is the server running');
  });

});

describe.skipIf(!clusterFile)(`fdb on a live cluster${clusterFile ? '' : ' (skipped: set FDB_CLUSTER_FILE to run)'}`, () => {
  describeKvConformance('fdb', async () => {
    const kv = await openKv(`fdb:${clusterFile}`);
    return { kv, close: () => kv.close() };
  });

  it('the root prefix isolates stores and counts toward the 10,000-byte key limit', async () => {
    const run = `mvdb-test/${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}/`;
    const parent = await openFdbKv(clusterFile, { rootPrefix: utf8(run) });
    const a = await openFdbKv(clusterFile, { rootPrefix: utf8(`${run}a/`) });
    const b = await openFdbKv(clusterFile, { rootPrefix: utf8(`${run}b/`) });
    try {
      await a.run(async (tx) => tx.set(utf8('k'), utf8('from a')));
      expect(await b.run((tx) => tx.get(utf8('k')))).toBeUndefined();
      const seen = await parent.run((tx) => tx.getRange(utf8(''), utf8('\x7f')));
      expect(seen.map(([k, v]) => [Buffer.from(k).toString(), Buffer.from(v).toString()])).toEqual([['a/k', 'from a']]);

      const room = 10_000 - utf8(`${run}a/`).length;
      const tx = a.createTransaction();
      tx.set(new Uint8Array(room), utf8('fits'));
      expect(() => tx.set(new Uint8Array(room + 1), utf8('x'))).toThrow(expect.objectContaining({ code: ErrorCode.keyTooLarge }));
      // FoundationDB counts a versionstamped key's 4-byte offset against the limit too.
      tx.setVersionstampedKey(new Uint8Array(room - 14), new Uint8Array(0), utf8('fits'));
      expect(() => tx.setVersionstampedKey(new Uint8Array(room - 13), new Uint8Array(0), utf8('x'))).toThrow(
        expect.objectContaining({ code: ErrorCode.keyTooLarge }),
      );
      await tx.commit();
    } finally {
      await parent.run(async (tx) => tx.clearRange(utf8(''), utf8('\x7f')));
      await Promise.all([a.close(), b.close(), parent.close()]);
    }
  });
});

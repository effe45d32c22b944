/**
 * A 100 MB commit (25,000 pages of 4 KiB) goes through the same code path on every backend, without any kv
 * transaction near FoundationDB's 10 MB limit, and reads back exactly.
 */

import { describe, expect, it } from 'vitest';
import { commitPages, createDatabase, head, log, readPages } from '../../src/engine/index.ts';
import { LIMITS } from '../../src/kv/types.ts';
import { backends, pageOf, recordingKv } from './helpers.ts';

const PAGES = 25_000;
const P = 4096;

for (const backend of backends) {
  describe(`large commits (${backend.name})`, () => {
    it('commits 25,000 pages (100 MB) with every kv transaction under 10 MB', async () => {
      const { kv, close } = await backend.open();
      try {
        const recording = recordingKv(kv);
        const db = await createDatabase(recording, 'big');
        const pages = new Map<number, Uint8Array>();
        for (let p = 1; p <= PAGES; p++) pages.set(p, pageOf(P, p));
        const v0 = await head(db);
        const v1 = await commitPages(db, { snapshot: v0, pages, readSet: [1, 2, 3] });

        expect(recording.largest).toBeLessThan(LIMITS.transactionBytes);
        expect(recording.commits).toBeGreaterThan(2); // uploaded in pieces, then published
        expect((await log(db)).map((c) => [c.version, c.pages, c.bytes])).toEqual([[v1, PAGES, PAGES * P]]);

        const all = Array.from({ length: PAGES }, (_, i) => i + 1);
        const read = await readPages(db, all, v1);
        for (let p = 1; p <= PAGES; p++) if (!Buffer.from(read[p - 1]!).equals(pages.get(p)!)) expect.fail(`page ${p} differs`);
        expect(await readPages(db, [1, PAGES], v0)).toEqual([undefined, undefined]);
      } finally {
        await close();
      }
    });
  });
}

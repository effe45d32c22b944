/** Shared setup for the history tests: raw counts of what a database keeps in the store. */

import { concatBytes, prefixEnd, utf8 } from '../../src/kv/bytes.ts';
import type { Kv } from '../../src/kv/types.ts';
import type { DatabaseRef } from '../../src/engine/index.ts';

/** Keys under `ns ‖ tag`, and their key + value bytes. */
export async function countKeys(kv: Kv, ns: Uint8Array, tag: string): Promise<{ keys: number; bytes: number }> {
  const prefix = concatBytes(ns, utf8(tag));
  const tx = kv.createTransaction();
  try {
    const rows = await tx.snapshot().getRange(prefix, prefixEnd(prefix));
    return { keys: rows.length, bytes: rows.reduce((n, [k, v]) => n + k.length + v.length, 0) };
  } finally {
    tx.cancel();
  }
}

/** Page-index entries and stored contents of a database. */
export async function storedCounts(db: DatabaseRef): Promise<{ pageVersions: number; contents: number }> {
  const [p, c] = await Promise.all([countKeys(db.kv, db.prefix, 'p'), countKeys(db.kv, db.prefix, 'c')]);
  return { pageVersions: p.keys, contents: c.keys };
}

/** Every key and value bytes under a database's prefix. */
export async function namespaceBytes(db: DatabaseRef): Promise<number> {
  const tx = db.kv.createTransaction();
  try {
    const rows = await tx.snapshot().getRange(db.prefix, prefixEnd(db.prefix));
    return rows.reduce((n, [k, v]) => n + k.length + v.length, 0);
  } finally {
    tx.cancel();
  }
}

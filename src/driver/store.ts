/**
 * Store URLs -> one shared Kv per URL per process, opened on first use and
 * closed when the last Database on it closes.
 *
 *   './dir' or 'lmdb:./dir'   the embedded LMDB store in that directory (default ./mvdb-data)
 *   'memory:'                 an in-process store shared by this process's Databases while any is open
 *   'memory:<name>'           the process-wide in-process store of that name (kept after close)
 *   'fdb:' or 'fdb:<file>'    FoundationDB (cluster file: the given one, FDB_CLUSTER_FILE, the default)
 */
import { resolve } from 'node:path';
import { openKv, type Kv } from '../../vfs/index.ts';
import { ArgumentError } from './errors.ts';

export const DEFAULT_STORE = './mvdb-data';

interface Entry {
  kv: Promise<Kv>;
  users: number;
}

const stores = new Map<string, Entry>();

/** The key two spellings of one store share: lmdb paths resolved to absolute directories. */
export function normalizeStoreUrl(url: string): string {
  if (typeof url !== 'string' || url.trim() === '') {
    throw new ArgumentError(`a store URL is required: a directory, lmdb:<dir>, memory:, memory:<name>, fdb: or fdb:<cluster file>`);
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]+):/.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return `lmdb:${resolve(url)}`;
  if (scheme === 'lmdb') return `lmdb:${resolve(url.slice(5))}`;
  return `${scheme}:${url.slice(scheme.length + 1)}`;
}

/** A shared Kv for `url`; give it back with releaseStore. */
export async function acquireStore(url: string): Promise<{ key: string; kv: Kv }> {
  const key = normalizeStoreUrl(url);
  let entry = stores.get(key);
  if (entry === undefined) {
    entry = { kv: openKv(key), users: 0 };
    stores.set(key, entry);
    entry.kv.catch(() => stores.delete(key));
  }
  entry.users++;
  try {
    return { key, kv: await entry.kv };
  } catch (error) {
    entry.users--;
    throw error;
  }
}

export async function releaseStore(key: string): Promise<void> {
  const entry = stores.get(key);
  if (entry === undefined) return;
  if (--entry.users > 0) return;
  stores.delete(key);
  await (await entry.kv).close();
}

/** Runs `body` on the Kv of `options.store` (a URL, acquired for the call; or an open Kv). */
export async function withStore<T>(options: { store?: string | Kv }, body: (kv: Kv) => Promise<T>): Promise<T> {
  if (options === null || typeof options !== 'object') throw new ArgumentError('options must be an object');
  const store = options.store ?? DEFAULT_STORE;
  if (typeof store !== 'string') return body(store);
  const shared = await acquireStore(store);
  try {
    return await body(shared.kv);
  } finally {
    await releaseStore(shared.key);
  }
}

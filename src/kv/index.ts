/**
 * The kv layer's entry point: `openKv(url)` picks the backend.
 *
 *   memory:              a fresh private in-process store
 *   memory:<name>        the process-wide in-process store of that name
 *   lmdb:<dir> | <dir>   the durable embedded store in that directory (the default)
 *   fdb: | fdb:<file>    FoundationDB via the given cluster file (default: FDB_CLUSTER_FILE, then
 *                        /etc/foundationdb/fdb.cluster); needs the optional `foundationdb` package
 */

import { resolve } from 'node:path';
import { ErrorCode, KvError } from './errors.ts';
import { openMemoryKv } from './memory.ts';
import type { Kv } from './types.ts';

export type * from './types.ts';
export { LIMITS, VERSIONSTAMP_BYTES } from './types.ts';
export { ErrorCode, errorCode, isMaybeCommitted, isRetryable, isRetryableNotCommitted, KvError } from './errors.ts';
export { withFaults, type FaultOptions, type FaultCounts, type FaultyKv } from './faults.ts';

const ACCEPTED = 'accepted: memory:, memory:<name>, lmdb:<dir>, a directory path (lmdb), fdb:, fdb:<cluster file>';

/** The backends load on demand: lmdb's native addon and fdb's libfdb_c only when asked for. */
export async function openKv(url: string): Promise<Kv> {
  if (typeof url !== 'string' || url === '') {
    throw new KvError(ErrorCode.invalidStore, `a store URL is required (${ACCEPTED})`);
  }
  // A scheme is two or more letters before the first colon; anything else is a path.
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]+):/.exec(url)?.[1]?.toLowerCase();
  const rest = scheme === undefined ? url : url.slice(scheme.length + 1);
  switch (scheme) {
    case 'memory':
      return openMemoryKv(rest || undefined);
    case undefined:
    case 'lmdb': {
      if (rest === '') throw new KvError(ErrorCode.invalidStore, `lmdb: needs a directory, as in lmdb:./data (${ACCEPTED})`);
      const { openLmdbKv } = await import('./lmdb.ts');
      return openLmdbKv(resolve(rest));
    }
    case 'fdb': {
      const { openFdbKv } = await import('./fdb.ts');
      return openFdbKv(rest || undefined);
    }
    default:
      throw new KvError(ErrorCode.invalidStore, `unknown store URL scheme "${scheme}:" in ${JSON.stringify(url)} (${ACCEPTED})`);
  }
}

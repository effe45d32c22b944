/**
 * Runs suites written against KvTransaction on synchronous transactions: `promisified` presents a
 * KvTransactionSync as a KvTransaction (each answer resolved, each throw of a read, commit or
 * onError a rejection; writes throw as they do on KvTransaction), and `syncBacked` gives a Kv whose
 * createTransaction and run use the store's synchronous transactions underneath.
 */

import { runWithRetries } from '../../src/kv/retry.ts';
import type { Kv, KvReader, KvReaderSync, KvTransaction, KvTransactionSync } from '../../src/kv/types.ts';

function promisifiedReader(reader: KvReaderSync): KvReader {
  return {
    get: async (key) => reader.get(key),
    getRange: async (begin, end, options) => reader.getRange(begin, end, options),
  };
}

export function promisified(tx: KvTransactionSync): KvTransaction {
  return {
    ...promisifiedReader(tx),
    getReadVersion: async () => tx.getReadVersion(),
    snapshot: () => promisifiedReader(tx.snapshot()),
    commit: async () => tx.commit(),
    onError: async (err) => tx.onError(err),
    set: (key, value) => tx.set(key, value),
    clear: (key) => tx.clear(key),
    clearRange: (begin, end) => tx.clearRange(begin, end),
    addReadConflictRange: (begin, end) => tx.addReadConflictRange(begin, end),
    addWriteConflictRange: (begin, end) => tx.addWriteConflictRange(begin, end),
    setVersionstampedKey: (prefix, suffix, value) => tx.setVersionstampedKey(prefix, suffix, value),
    setVersionstampedValue: (key, prefix, suffix) => tx.setVersionstampedValue(key, prefix, suffix),
    getApproximateSize: () => tx.getApproximateSize(),
    cancel: () => tx.cancel(),
  };
}

export function syncBacked(kv: Kv): Kv {
  const createTransactionSync = kv.createTransactionSync?.bind(kv);
  if (createTransactionSync === undefined) throw new Error(`${kv.url} has no synchronous transactions`);
  const createTransaction: Kv['createTransaction'] = (options) => promisified(createTransactionSync(options));
  return {
    url: kv.url,
    createTransaction,
    createTransactionSync,
    run: async (body, options) => runWithRetries(createTransaction(options), body),
    close: () => kv.close(),
  };
}

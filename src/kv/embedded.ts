/**
 * The Kv of the embedded stores (memory, lmdb): transactions from transaction.ts over a
 * `Storage` (synchronous ones too when the store can commit synchronously), and `run` as the
 * shared retry loop.
 */

import { ErrorCode, KvError } from './errors.ts';
import { runWithRetries } from './retry.ts';
import type { Storage } from './storage.ts';
import { EmbeddedTransaction, EmbeddedTransactionSync, type EmbeddedOptions, type SyncStorage } from './transaction.ts';
import type { Kv, KvTransaction, KvTransactionSync, RunOptions, TransactionOptions } from './types.ts';

export type EmbeddedKvOptions = EmbeddedOptions;

export function createEmbeddedKv(storage: Storage, url: string, options: EmbeddedKvOptions = {}): Kv {
  let closed = false;
  const checkOpen = (): void => {
    if (closed) throw new KvError(ErrorCode.storeClosed, `${url} was closed; open it again`);
  };
  const createTransaction = (txOptions?: TransactionOptions): KvTransaction => {
    checkOpen();
    return new EmbeddedTransaction(storage, txOptions, options);
  };
  const syncStorage = storage.commitSync !== undefined ? (storage as SyncStorage) : undefined;
  // A transaction's read version is its snapshot's version: the store's latest version.
  const latestVersion = storage.latestVersion?.bind(storage);
  return {
    url,
    createTransaction,
    ...(syncStorage !== undefined
      ? {
          createTransactionSync: (txOptions?: TransactionOptions): KvTransactionSync => {
            checkOpen();
            return new EmbeddedTransactionSync(syncStorage, txOptions, options);
          },
        }
      : {}),
    ...(latestVersion !== undefined
      ? {
          committedVersionSync: () => {
            checkOpen();
            return latestVersion();
          },
        }
      : {}),
    run: async (body, runOptions?: RunOptions) => runWithRetries(createTransaction(runOptions), body),
    close: async () => {
      if (closed) return;
      closed = true;
      await storage.close();
    },
  };
}

/**
 * Opens (or creates) the LMDB environment behind the lmdb backend, refusing
 * anything that is not one of our stores before writing a byte.
 *
 * Layout: three named LMDB databases, so user keys can never reach the
 * resolver's state: `data` (user keys, tagged, see lmdb-keys.ts), `conflicts`
 * (the conflict log) and `meta` (`format` marker; `version`, the last commit
 * version, and `horizon`, the newest version pruned from the log, both u64 BE).
 */

import { mkdirSync, openSync, readSync, closeSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { KvError, ErrorCode } from './errors.ts';
import { LMDB_MAX_STORED_KEY_BYTES } from './lmdb-keys.ts';
import { u64be } from './bytes.ts';

export const STORE_FORMAT = 'mvdb-kv-lmdb 1';
export const FORMAT_KEY = Buffer.from('format');
export const VERSION_KEY = Buffer.from('version');
/** Every commit at or below this version has left the conflict log: older read versions are too old. */
export const HORIZON_KEY = Buffer.from('horizon');

const DB_NAMES = ['data', 'conflicts', 'meta'] as const;
const LMDB_FILES = new Set(['data.mdb', 'lock.mdb']);
/** LMDB's meta page: a 24-byte page header in lmdb-js's LMDB, then the magic number (host byte order). */
const LMDB_MAGIC = 0xbeefc0de;
const LMDB_MAGIC_OFFSET = 24;

export interface LmdbStore {
  /** Absolute path of the store directory. */
  path: string;
  env: RootDatabase<Buffer, Buffer>;
  /** Values are written as any Uint8Array and read back as Buffers. */
  data: Database<Uint8Array, Buffer>;
  conflicts: Database<Buffer, Buffer>;
  meta: Database<Buffer, Buffer>;
  /** Longest user key the data database accepts. */
  maxKeyBytes: number;
  /** Reads the last commit version as a fresh read would see it (see openVersionProbe). */
  versionProbe: VersionProbe;
}

/** A cheap, always-fresh read of the store's last commit version; close() before the environment closes. */
export interface VersionProbe {
  read(): bigint;
  close(): void;
}

/**
 * lmdb-js's native transaction class and reset, from the module lmdb itself loads (the package
 * exports no path to it). lmdb-js's public API offers only its shared read transaction, whose
 * renewal costs a timer and an event per call; with these the probe keeps a reader of its own.
 * Undefined when a future lmdb-js no longer has them: the probe then uses the shared transaction.
 */
const lmdbNative = await (async () => {
  try {
    const native = (await import(new URL('native.js', import.meta.resolve('lmdb')).href)) as Record<string, unknown>;
    if (typeof native.Txn !== 'function' || typeof native.resetTxn !== 'function') return undefined;
    return native as { Txn: new (env: unknown, flags: number) => ProbeTxn; resetTxn: (address: number) => void };
  } catch {
    return undefined;
  }
})();

interface ProbeTxn {
  address: number;
  abort(): void;
}

/** LMDB's MDB_RDONLY. */
const MDB_RDONLY = 0x20000;

/**
 * The probe behind LmdbStorage.latestVersion. It owns one LMDB read transaction, kept reset between
 * reads: a reset reader pins no snapshot (LMDB can reuse every page), keeps its reader slot, and the
 * next read renews it at the newest commit of any process, as a new transaction would.
 */
function openVersionProbe(env: RootDatabase<Buffer, Buffer>, meta: Database<Buffer, Buffer>): VersionProbe {
  const nativeEnv = (env as unknown as { env?: unknown }).env;
  if (lmdbNative === undefined || nativeEnv === undefined) {
    return {
      read: () => {
        // lmdb-js shares one read transaction per event turn: reset it so the read sees every finished commit.
        env.resetReadTxn();
        return (meta.getBinaryFast(VERSION_KEY) as Buffer).readBigUInt64BE(0);
      },
      close: () => {},
    };
  }
  const { Txn, resetTxn } = lmdbNative;
  const txn = new Txn(nativeEnv, MDB_RDONLY);
  resetTxn(txn.address);
  // getBinaryFast takes get's options (its typings omit them); its buffer is reused by the next read.
  const getBinaryFast = meta.getBinaryFast.bind(meta) as (key: Buffer, options: { transaction: ProbeTxn }) => Buffer;
  const options = { transaction: txn };
  let open = true;
  return {
    read: () => {
      if (!open) throw new Error('read from a closed version probe');
      try {
        // lmdb-js renews an explicit transaction before reading through it.
        return getBinaryFast(VERSION_KEY, options).readBigUInt64BE(0);
      } finally {
        resetTxn(txn.address);
      }
    },
    close: () => {
      if (!open) return;
      open = false;
      txn.abort();
    },
  };
}

function invalidStore(path: string, problem: string): KvError {
  return new KvError(
    ErrorCode.invalidStore,
    `cannot use ${path} as an mvdb lmdb store: ${problem}; expected a new or empty directory, or one holding only the data.mdb and lock.mdb of an mvdb lmdb store (format "${STORE_FORMAT}")`,
  );
}

/** Checks what is at `path` without writing anything; creates the directory if nothing is there. */
function checkDirectory(path: string): void {
  let entries: string[];
  try {
    if (!statSync(path, { throwIfNoEntry: false })) {
      mkdirSync(path, { recursive: true });
      return;
    }
    if (!statSync(path).isDirectory()) throw invalidStore(path, 'it is a file, not a directory');
    entries = readdirSync(path);
  } catch (err) {
    if (err instanceof KvError) throw err;
    throw invalidStore(path, (err as Error).message);
  }
  const foreign = entries.filter((name) => !LMDB_FILES.has(name));
  if (foreign.length > 0) {
    const shown = foreign.slice(0, 3).join(', ') + (foreign.length > 3 ? ', ...' : '');
    throw invalidStore(path, `the directory holds other files (${shown})`);
  }
  if (entries.includes('data.mdb') && !hasLmdbMagic(join(path, 'data.mdb'))) {
    throw invalidStore(path, 'data.mdb is not an LMDB data file');
  }
}

function hasLmdbMagic(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const header = Buffer.alloc(LMDB_MAGIC_OFFSET + 4);
    const read = readSync(fd, header, 0, header.length, 0);
    // An empty file is a store another process is creating right now; LMDB initializes it under its lock.
    if (read === 0) return true;
    return read === header.length && header.readUInt32LE(LMDB_MAGIC_OFFSET) === LMDB_MAGIC;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Names of the databases (or plain keys) in the environment's root database. */
function rootNames(env: RootDatabase<Buffer, Buffer>): string[] {
  // lmdb-js stores a database name with a trailing NUL.
  return [...env.getKeys()].map((key) => key.toString('utf8').replace(/\0$/, ''));
}

export function openLmdbStore(dir: string): LmdbStore {
  const path = resolve(dir);
  checkDirectory(path);
  let env: RootDatabase<Buffer, Buffer>;
  try {
    env = open<Buffer, Buffer>({
      path,
      // lmdb-js would take a path with a dot in its last part for a file name.
      noSubdir: false,
      keyEncoding: 'binary',
      encoding: 'binary',
      // 8 KiB pages raise LMDB's key cap from 1,978 to 4,026 bytes (only applies when the store is created).
      pageSize: 8192,
      // Commit = write pages, fdatasync, write the meta page O_DSYNC, all under the write lock, so a commit is
      // durable before it returns and before any reader in any process can see it. lmdb-js's default
      // (overlappingSync) publishes a commit before it is flushed.
      overlappingSync: false,
      maxDbs: DB_NAMES.length,
      // Every transaction pins a snapshot (at most 5 s); readers are shared by all processes on the store.
      maxReaders: 1024,
    });
  } catch (err) {
    throw invalidStore(path, `LMDB cannot open it (${(err as Error).message})`);
  }
  try {
    const foreign = rootNames(env).filter((name) => !(DB_NAMES as readonly string[]).includes(name));
    if (foreign.length > 0) {
      throw invalidStore(path, `it is an LMDB store with other databases (${foreign.slice(0, 3).join(', ')})`);
    }
    // One write transaction (the store's exclusive lock) creates or checks the layout; it aborts, writing
    // nothing, when the format marker is wrong.
    const store = env.transactionSync(() => {
      const openDb = <V>(name: (typeof DB_NAMES)[number]) =>
        env.openDB<V, Buffer>({ name, keyEncoding: 'binary', encoding: 'binary' });
      const data = openDb<Uint8Array>('data');
      const conflicts = openDb<Buffer>('conflicts');
      const meta = openDb<Buffer>('meta');
      const format = meta.get(FORMAT_KEY);
      if (format === undefined) {
        if (data.getKeysCount() > 0 || conflicts.getKeysCount() > 0) {
          throw invalidStore(path, 'it holds data but no format marker');
        }
        meta.putSync(FORMAT_KEY, Buffer.from(STORE_FORMAT));
        meta.putSync(VERSION_KEY, Buffer.from(u64be(0n)));
        meta.putSync(HORIZON_KEY, Buffer.from(u64be(0n)));
      } else if (format.toString('utf8') !== STORE_FORMAT) {
        throw invalidStore(path, `its format marker is "${format.toString('utf8')}"`);
      }
      return { data, conflicts, meta };
    });
    const lmdbMaxKey = (store.data as unknown as { maxKeySize: number }).maxKeySize;
    const maxKeyBytes = Math.min(lmdbMaxKey, LMDB_MAX_STORED_KEY_BYTES) - 1;
    // Made last: a new native transaction becomes the environment's default reader, and lmdb-js's next
    // one (openDB above ended its shared one) takes that role back before anything reads.
    const versionProbe = openVersionProbe(env, store.meta);
    return { path, env, ...store, maxKeyBytes, versionProbe };
  } catch (err) {
    void env.close();
    throw err instanceof KvError ? err : invalidStore(path, `LMDB cannot open its databases (${(err as Error).message})`);
  }
}

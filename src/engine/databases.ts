/** Databases: names -> namespaces. Create, open, list, delete, and the per-namespace state every call checks. */

import { randomBytes } from 'node:crypto';
import { bytesEqual, keyAfter } from '../kv/bytes.ts';
import type { Bytes, Kv, KvReader } from '../kv/types.ts';
import { copyBytes } from './bytes.ts';
import { DatabaseExistsError, DatabaseNotFoundError, InvalidOptionError } from './errors.ts';
import {
  DEFAULT_ROOT,
  METADATA_SUFFIX,
  WATERMARK_SUFFIX,
  databasesPrefix,
  lastWriteKey,
  metadataKey,
  nameKey,
  nameOfKey,
  namesRange,
  namespacePrefix,
  namespaceRange,
  watermarkKey,
} from './keys.ts';
import {
  DEFAULT_PAGE_SIZE,
  DEFAULT_RETENTION_MS,
  decodeMetadata,
  encodeMetadata,
  validatePageSize,
  validateRetention,
  type DatabaseMetadata,
} from './metadata.ts';
import { validateName } from './names.ts';
import { readTransaction, writeTransaction } from './transact.ts';
import { ZERO_VERSION, versionFromBytes, versionToBytes, type Version } from './version.ts';

/** A handle; cheap to pass around; holds no transaction. */
export interface DatabaseRef {
  kv: Kv;
  name: string;
  /** Namespace id: the versionstamp of the transaction that created the database. */
  id: Uint8Array;
  pageSize: number;
  /** Every key of this database starts with this prefix. */
  prefix: Uint8Array;
}

export interface DatabaseInfo {
  name: string;
  pageSize: number;
  createdAt: Date;
  retentionMs: number;
  /** The version the database was created at: its head before any commit. */
  createdVersion: Version;
}

export interface StoreOptions {
  /** Where in the kv the engine's keys live (default 'mv'); lets several engines share one store. */
  root?: Uint8Array;
}

export interface CreateOptions extends StoreOptions {
  pageSize?: number;
  retentionMs?: number;
}

export interface OpenOptions extends CreateOptions {
  create?: boolean;
}

const TOKEN_BYTES = 16;

function rootOf(options: StoreOptions | undefined): Bytes {
  const root = options?.root ?? DEFAULT_ROOT;
  if (!(root instanceof Uint8Array) || root.length === 0) {
    throw new InvalidOptionError('root', 'the root prefix is a non-empty Uint8Array');
  }
  return root;
}

function refOf(kv: Kv, root: Bytes, name: string, id: Bytes, metadata: DatabaseMetadata): DatabaseRef {
  return { kv, name, id, pageSize: metadata.pageSize, prefix: namespacePrefix(root, id) };
}

export async function createDatabase(kv: Kv, name: string, options?: CreateOptions): Promise<DatabaseRef> {
  validateName(name);
  const root = rootOf(options);
  const metadata: DatabaseMetadata = {
    pageSize: validatePageSize(options?.pageSize ?? DEFAULT_PAGE_SIZE),
    createdAt: Date.now(),
    retentionMs: validateRetention(options?.retentionMs ?? DEFAULT_RETENTION_MS),
    forkOf: null,
  };
  // The token tells our own earlier attempt (after 1021) apart from someone else's database of that name.
  const token = new Uint8Array(randomBytes(TOKEN_BYTES));
  const key = nameKey(root, name);
  const { value: existingId, versionstamp } = await writeTransaction(kv, async (tx) => {
    const existing = await tx.get(key);
    if (existing !== undefined) {
      if (bytesEqual(existing.subarray(10), token)) return copyBytes(existing, 0, 10);
      throw new DatabaseExistsError(name);
    }
    tx.setVersionstampedValue(key, new Uint8Array(0), token);
    tx.setVersionstampedKey(databasesPrefix(root), METADATA_SUFFIX, encodeMetadata(metadata));
    tx.setVersionstampedKey(databasesPrefix(root), WATERMARK_SUFFIX, versionToBytes(ZERO_VERSION));
    return undefined;
  });
  const id = existingId ?? versionstamp!;
  return refOf(kv, root, name, id, metadata);
}

/** Name -> id and metadata, or undefined when there is no such database. */
async function lookup(
  reader: KvReader,
  root: Bytes,
  name: string,
): Promise<{ id: Uint8Array; metadata: DatabaseMetadata } | undefined> {
  const value = await reader.get(nameKey(root, name));
  if (value === undefined) return undefined;
  const id = copyBytes(value, 0, 10);
  const metadata = await reader.get(metadataKey(namespacePrefix(root, id)));
  if (metadata === undefined) return undefined;
  return { id, metadata: decodeMetadata(metadata) };
}

export async function openDatabase(kv: Kv, name: string, options?: OpenOptions): Promise<DatabaseRef> {
  validateName(name);
  const root = rootOf(options);
  if (options?.pageSize !== undefined) validatePageSize(options.pageSize);
  if (options?.retentionMs !== undefined) validateRetention(options.retentionMs);
  for (;;) {
    const found = await readTransaction(kv, (tx) => lookup(tx.snapshot(), root, name));
    if (found !== undefined) {
      if (options?.pageSize !== undefined && options.pageSize !== found.metadata.pageSize) {
        throw new InvalidOptionError(
          'page size',
          `database ${JSON.stringify(name)} has page size ${found.metadata.pageSize}, fixed at creation; asked for ${options.pageSize}`,
        );
      }
      return refOf(kv, root, name, found.id, found.metadata);
    }
    if (!options?.create) throw new DatabaseNotFoundError(name);
    try {
      return await createDatabase(kv, name, options);
    } catch (err) {
      // Someone created it between our look and our create: open theirs.
      if (!(err instanceof DatabaseExistsError)) throw err;
    }
  }
}

const LIST_BATCH = 500;

export async function listDatabases(kv: Kv, options?: StoreOptions): Promise<DatabaseInfo[]> {
  const root = rootOf(options);
  const range = namesRange(root);
  const out: DatabaseInfo[] = [];
  let begin = range.begin;
  for (;;) {
    const batch = await readTransaction(kv, async (tx) => {
      const reader = tx.snapshot();
      const names = await reader.getRange(begin, range.end, { limit: LIST_BATCH });
      const metas = await Promise.all(
        names.map(([, value]) => reader.get(metadataKey(namespacePrefix(root, value.subarray(0, 10))))),
      );
      return names.map(([key, value], i) => ({ key, id: copyBytes(value, 0, 10), metadata: metas[i] }));
    });
    for (const { key, id, metadata } of batch) {
      if (metadata === undefined) continue;
      const m = decodeMetadata(metadata);
      out.push({
        name: nameOfKey(root, key),
        pageSize: m.pageSize,
        createdAt: new Date(m.createdAt),
        retentionMs: m.retentionMs,
        createdVersion: versionFromBytes(id),
      });
    }
    if (batch.length < LIST_BATCH) return out;
    begin = keyAfter(batch[batch.length - 1]!.key);
  }
}

export async function deleteDatabase(kv: Kv, name: string, options?: StoreOptions): Promise<void> {
  validateName(name);
  const root = rootOf(options);
  const key = nameKey(root, name);
  let seen = false;
  await writeTransaction(kv, async (tx) => {
    const value = await tx.get(key);
    if (value === undefined) {
      // After a maybe-committed attempt, the name being gone means our delete landed.
      if (seen) return;
      throw new DatabaseNotFoundError(name);
    }
    seen = true;
    const range = namespaceRange(namespacePrefix(root, value.subarray(0, 10)));
    tx.clear(key);
    tx.clearRange(range.begin, range.end);
  });
}

/** Metadata and info of an open database. */
export async function databaseInfo(db: DatabaseRef): Promise<DatabaseInfo & { truncatedBefore: Version }> {
  return readTransaction(db.kv, async (tx) => {
    const reader = tx.snapshot();
    const [metadata, watermark] = await Promise.all([reader.get(metadataKey(db.prefix)), reader.get(watermarkKey(db.prefix))]);
    if (metadata === undefined || watermark === undefined) throw new DatabaseNotFoundError(db.name);
    const m = decodeMetadata(metadata);
    return {
      name: db.name,
      pageSize: m.pageSize,
      createdAt: new Date(m.createdAt),
      retentionMs: m.retentionMs,
      createdVersion: versionFromBytes(db.id),
      truncatedBefore: versionFromBytes(watermark),
    };
  });
}

/**
 * The GC watermark, read in the caller's transaction. Its key exists for as long as the database does, so
 * this is also the "does the database still exist" check; read it in the same transaction as the data so
 * a read can never see data that GC already removed below a watermark it did not see.
 */
export async function readWatermark(reader: KvReader, db: DatabaseRef): Promise<Version> {
  const value = await reader.get(watermarkKey(db.prefix));
  if (value === undefined) throw new DatabaseNotFoundError(db.name);
  return versionFromBytes(value);
}

/** The last write version's value: idempotency key(16) ‖ version(10). */
function decodeLastWrite(value: Bytes | undefined): { key: Uint8Array; version: Version } | undefined {
  if (value === undefined) return undefined;
  return { key: copyBytes(value, 0, 16), version: versionFromBytes(value.subarray(16, 26)) };
}

/** Newest committed version: the last write version, or the creation version before any commit. */
export function headOf(db: DatabaseRef, lastWrite: Bytes | undefined): Version {
  return decodeLastWrite(lastWrite)?.version ?? versionFromBytes(db.id);
}

export async function head(db: DatabaseRef): Promise<Version> {
  return readTransaction(db.kv, async (tx) => {
    const reader = tx.snapshot();
    const [, lastWrite] = await Promise.all([readWatermark(reader, db), reader.get(lastWriteKey(db.prefix))]);
    return headOf(db, lastWrite);
  });
}

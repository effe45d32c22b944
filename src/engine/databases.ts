/** Databases: names -> namespaces. Create, open, list, delete, and the per-namespace state every call checks. */

import { randomBytes } from 'node:crypto';
import { bytesEqual, concatBytes, fromHex, keyAfter, readU64be, utf8 } from '../kv/bytes.ts';
import type { Bytes, Kv, KvReader, KvTransaction, KvWrites } from '../kv/types.ts';
import { copyBytes } from './bytes.ts';
import {
  DatabaseExistsError,
  DatabaseHasForksError,
  DatabaseNotFoundError,
  FutureVersionError,
  InvalidOptionError,
  VersionTooOldError,
} from './errors.ts';
import {
  DEFAULT_ROOT,
  METADATA_SUFFIX,
  WATERMARK_SUFFIX,
  databasesPrefix,
  forkKey,
  forksRange,
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
import { all, runAsync, runSync, wait, type AnyReader, type AnyTransaction, type Steps } from './steps.ts';
import { readTransaction, readTransactionSteps, writeTransaction, writeTransactionSteps } from './transact.ts';
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
  /**
   * A fork's fall-through chain, nearest first: a page the fork never wrote is read from the first base
   * that has it, as of that base's version.
   */
  bases?: { prefix: Uint8Array; version: Uint8Array }[];
}

export interface DatabaseInfo {
  name: string;
  pageSize: number;
  createdAt: Date;
  retentionMs: number;
  /** The version the database was created at: its head before any commit. */
  createdVersion: Version;
  /** The database (and version) this one was forked from; null for a database that is not a fork. */
  forkOf: { name: string; version: Version } | null;
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
  const ref: DatabaseRef = { kv, name, id, pageSize: metadata.pageSize, prefix: namespacePrefix(root, id) };
  if (metadata.forkOf === null) return ref;
  const bases = [metadata.forkOf, ...metadata.ancestors].map((b) => ({
    prefix: namespacePrefix(root, fromHex(b.id)),
    version: fromHex(b.version),
  }));
  return { ...ref, bases };
}

/** The root prefix a database's keys live under. */
export function rootOfRef(db: DatabaseRef): Uint8Array {
  return db.prefix.subarray(0, db.prefix.length - db.id.length - databasesPrefix(new Uint8Array(0)).length);
}

export function createDatabase(kv: Kv, name: string, options?: CreateOptions): Promise<DatabaseRef> {
  return runAsync(createDatabaseSteps(kv, name, options));
}

export function* createDatabaseSteps(kv: Kv, name: string, options?: CreateOptions): Steps<DatabaseRef> {
  validateName(name);
  const metadata: DatabaseMetadata = {
    pageSize: validatePageSize(options?.pageSize ?? DEFAULT_PAGE_SIZE),
    createdAt: Date.now(),
    retentionMs: validateRetention(options?.retentionMs ?? DEFAULT_RETENTION_MS),
    forkOf: null,
    ancestors: [],
  };
  return yield* createNamespaceSteps(kv, rootOf(options), name, () => wait({ metadata }));
}

/** What a new database starts as: its metadata, and keys it needs outside its namespace (a fork's pin). */
export interface NamespacePlan {
  metadata: DatabaseMetadata;
  /** Writes in the creating transaction; a versionstamped key written here gets the new namespace id. */
  write?: (tx: KvWrites) => void;
}

/**
 * Creates database `name` in one kv transaction; `plan` runs inside it (so it can read, with conflicts,
 * what the new database depends on). Its namespace id is that transaction's versionstamp.
 */
export function* createNamespaceSteps(
  kv: Kv,
  root: Bytes,
  name: string,
  plan: (tx: AnyTransaction) => Steps<NamespacePlan>,
): Steps<DatabaseRef> {
  // The token tells our own earlier attempt (after 1021) apart from someone else's database of that name.
  const token = new Uint8Array(randomBytes(TOKEN_BYTES));
  const { value, versionstamp } = yield* writeTransactionSteps(kv, (tx) => writeNamespace(tx, root, name, token, plan));
  return refOf(kv, root, name, value.id ?? versionstamp!, value.metadata);
}

/** createNamespaceSteps' transaction: the id (of our own earlier attempt) or undefined (the versionstamp). */
function* writeNamespace(
  tx: AnyTransaction,
  root: Bytes,
  name: string,
  token: Uint8Array,
  plan: (tx: AnyTransaction) => Steps<NamespacePlan>,
): Steps<{ id: Uint8Array | undefined; metadata: DatabaseMetadata }> {
  const key = nameKey(root, name);
  const existing = yield* wait(tx.get(key));
  if (existing !== undefined) {
    if (!bytesEqual(existing.subarray(10), token)) throw new DatabaseExistsError(name);
    const id = copyBytes(existing, 0, 10);
    const stored = yield* wait(tx.get(metadataKey(namespacePrefix(root, id))));
    return { id, metadata: decodeMetadata(stored!) };
  }
  const { metadata, write } = yield* plan(tx);
  tx.setVersionstampedValue(key, new Uint8Array(0), token);
  tx.setVersionstampedKey(databasesPrefix(root), METADATA_SUFFIX, encodeMetadata(metadata));
  tx.setVersionstampedKey(databasesPrefix(root), WATERMARK_SUFFIX, versionToBytes(ZERO_VERSION));
  write?.(tx);
  return { id: undefined, metadata };
}

/** createNamespaceSteps with an asynchronous plan (forks). */
export function createNamespace(
  kv: Kv,
  root: Bytes,
  name: string,
  plan: (tx: KvTransaction) => Promise<NamespacePlan>,
): Promise<DatabaseRef> {
  return runAsync(createNamespaceSteps(kv, root, name, (tx) => wait(plan(tx as KvTransaction))));
}

/** Name -> id and metadata, or undefined when there is no such database. */
function* lookup(
  reader: AnyReader,
  root: Bytes,
  name: string,
): Steps<{ id: Uint8Array; metadata: DatabaseMetadata } | undefined> {
  const value = yield* wait(reader.get(nameKey(root, name)));
  if (value === undefined) return undefined;
  const id = copyBytes(value, 0, 10);
  const metadata = yield* wait(reader.get(metadataKey(namespacePrefix(root, id))));
  if (metadata === undefined) return undefined;
  return { id, metadata: decodeMetadata(metadata) };
}

export function openDatabase(kv: Kv, name: string, options?: OpenOptions): Promise<DatabaseRef> {
  return runAsync(openDatabaseSteps(kv, name, options));
}

/** openDatabase on the store's synchronous transactions (embedded stores; SyncUnavailableError otherwise). */
export function openDatabaseSync(kv: Kv, name: string, options?: OpenOptions): DatabaseRef {
  return runSync(openDatabaseSteps(kv, name, options));
}

export function* openDatabaseSteps(kv: Kv, name: string, options?: OpenOptions): Steps<DatabaseRef> {
  validateName(name);
  const root = rootOf(options);
  if (options?.pageSize !== undefined) validatePageSize(options.pageSize);
  if (options?.retentionMs !== undefined) validateRetention(options.retentionMs);
  for (;;) {
    const found = yield* readTransactionSteps(kv, (tx) => lookup(tx.snapshot(), root, name));
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
      return yield* createDatabaseSteps(kv, name, options);
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
        forkOf: forkOfInfo(m),
      });
    }
    if (batch.length < LIST_BATCH) return out;
    begin = keyAfter(batch[batch.length - 1]!.key);
  }
}

/**
 * Deletes a database and its whole history: one range clear. Refused while forks of it exist (they read
 * through to its pages); deleting a fork releases its pin on its source.
 */
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
    const id = copyBytes(value, 0, 10);
    const ns = namespacePrefix(root, id);
    const forks = forksRange(ns);
    // With a conflict: a fork created meanwhile stops this delete.
    const [metadata, children] = await Promise.all([tx.get(metadataKey(ns)), tx.getRange(forks.begin, forks.end)]);
    if (children.length > 0) throw new DatabaseHasForksError(name, children.map(([, v]) => forkNameOf(v)));
    const forkOf = metadata === undefined ? null : decodeMetadata(metadata).forkOf;
    if (forkOf !== null) tx.clear(forkKey(namespacePrefix(root, fromHex(forkOf.id)), id));
    const range = namespaceRange(ns);
    tx.clear(key);
    tx.clearRange(range.begin, range.end);
  });
}

/** A fork entry's value: base version(10) ‖ fork name. */
export function encodeForkEntry(base: Version, name: string): Uint8Array {
  return concatBytes(versionToBytes(base), utf8(name));
}
export const forkBaseOf = (value: Bytes): Version => versionFromBytes(value.subarray(0, 10));
export const forkNameOf = (value: Bytes): string => Buffer.from(value.subarray(10)).toString('utf8');

function forkOfInfo(m: DatabaseMetadata): DatabaseInfo['forkOf'] {
  return m.forkOf === null ? null : { name: m.forkOf.name, version: m.forkOf.version };
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
      forkOf: forkOfInfo(m),
      truncatedBefore: versionFromBytes(watermark),
    };
  });
}

/**
 * The GC watermark, read in the caller's transaction. Its key exists for as long as the database does, so
 * this is also the "does the database still exist" check; read it in the same transaction as the data so
 * a read can never see data that GC already removed below a watermark it did not see.
 */
export function* readWatermarkSteps(reader: AnyReader, db: DatabaseRef): Steps<Version> {
  const value = yield* wait(reader.get(watermarkKey(db.prefix)));
  if (value === undefined) throw new DatabaseNotFoundError(db.name);
  return versionFromBytes(value);
}

export function readWatermark(reader: KvReader, db: DatabaseRef): Promise<Version> {
  return runAsync(readWatermarkSteps(reader, db));
}

/**
 * `read` in a snapshot of `db`'s store, alongside readWatermark so a deleted database is refused
 * (DatabaseNotFoundError) rather than read as empty.
 */
export function readExistingSteps<T>(db: DatabaseRef, read: (reader: AnyReader) => Steps<T>): Steps<T> {
  return readTransactionSteps(db.kv, (tx) => readExistingIn(tx.snapshot(), db, read));
}

function* readExistingIn<T>(reader: AnyReader, db: DatabaseRef, read: (reader: AnyReader) => Steps<T>): Steps<T> {
  const [, value] = yield* all([readWatermarkSteps(reader, db), read(reader)]);
  return value;
}

export function readExisting<T>(db: DatabaseRef, read: (reader: KvReader) => Promise<T>): Promise<T> {
  return runAsync(readExistingSteps(db, (reader) => wait(read(reader as KvReader))));
}

/**
 * The checks for pinning a version (a tag, a fork base): readable now (not below the watermark, not in the
 * future) and part of this database's history.
 */
export function checkPinnable(db: DatabaseRef, version: Version, watermark: Version, latest: Version): void {
  if (version > latest) throw new FutureVersionError(version, latest);
  if (version < watermark) throw new VersionTooOldError(version, watermark);
  const created = versionFromBytes(db.id);
  if (version < created) {
    throw new InvalidOptionError('version', `${version} is before database ${JSON.stringify(db.name)} was created (at ${created})`);
  }
}

/*
 * The last write version's value: idempotency key(16) ‖ version(10) ‖ wall time ms u64 of that commit (the
 * time its time-index entry has; values written before the time was added end after the version).
 */
const LAST_WRITE_TIME_AT = 26;

/** Newest committed version: the last write version, or the creation version before any commit. */
export function headOf(db: DatabaseRef, lastWrite: Bytes | undefined): Version {
  return versionFromBytes(lastWrite === undefined ? db.id : lastWrite.subarray(16, LAST_WRITE_TIME_AT));
}

/** The last commit's wall time (ms) from the last write value; undefined when the value has none. */
export function lastWriteTime(lastWrite: Bytes | undefined): number | undefined {
  return lastWrite !== undefined && lastWrite.length >= LAST_WRITE_TIME_AT + 8 ? Number(readU64be(lastWrite, LAST_WRITE_TIME_AT)) : undefined;
}

export function* headSteps(db: DatabaseRef): Steps<Version> {
  return headOf(db, yield* readExistingSteps(db, (reader) => wait(reader.get(lastWriteKey(db.prefix)))));
}

export function head(db: DatabaseRef): Promise<Version> {
  return runAsync(headSteps(db));
}

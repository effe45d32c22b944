/**
 * Forks: a new database whose history starts at a version of another, in O(1). Nothing is copied: the
 * fork's reads of pages it never wrote fall through to the source as of the fork version (read.ts), and
 * the source keeps that version readable (its GC never moves the watermark past a fork's base) until the
 * fork is deleted. Content stays in the source's namespace; the fork stores only the pages it writes.
 */

import { toHex } from '../kv/bytes.ts';
import type { KvReader } from '../kv/types.ts';
import {
  checkPinnable,
  createNamespace,
  encodeForkEntry,
  forkBaseOf,
  forkNameOf,
  headOf,
  readExisting,
  readWatermark,
  rootOfRef,
  type DatabaseRef,
} from './databases.ts';
import { DatabaseNotFoundError } from './errors.ts';
import { forksPrefix, forksRange, lastWriteKey, metadataKey } from './keys.ts';
import { decodeMetadata, validateRetention, type DatabaseMetadata } from './metadata.ts';
import { validateName } from './names.ts';
import { parseVersion, versionOfReadVersion, type Version } from './version.ts';

export interface ForkOptions {
  /** The source version the fork starts from (default: the source's head). */
  at?: Version;
  /** The fork's retention window in ms (default: the source's). */
  retentionMs?: number;
}

export interface ForkInfo {
  name: string;
  /** The version of the source the fork starts from. */
  base: Version;
}

/** Creates database `name` as a fork of `source`. */
export async function forkDatabase(source: DatabaseRef, name: string, options?: ForkOptions): Promise<DatabaseRef> {
  validateName(name);
  const asked = options?.at === undefined ? undefined : parseVersion(options.at);
  if (options?.retentionMs !== undefined) validateRetention(options.retentionMs);
  return createNamespace(source.kv, rootOfRef(source), name, async (tx) => {
    // With conflicts: a racing delete of the source, or GC moving its watermark, stops this fork.
    const [stored, watermark, lastWrite, readVersion] = await Promise.all([
      tx.get(metadataKey(source.prefix)),
      readWatermark(tx, source),
      tx.snapshot().get(lastWriteKey(source.prefix)),
      tx.getReadVersion(),
    ]);
    if (stored === undefined) throw new DatabaseNotFoundError(source.name);
    const base = asked ?? headOf(source, lastWrite);
    checkPinnable(source, base, watermark, versionOfReadVersion(readVersion));
    const sourceMetadata = decodeMetadata(stored);
    const metadata: DatabaseMetadata = {
      pageSize: sourceMetadata.pageSize,
      createdAt: Date.now(),
      retentionMs: options?.retentionMs ?? sourceMetadata.retentionMs,
      forkOf: { id: toHex(source.id), version: base, name: source.name },
      ancestors: sourceMetadata.forkOf === null ? [] : [sourceMetadata.forkOf, ...sourceMetadata.ancestors].map(({ id, version }) => ({ id, version })),
    };
    // The source's pin on `base`, keyed by the fork's id (this transaction's versionstamp).
    return { metadata, write: (t) => t.setVersionstampedKey(forksPrefix(source.prefix), new Uint8Array(0), encodeForkEntry(base, name)) };
  });
}

/** The live forks of `db` (each pins its base version). */
export async function listForks(db: DatabaseRef): Promise<ForkInfo[]> {
  return readExisting(db, (reader) => readForks(reader, db));
}

/** The forks of `db`, read in the caller's transaction (with a read conflict when `reader` is the transaction). */
export async function readForks(reader: KvReader, db: DatabaseRef): Promise<ForkInfo[]> {
  const range = forksRange(db.prefix);
  const rows = await reader.getRange(range.begin, range.end);
  return rows.map(([, value]) => ({ name: forkNameOf(value), base: forkBaseOf(value) }));
}

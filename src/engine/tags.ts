/**
 * Tags: names for versions. A tag pins its version: GC never moves the watermark past it, so the tagged
 * version stays readable whatever the retention window.
 */

import { concatBytes, readU64be, u64be } from '../kv/bytes.ts';
import type { Bytes, KvReader } from '../kv/types.ts';
import { checkPinnable, headOf, readExisting, readWatermark, type DatabaseRef } from './databases.ts';
import { InvalidOptionError, TagExistsError, TagNotFoundError } from './errors.ts';
import { lastWriteKey, tagKey, tagOfKey, tagsRange } from './keys.ts';
import { NAME } from './names.ts';
import { writeTransaction } from './transact.ts';
import { parseVersion, versionFromBytes, versionOfReadVersion, versionToBytes, type Version } from './version.ts';

export interface TagInfo {
  name: string;
  version: Version;
  createdAt: Date;
}

function validateTagName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new InvalidOptionError(
      'tag name',
      `${JSON.stringify(name)}: a tag name is 1 to 128 characters of A-Z, a-z, 0-9, '.', '_' and '-'`,
    );
  }
  return name;
}

/** Value: version(10) ‖ creation time ms u64. */
function decodeTag(name: string, value: Bytes): TagInfo {
  return { name, version: versionFromBytes(value.subarray(0, 10)), createdAt: new Date(Number(readU64be(value, 10))) };
}

/**
 * Tags `version` (default: the head) as `name`. The version must still be readable (at or above the GC
 * watermark, read with a conflict so a racing GC cannot pass it) and not in the future.
 */
export async function createTag(db: DatabaseRef, name: string, version?: Version): Promise<TagInfo> {
  validateTagName(name);
  const asked = version === undefined ? undefined : parseVersion(version);
  const { value } = await writeTransaction(db.kv, async (tx) => {
    const [watermark, lastWrite, existing, readVersion] = await Promise.all([
      readWatermark(tx, db),
      tx.snapshot().get(lastWriteKey(db.prefix)),
      tx.get(tagKey(db.prefix, name)),
      tx.getReadVersion(),
    ]);
    const at = asked ?? headOf(db, lastWrite);
    if (existing !== undefined) {
      const tag = decodeTag(name, existing);
      // The same tag again (or our own attempt that landed before a 1021): nothing to do.
      if (tag.version === at) return tag;
      throw new TagExistsError(db.name, name, tag.version);
    }
    checkPinnable(db, at, watermark, versionOfReadVersion(readVersion));
    const tag: TagInfo = { name, version: at, createdAt: new Date() };
    tx.set(tagKey(db.prefix, name), concatBytes(versionToBytes(at), u64be(BigInt(tag.createdAt.getTime()))));
    return tag;
  });
  return value;
}

/** Every tag, by name. */
export async function listTags(db: DatabaseRef): Promise<TagInfo[]> {
  return readExisting(db, (reader) => readTags(reader, db));
}

/** Every tag, read in the caller's transaction (with a read conflict when `reader` is the transaction). */
export async function readTags(reader: KvReader, db: DatabaseRef): Promise<TagInfo[]> {
  const range = tagsRange(db.prefix);
  const rows = await reader.getRange(range.begin, range.end);
  return rows.map(([key, value]) => decodeTag(tagOfKey(db.prefix, key), value));
}

/** Removes a tag (its version is no longer pinned). */
export async function deleteTag(db: DatabaseRef, name: string): Promise<void> {
  validateTagName(name);
  let seen = false;
  await writeTransaction(db.kv, async (tx) => {
    await readWatermark(tx.snapshot(), db);
    const existing = await tx.get(tagKey(db.prefix, name));
    if (existing === undefined) {
      // After a maybe-committed attempt, the tag being gone means our delete landed.
      if (seen) return;
      throw new TagNotFoundError(db.name, name);
    }
    seen = true;
    tx.clear(tagKey(db.prefix, name));
  });
}

/** The version a tag names. */
export async function resolveTag(db: DatabaseRef, name: string): Promise<Version> {
  validateTagName(name);
  const value = await readExisting(db, (reader) => reader.get(tagKey(db.prefix, name)));
  if (value === undefined) throw new TagNotFoundError(db.name, name);
  return decodeTag(name, value).version;
}

/**
 * Ordinary SQLite files on disk, for import and export: a file as an image
 * source (refusing one SQLite would first have to recover), and writing a
 * file so that a failed export never leaves a partial file behind.
 */

import { randomUUID } from 'node:crypto';
import { link, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InvalidImageError, type ImageSource } from '../../vfs/index.ts';
import { ArgumentError } from './errors.ts';

/** Runs `body` on the file at `path` as an image source. */
export async function withFileSource<T>(path: string, body: (source: ImageSource) => Promise<T>): Promise<T> {
  await checkNoSidecars(path);
  const handle = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new ArgumentError(err.code === 'ENOENT' ? `${path} does not exist` : `cannot read ${path}: ${err.message}`);
  });
  try {
    const { size } = await handle.stat();
    return await body({
      label: path,
      path,
      size,
      async read(position, length) {
        const bytes = new Uint8Array(length);
        const { bytesRead } = await handle.read(bytes, 0, length, position);
        return bytes.subarray(0, bytesRead);
      },
    });
  } finally {
    await handle.close();
  }
}

/** An image held in memory. */
export function bytesSource(bytes: Uint8Array): ImageSource {
  return {
    label: `the given ${bytes.length} bytes`,
    size: bytes.length,
    read: async (position, length) => new Uint8Array(bytes.subarray(position, position + length)), // a copy, also of a Buffer
  };
}

/** Refuses a file SQLite would first have to recover: a hot journal or an unmerged WAL next to it. */
async function checkNoSidecars(path: string): Promise<void> {
  for (const [suffix, advice] of [
    ['-wal', `checkpoint it first: sqlite3 ${path} "PRAGMA wal_checkpoint(TRUNCATE)"`],
    ['-journal', `open it once with sqlite3 to roll the interrupted transaction back`],
  ] as const) {
    const size = await stat(`${path}${suffix}`).then(
      (s) => s.size,
      () => 0,
    );
    if (size > 0) {
      throw new InvalidImageError(`${path} has a non-empty ${basename(path)}${suffix} next to it (changes not yet in the file); ${advice}`);
    }
  }
}

/**
 * Writes `path` through a temporary file moved into place only when complete
 * and synced. Without `replace`, an existing file is an error, also one that
 * appears meanwhile.
 */
export async function writeFileAtomically<T>(
  path: string,
  replace: boolean,
  write: (append: (bytes: Uint8Array) => Promise<void>) => Promise<T>,
): Promise<T> {
  const taken = () => new ArgumentError(`${path} already exists; pass { replace: true } to replace it`);
  if (!replace && (await exists(path))) throw taken();
  const temp = join(dirname(path), `.${basename(path)}.${randomUUID().slice(0, 8)}.tmp`);
  const handle = await open(temp, 'wx').catch((err: NodeJS.ErrnoException) => {
    throw new ArgumentError(`cannot write ${path}: ${err.message}`);
  });
  try {
    let result: T;
    try {
      result = await write(async (bytes) => {
        await handle.write(bytes);
      });
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (replace) {
      await rename(temp, path);
    } else {
      // link() refuses an existing name, where rename() would replace it.
      await link(temp, path).catch((err: NodeJS.ErrnoException) => {
        throw err.code === 'EEXIST' ? taken() : err;
      });
    }
    return result;
  } finally {
    await rm(temp, { force: true });
  }
}

function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Errors of the engine. Each has a stable `code` string that callers (and agents) can match on. */

import type { Version } from './version.ts';

export class MvdbError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class VersionFormatError extends MvdbError {
  constructor(readonly input: string) {
    super(
      'VERSION_FORMAT',
      `invalid version ${JSON.stringify(input)}: expected 20 hexadecimal characters ` +
        `(8-byte commit version then 2-byte batch order), e.g. 00003a6ed63a7951ffff`,
    );
  }
}

export class FutureVersionError extends MvdbError {
  constructor(
    readonly version: Version,
    readonly latest: Version,
  ) {
    super('FUTURE_VERSION', `version ${version} is in the future: the store's newest readable version is ${latest}`);
  }
}

export class VersionTooOldError extends MvdbError {
  constructor(
    readonly version: Version,
    readonly truncatedBefore: Version,
  ) {
    super(
      'VERSION_TOO_OLD',
      `version ${version} is no longer readable: history before ${truncatedBefore} was garbage-collected; ` +
        `the oldest readable version is ${truncatedBefore}`,
    );
  }
}

/** A database's stored metadata has a format this version of mvdb does not read (written by a newer one). */
export class UnsupportedFormatError extends MvdbError {
  constructor(
    readonly found: unknown,
    readonly supported: number,
  ) {
    super(
      'UNSUPPORTED_FORMAT',
      `database metadata format ${JSON.stringify(found)} is not supported: this mvdb reads format ${supported}; ` +
        `upgrade mvdb to open this database`,
    );
  }
}

export class InvalidNameError extends MvdbError {
  constructor(readonly input: unknown) {
    super(
      'INVALID_NAME',
      `invalid database name ${JSON.stringify(input)}: a name is 1 to 128 characters of A-Z, a-z, 0-9, '.', '_' and '-'`,
    );
  }
}

export class InvalidOptionError extends MvdbError {
  constructor(
    readonly option: string,
    message: string,
  ) {
    super('INVALID_OPTION', `invalid ${option}: ${message}`);
  }
}

export class DatabaseNotFoundError extends MvdbError {
  constructor(readonly database: string) {
    super('DATABASE_NOT_FOUND', `database ${JSON.stringify(database)} does not exist`);
  }
}

export class DatabaseExistsError extends MvdbError {
  constructor(readonly database: string) {
    super('DATABASE_EXISTS', `database ${JSON.stringify(database)} already exists`);
  }
}

export class NoVersionAtTimeError extends MvdbError {
  constructor(
    readonly database: string,
    readonly time: Date,
    readonly createdAt: Date,
  ) {
    super(
      'NO_VERSION_AT_TIME',
      `database ${JSON.stringify(database)} has no version at ${time.toISOString()}: ` +
        `it was created at ${createdAt.toISOString()}`,
    );
  }
}

/** Why a commit was refused; the caller re-reads at a newer snapshot and retries. */
export type ConflictKind =
  /** A page the writer read was written after its snapshot. */
  | 'page'
  /** Database-level check (no read set, or one above the threshold): someone committed after the snapshot. */
  | 'database'
  /** The snapshot is newer than the database's head (the head moved back). */
  | 'head-moved-back';

export class ConflictError extends MvdbError {
  constructor(
    readonly kind: ConflictKind,
    /** Pages written after the snapshot that the writer read (as far as the changelog tells). */
    readonly pages: number[],
    /** The newest version that caused the conflict. */
    readonly winningVersion: Version,
    readonly snapshot: Version,
  ) {
    super('CONFLICT', conflictMessage(kind, pages, winningVersion, snapshot));
  }
}

function conflictMessage(kind: ConflictKind, pages: number[], winning: Version, snapshot: Version): string {
  if (kind === 'head-moved-back') {
    return `conflict: snapshot ${snapshot} is newer than the database head ${winning}; start again from the head`;
  }
  const shown = pages.slice(0, 10).join(', ') + (pages.length > 10 ? `, ... (${pages.length} pages)` : '');
  const which = pages.length > 0 ? `page${pages.length > 1 ? 's' : ''} ${shown}` : 'the database';
  const level = kind === 'database' ? ' (database-level check)' : '';
  return `conflict${level}: ${which} changed after snapshot ${snapshot}, by the commit at ${winning}; retry from a newer snapshot`;
}

export class InvalidPageError extends MvdbError {
  constructor(message: string) {
    super('INVALID_PAGE', message);
  }
}

/** Stored page bytes do not match their content hash: never served. */
export class PageCorruptError extends MvdbError {
  constructor(
    readonly database: string,
    readonly page: number,
    readonly hash: string,
  ) {
    super('PAGE_CORRUPT', `database ${JSON.stringify(database)}: content of page ${page} (hash ${hash}) is corrupt or missing`);
  }
}

export class CommitTooLargeError extends MvdbError {
  constructor(
    readonly pages: number,
    readonly maxPages: number,
  ) {
    super('COMMIT_TOO_LARGE', `a commit of ${pages} pages is too large: at most ${maxPages} pages per commit`);
  }
}

/** A two-phase commit's token was revoked (by GC) before it became visible; nothing was committed. */
export class CommitInterruptedError extends MvdbError {
  constructor(readonly attempts: number) {
    super(
      'COMMIT_INTERRUPTED',
      `commit interrupted: its upload token was revoked by garbage collection ${attempts} time(s); nothing was committed`,
    );
  }
}

/** Deleting a database that forks still read through to. */
export class DatabaseHasForksError extends MvdbError {
  constructor(
    readonly database: string,
    readonly forks: string[],
  ) {
    super(
      'DATABASE_HAS_FORKS',
      `database ${JSON.stringify(database)} cannot be deleted: ${forks.length === 1 ? 'fork' : 'forks'} ` +
        `${forks.map((f) => JSON.stringify(f)).join(', ')} still read through to it; delete the ${forks.length === 1 ? 'fork' : 'forks'} first`,
    );
  }
}

export class TagNotFoundError extends MvdbError {
  constructor(
    readonly database: string,
    readonly tag: string,
  ) {
    super(
      'TAG_NOT_FOUND',
      `database ${JSON.stringify(database)} has no tag ${JSON.stringify(tag)}; ` +
        `list its tags with db.tags() or \`mvdb tag ${database}\``,
    );
  }
}

export class TagExistsError extends MvdbError {
  constructor(
    readonly database: string,
    readonly tag: string,
    readonly version: Version,
  ) {
    super(
      'TAG_EXISTS',
      `database ${JSON.stringify(database)} already has tag ${JSON.stringify(tag)} (at ${version}); ` +
        `remove it first (db.untag or \`mvdb tag ${database} ${tag} --delete\`) to move it`,
    );
  }
}

/** What the VFS refuses, as errors the driver hands to the user unchanged. */
import { MvdbError } from '../src/engine/index.ts';

/** A SQLite feature that cannot work on the page store (WAL, a page-size change, exclusive locking, ...). */
export class UnsupportedError extends MvdbError {
  constructor(
    readonly feature: string,
    message: string,
  ) {
    super('UNSUPPORTED', message);
  }
}

/** A write on a connection pinned at a version. */
export class ReadOnlyError extends MvdbError {
  constructor(
    readonly database: string,
    readonly version: string,
  ) {
    super(
      'READ_ONLY',
      `database ${JSON.stringify(database)} is open read-only at version ${version}: ` +
        `a snapshot cannot be written (open the database itself to write)`,
    );
  }
}

/** FoundationDB's error codes, with its retryable and maybe-committed predicates. */

export const ErrorCode = {
  transactionTooOld: 1007,
  futureVersion: 1009,
  notCommitted: 1020,
  commitUnknownResult: 1021,
  transactionCancelled: 1025,
  transactionTimedOut: 1031,
  processBehind: 1037,
  databaseLocked: 1038,
  clusterVersionChanged: 1039,
  invertedRange: 2005,
  invalidOptionValue: 2006,
  usedDuringCommit: 2017,
  transactionTooLarge: 2101,
  keyTooLarge: 2102,
  valueTooLarge: 2103,
  accessedUnreadable: 1036,
  rangeLimitsInvalid: 2210,
  /** Not FoundationDB's: a store URL or directory this project cannot open. */
  invalidStore: 2130,
  /** Not FoundationDB's: the fdb backend's native client is not installed. */
  clientNotInstalled: 2131,
  /** Not FoundationDB's: the Kv was closed. */
  storeClosed: 2132,
} as const;

const NAMES: Record<number, string> = {
  1007: 'transaction_too_old',
  1009: 'future_version',
  1020: 'not_committed',
  1021: 'commit_unknown_result',
  1025: 'transaction_cancelled',
  1031: 'transaction_timed_out',
  1036: 'accessed_unreadable',
  1037: 'process_behind',
  1038: 'database_locked',
  1039: 'cluster_version_changed',
  2005: 'inverted_range',
  2006: 'invalid_option_value',
  2017: 'used_during_commit',
  2101: 'transaction_too_large',
  2102: 'key_too_large',
  2103: 'value_too_large',
  2130: 'invalid_store',
  2131: 'client_not_installed',
  2132: 'store_closed',
  2210: 'range_limits_invalid',
};

const MAYBE_COMMITTED = new Set([1021, 1039]);
const RETRYABLE_NOT_COMMITTED = new Set([1020, 1007, 1009, 1038, 1078, 1042, 1235, 1051, 1037, 1213, 1242]);

/** An error from the kv layer, carrying FoundationDB's numeric code. */
export class KvError extends Error {
  override readonly name = 'KvError';
  constructor(
    readonly code: number,
    message?: string,
  ) {
    super(`${message ?? NAMES[code] ?? 'kv error'} (${NAMES[code] ?? 'error'} ${code})`);
  }
}

export function errorCode(err: unknown): number | undefined {
  if (err instanceof KvError) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The attempt may have committed (1021, 1039). */
export function isMaybeCommitted(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && MAYBE_COMMITTED.has(code);
}

/** The attempt did not commit and may simply be retried. */
export function isRetryableNotCommitted(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && RETRYABLE_NOT_COMMITTED.has(code);
}

/** `onError` retries these: not-committed ones and maybe-committed ones. */
export function isRetryable(err: unknown): boolean {
  return isRetryableNotCommitted(err) || isMaybeCommitted(err);
}

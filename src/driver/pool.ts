/**
 * Caps the SQLite modules open in this process. Each open connection is a
 * wa-sqlite module (a wasm instance with its own heap); past the cap the least
 * recently used idle ones are closed and reopen on their next use.
 */
import { ArgumentError } from './errors.ts';

export interface PoolMember {
  /** Closes this member's connection if nothing is running on it and no transaction is open. */
  closeIfIdle(): boolean;
}

export const DEFAULT_MAX_OPEN_CONNECTIONS = 128;

class ConnectionPool {
  max = DEFAULT_MAX_OPEN_CONNECTIONS;
  /** Least recently used first. */
  #members = new Set<PoolMember>();
  /** The member last in #members' order. */
  #last: PoolMember | undefined;

  get size(): number {
    return this.#members.size;
  }

  /** Marks `member` as just used (and open), then trims idle members past the cap. */
  use(member: PoolMember): void {
    // The same database used over and over: nothing moves (a Set re-insertion per statement showed in profiles).
    if (member === this.#last && this.#members.size <= this.max) return;
    this.#last = member;
    this.#members.delete(member);
    this.#members.add(member);
    if (this.#members.size <= this.max) return;
    for (const other of this.#members) {
      if (other === member || !other.closeIfIdle()) continue;
      this.#members.delete(other);
      if (this.#members.size <= this.max) break;
    }
  }

  remove(member: PoolMember): void {
    if (member === this.#last) this.#last = undefined;
    this.#members.delete(member);
  }
}

export const pool = new ConnectionPool();

/** Sets how many connections (wasm modules) stay open per process; more may stay open while busy. */
export function setMaxOpenConnections(max: number): void {
  if (!Number.isInteger(max) || max < 1) throw new ArgumentError(`max open connections must be a positive integer, got ${max}`);
  pool.max = max;
}

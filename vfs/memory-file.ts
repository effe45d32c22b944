/**
 * A growable byte array: journals, temp databases and other files SQLite needs
 * only while a connection is open. Atomicity comes from the page store's
 * commit, so none of these ever has to survive the process.
 */
export class MemoryFile {
  #bytes = new Uint8Array(0);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Copies into `target`; returns how many bytes were available. */
  read(target: { set(array: ArrayLike<number>, offset?: number): void; length: number }, offset: number): number {
    const available = Math.max(0, Math.min(target.length, this.#size - offset));
    if (available > 0) target.set(this.#bytes.subarray(offset, offset + available), 0);
    return available;
  }

  write(data: Uint8Array, offset: number): void {
    const end = offset + data.length;
    if (end > this.#bytes.length) {
      const grown = new Uint8Array(Math.max(end, this.#bytes.length * 2, 4096));
      grown.set(this.#bytes.subarray(0, this.#size));
      this.#bytes = grown;
    }
    this.#bytes.set(data, offset);
    this.#size = Math.max(this.#size, end);
  }

  truncate(size: number): void {
    if (size < this.#size) this.#bytes.fill(0, size, this.#size);
    this.#size = size;
  }
}

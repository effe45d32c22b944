/**
 * A private copy as a plain Uint8Array. Backends may hand out Buffers (whose `slice` does not copy) and
 * callers may reuse theirs: whatever the engine keeps or returns goes through here.
 */
export function copyBytes(bytes: Uint8Array, start?: number, end?: number): Uint8Array {
  return new Uint8Array(bytes.subarray(start, end));
}

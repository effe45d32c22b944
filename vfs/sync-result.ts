/**
 * Answers of async VFS methods that are ready at once, without suspending SQLite.
 *
 * wa-sqlite's Asyncify build calls an async VFS method through
 * `Asyncify.handleSleep(wakeUp => method().then(wakeUp))`. When `then` calls `wakeUp` before
 * handleSleep's callback returns, Emscripten neither unwinds nor rewinds the wasm stack: the
 * import simply returns the value. A Promise always calls back on a later microtask, so it
 * always costs an unwind and a rewind (~4-8 us each time here). A method that can answer from
 * memory returns `ready(code)` instead; one that needs the store still returns a Promise.
 */

/**
 * What an async VFS method returns: `ready(value)`, or a Promise when it needs the store.
 * Consumers only call `then(onFulfilled)` (handleSleep) or await it.
 */
export interface Answer<T> {
  then(onFulfilled: (value: T) => unknown): unknown;
}

/** A settled answer: `then` calls back at once. Callers pass error codes, never errors: it cannot reject. */
export function ready<T>(value: T): Answer<T> {
  return {
    then(onFulfilled) {
      onFulfilled(value);
      return undefined;
    },
  };
}

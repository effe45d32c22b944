/**
 * Runs async work one call at a time. An Asyncify module keeps a single unwind
 * state, so two calls in flight on one module abort it for good.
 */
export class Serializer {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(work);
    // The chain itself never rejects, so one caller's error is not the next caller's.
    this.#tail = result.then(noop, noop);
    return result;
  }
}

function noop(): void {}

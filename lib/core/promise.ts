/**
 * True when `value` is the promise of a result rather than the result itself: how the request path tells an answer a
 * store gave at once (the in-memory store) from one still to come. Results on that path are plain objects, never
 * thenables.
 */
export function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T>).then === 'function';
}

/** True for any thenable: what a user's code (a request-time check) may return in place of its answer. */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/**
 * Runs `fn` now and answers its result, or the promise it returned, as a promise; a synchronous throw becomes a
 * rejection. For methods whose contract is a promise over work that may finish at once (in-memory stores, the
 * `load`/`resolve` forms of the request path's synchronous answers).
 */
export function asPromise<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error);
  }
}

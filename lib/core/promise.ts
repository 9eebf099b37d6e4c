/**
 * True when `value` is the promise of a result rather than the result itself: how the request path tells an answer a
 * store gave at once (the in-memory store) from one still to come. Results on that path are plain objects, never
 * thenables.
 */
export function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T>).then === 'function';
}

import { SessionStoreConnectionError } from '../../core/errors';

/**
 * Memcached answered, but not as the store expects: an error reply (`SERVER_ERROR object too large for cache`,
 * `CLIENT_ERROR ...`), a user's sessions grown past `maxItemBytes`, a check-and-set that kept losing, or an id that
 * is already taken. Not a connectivity problem, so the module reports it as a bug (500, logged with its stack),
 * never as "try again later".
 *
 * Connectivity failures are {@link MemcachedStoreUnavailableError} instead, which does not extend this class.
 */
export class MemcachedSessionStoreError extends Error {
  /** Stable, machine-readable code for logs and metrics. */
  readonly code: string = 'MEMCACHED_SESSION_STORE_ERROR';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  /** Memcached answered a command with an error. */
  static commandFailed(operation: string, cause: unknown): MemcachedSessionStoreError {
    return new MemcachedSessionStoreError(
      `Memcached session store: ${operation} failed because memcached answered with an error: ${messageOf(cause)}. ` +
        'Check the memcached server log and its settings (item size limit -I, memory -m).',
      { cause },
    );
  }

  /**
   * The user's item (every session of the user, in one item so that per-user operations are one check-and-set)
   * would exceed `maxItemBytes`.
   */
  static itemTooLarge(operation: string, bytes: number, maxItemBytes: number): MemcachedSessionStoreError {
    return new MemcachedSessionStoreError(
      `Memcached session store: ${operation} would make one user's sessions take ${bytes} bytes, more than maxItemBytes ` +
        `(${maxItemBytes}). Lower maxConcurrentSessions or the data kept in each session, or start memcached with a larger ` +
        'item size (memcached -I 4m) and raise maxItemBytes to match.',
    );
  }

  /** A check-and-set lost `attempts` times in a row: far more parallel writers on one user than memcached can order. */
  static contention(operation: string, attempts: number): MemcachedSessionStoreError {
    return new MemcachedSessionStoreError(
      `Memcached session store: ${operation} lost ${attempts} check-and-set attempts in a row to parallel writers of the ` +
        'same user. Raise maxCasAttempts if one user legitimately makes that many parallel writes.',
    );
  }
}

/**
 * Memcached cannot be reached: down, restarting, unreachable over the network, the connection dropped, or a
 * command timed out. A {@link SessionStoreConnectionError}, so the module answers 503 and recovers by itself when
 * memcached is back (the client reconnects on the next command).
 */
export class MemcachedStoreUnavailableError extends SessionStoreConnectionError {
  /** Stable, machine-readable code for logs and metrics. */
  readonly code: string = 'MEMCACHED_SESSION_STORE_UNAVAILABLE';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  /**
   * @param operation the store method that failed (`read`, `create`...)
   * @param target `host:port`, or "the client passed in"
   */
  static create(operation: string, target: string, cause: unknown): MemcachedStoreUnavailableError {
    return new MemcachedStoreUnavailableError(
      `Memcached session store: ${operation} failed because memcached is unreachable at ${target} (${messageOf(cause)}). ` +
        'Check that memcached is running and reachable from this host (address, port, firewall). ' +
        'The store reconnects by itself when memcached is back; sessions kept before a restart are gone (everyone signs in again).',
      { cause },
    );
  }

  /**
   * An operation on a store after its `close()`: a 503 like any store that cannot answer, never a silent new
   * connection (the client reconnects by itself on the next command).
   */
  static closed(operation: string, target: string): MemcachedStoreUnavailableError {
    return new MemcachedStoreUnavailableError(
      `Memcached session store: ${operation} after close() (memcached at ${target}). close() was called on this store; create a new one.`,
    );
  }

  /**
   * memcached is full and refuses writes (`SERVER_ERROR out of memory`, when it runs with `-M` or cannot evict): a
   * capacity outage, so a 503 until it has room again, as for a server that does not answer.
   */
  static outOfMemory(operation: string, target: string, cause: unknown): MemcachedStoreUnavailableError {
    return new MemcachedStoreUnavailableError(
      `Memcached session store: ${operation} failed because memcached at ${target} is out of memory and refuses writes ` +
        `(${messageOf(cause)}). Give it more memory (-m), or let it evict old items (run it without -M); requests that ` +
        'write sessions fail with 503 until it has room.',
      { cause },
    );
  }

  /**
   * The start-up check failed: what `connect()` rejects with, naming where the store looked and what to check.
   *
   * @param target `host:port`
   * @param timeoutMs the `connectTimeoutMs` in force (ms)
   */
  static notAnswering(target: string, timeoutMs: number, cause: unknown): MemcachedStoreUnavailableError {
    return new MemcachedStoreUnavailableError(
      `Memcached session store: memcached at ${target} did not answer within ${timeoutMs} ms (${messageOf(cause)}). ` +
        'Check that memcached is running (memcached -u memcache -l 127.0.0.1 -p 11211) and reachable from this host, and ' +
        'that the `server` option (often MEMCACHED_URL) names its host:port; raise connectTimeoutMs only if it is known to be slow.',
      { cause },
    );
  }
}

/** By shape, not `instanceof Error`: socket errors may come from another realm (Node core under jest's VM). */
export function messageOf(cause: unknown): string {
  if (typeof cause === 'object' && cause !== null) {
    const { message, name } = cause as { message?: unknown; name?: unknown };
    if (typeof message === 'string' && message) return message;
    if (typeof name === 'string' && name) return name;
  }
  return String(cause);
}

import { SessionStoreConnectionError } from '../../core/errors';

/**
 * Redis answered, but not as the store expects: an error reply (out of memory, read-only replica, a script
 * error), a reply of the wrong shape, or an id that is already taken. Not a connectivity problem, so the module
 * reports it as a bug (500, logged with its stack), never as "try again later".
 *
 * Connectivity failures are {@link RedisStoreUnavailableError} instead, which does not extend this class.
 */
export class RedisSessionStoreError extends Error {
  /** Stable, machine-readable code for logs and metrics. */
  readonly code: string = 'REDIS_SESSION_STORE_ERROR';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  /** Redis answered with an error (out of memory, read-only replica, a script error...). */
  static commandFailed(operation: string, cause: unknown): RedisSessionStoreError {
    return new RedisSessionStoreError(
      `Redis session store: ${operation} failed because Redis answered with an error: ${messageOf(cause)}. ` +
        'Check the Redis server log and its state (memory limit, replica in read-only mode).',
      { cause },
    );
  }

  /** Redis answered something the store's scripts never return: another program wrote under the prefix. */
  static unexpectedReply(operation: string, reply: unknown): RedisSessionStoreError {
    return new RedisSessionStoreError(
      `Redis session store: ${operation} got an unexpected reply (${preview(reply)}). ` +
        'Check that no other application writes keys under this store prefix and that the client is not in ' +
        'legacy mode or mapping replies to custom types.',
    );
  }
}

/**
 * Redis cannot be reached: down, restarting, unreachable over the network, the connection dropped, or the
 * client is not connected. A {@link SessionStoreConnectionError}, so the module answers 503 and recovers by
 * itself when Redis is back.
 */
export class RedisStoreUnavailableError extends SessionStoreConnectionError {
  /** Stable, machine-readable code for logs and metrics. */
  readonly code: string = 'REDIS_SESSION_STORE_UNAVAILABLE';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  /**
   * @param operation the store method that failed (`read`, `create`...)
   * @param target where Redis was expected (URL without credentials, or "the client passed in")
   * @param hint what to check, specific to the cause
   */
  static create(operation: string, target: string, cause: unknown, hint?: string): RedisStoreUnavailableError {
    return new RedisStoreUnavailableError(
      `Redis session store: ${operation} failed because Redis is unreachable at ${target} (${messageOf(cause)}). ` +
        (hint ??
          'Check that Redis is running and reachable from this host (address, port, firewall, TLS, password). ' +
            'The store reconnects by itself when Redis is back.'),
      { cause },
    );
  }

  /**
   * The first connection failed: what `connect()` rejects with at start-up, so the message names where the store
   * looked and what to check.
   *
   * @param target the URL without credentials
   * @param timeoutMs the `connectTimeoutMs` that ran out (ms)
   * @param reason why the last attempt failed, in words (`connection refused`, `host not found`...)
   * @param option the option that says where Redis is, for the hint (default the `url` option)
   */
  static notAnswering(
    target: string,
    timeoutMs: number,
    reason: string,
    cause: unknown,
    option = '`url` option (often REDIS_URL)',
  ): RedisStoreUnavailableError {
    return new RedisStoreUnavailableError(
      `Redis session store: Redis at ${target} did not answer within ${timeoutMs} ms (${reason}). ` +
        `Check that Redis is running and reachable from this host, and that the ${option} ` +
        'points to it; raise connectTimeoutMs only if Redis is known to start slowly.',
      { cause },
    );
  }
}

/** Redis did not answer within `commandTimeoutMs`: overloaded, blocked by a slow command, or a network stall. */
export class RedisStoreTimeoutError extends RedisStoreUnavailableError {
  override readonly code: string = 'REDIS_SESSION_STORE_TIMEOUT';

  /**
   * @param timeoutMs the `commandTimeoutMs` that ran out (ms)
   */
  static timedOut(operation: string, target: string, timeoutMs: number): RedisStoreTimeoutError {
    return new RedisStoreTimeoutError(
      `Redis session store: ${operation} timed out after ${timeoutMs} ms (commandTimeoutMs) waiting for Redis at ` +
        `${target}. Check that Redis is not overloaded or blocked (SLOWLOG GET, a long script, a paused server) and ` +
        'that the network path is healthy; raise commandTimeoutMs only if Redis is known to be slow.',
    );
  }
}

/** By shape, not `instanceof Error`: socket errors may come from another realm (Node core under jest's VM). */
function messageOf(cause: unknown): string {
  if (typeof cause === 'object' && cause !== null) {
    const { message, name } = cause as { message?: unknown; name?: unknown };
    if (typeof message === 'string' && message) return message;
    if (typeof name === 'string' && name) return name;
  }
  return String(cause);
}

function preview(reply: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(reply) ?? String(reply);
  } catch {
    text = String(reply);
  }
  return text.length > 120 ? `${text.slice(0, 120)}...` : text;
}

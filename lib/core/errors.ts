import type { SessionRecord } from './session-record';

const CONNECTION_ERROR = Symbol.for('nest-session-kit:store-connection-error');

/**
 * Thrown by a store when its backend cannot be reached, times out, or drops the connection: the one kind of
 * store failure that means "try again later". The module answers it with 503 and recovers by itself when the
 * backend answers again. Any other error a store throws is treated as a bug (500, logged with its stack).
 *
 * Store authors: throw this (or a subclass) for connectivity failures only. Recognised across copies of this
 * package by a registered symbol, so `instanceof` is not needed ({@link isStoreConnectionError}).
 *
 * @example throw new SessionStoreConnectionError('Redis at redis://cache:6379 did not answer within 2000 ms', cause);
 */
export class SessionStoreConnectionError extends Error {
  override name = 'SessionStoreConnectionError';
  readonly [CONNECTION_ERROR] = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** True for a {@link SessionStoreConnectionError} from any copy of this package. */
export function isStoreConnectionError(error: unknown): error is SessionStoreConnectionError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[CONNECTION_ERROR] === true;
}

/**
 * The session store could not be reached or timed out. The module fails closed on it (503), logs it, and
 * recovers on its own when the store answers again. Only connectivity failures become this error: a bad
 * argument is a {@link SessionInputError}, and anything else is a bug that surfaces as a 500.
 */
export class SessionStoreUnavailableError extends Error {
  override readonly name = 'SessionStoreUnavailableError';

  constructor(
    /** The store operation that failed (e.g. `read`). */
    readonly operation: string,
    override readonly cause: unknown,
  ) {
    super(
      `Session store operation "${operation}" failed: ${cause instanceof Error ? cause.message : String(cause)}. ` +
        'Requests that need a session fail closed (503) until the store answers again; check that the store is up and reachable.',
    );
  }
}

/**
 * The application passed something a session cannot hold: an empty or too long `userId`, data that is not
 * JSON-serialisable (a BigInt, a cycle) or too large. A programming error: it surfaces as a 500 with this
 * message in the log, never as a store outage.
 */
export class SessionInputError extends TypeError {
  override readonly name = 'SessionInputError';

  constructor(
    /** The input at fault, e.g. `userId` or `data`. */
    readonly field: string,
    problem: string,
  ) {
    super(`Invalid session ${field}: ${problem}`);
  }
}

/** The session ended between loading it and writing to it (logout elsewhere, expiry, revocation). */
export class SessionGoneError extends Error {
  override readonly name = 'SessionGoneError';

  constructor() {
    super('The session ended while this request was using it; sign in again.');
  }
}

/**
 * A login, or the completion of a pending sign-in, refused by the concurrent-session policy `deny-new`: the user
 * already has `limit` live sessions that count. Nothing was created (a refused completion leaves the session
 * pending, as it was). `sessions` are those live sessions, oldest first, so the user can pick which to sign out;
 * `SessionService` answers it with 409 `TOO_MANY_SESSIONS` listing them.
 */
export class TooManySessionsError extends Error {
  override readonly name = 'TooManySessionsError';

  constructor(
    /** The user who tried to sign in. */
    readonly userId: string,
    /** The user's limit (live sessions). */
    readonly limit: number,
    /** The user's live sessions that count toward the limit, oldest first. */
    readonly sessions: readonly SessionRecord[],
  ) {
    super(
      `User "${userId}" already has ${sessions.length} live session(s), the limit of ${limit}: sign one out (revoke it by its handle) or ` +
        "raise maxConcurrentSessions, or use concurrentSessionPolicy 'evict-oldest' to end the oldest instead",
    );
  }
}

/** Bad module options. The message lists every problem and how to fix it. */
export class SessionOptionsError extends Error {
  override readonly name = 'SessionOptionsError';

  constructor(readonly problems: string[]) {
    super(`Invalid SessionModule options:\n  - ${problems.join('\n  - ')}`);
  }
}

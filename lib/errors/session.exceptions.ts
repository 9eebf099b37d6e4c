import { HttpException, HttpStatus } from '@nestjs/common';

/** Body of every error this module sends: `{ statusCode, code, message }`. */
export interface SessionErrorBody {
  statusCode: number;
  /** Stable, machine-readable code (UPPER_SNAKE). */
  code: string;
  message: string;
}

/** Base class: an HttpException whose body carries a stable `code`. */
export abstract class SessionHttpException extends HttpException {
  constructor(
    status: number,
    readonly code: string,
    message: string,
  ) {
    super({ statusCode: status, code, message } satisfies SessionErrorBody, status);
  }
}

/** 401 `SESSION_REQUIRED`: the route needs a signed-in session and the request has none. */
export class SessionRequiredException extends SessionHttpException {
  constructor(message = 'Sign in to continue.') {
    super(HttpStatus.UNAUTHORIZED, 'SESSION_REQUIRED', message);
  }
}

/** 401 `SESSION_EXPIRED`: the cookie named a session that has timed out. */
export class SessionExpiredException extends SessionHttpException {
  constructor(message = 'Your session has expired. Sign in again.') {
    super(HttpStatus.UNAUTHORIZED, 'SESSION_EXPIRED', message);
  }
}

/** 503 `SESSION_STORE_UNAVAILABLE`: the session store is down; the request fails closed. */
export class SessionStoreUnavailableException extends SessionHttpException {
  constructor() {
    super(HttpStatus.SERVICE_UNAVAILABLE, 'SESSION_STORE_UNAVAILABLE', 'Sessions are temporarily unavailable. Try again shortly.');
  }
}

/**
 * 401 `SESSION_ROTATED`: the cookie named a session id that was just replaced (a privilege change or step-up
 * on a parallel request). The id never authenticates again, but this answer sends no `Set-Cookie`: the
 * response that rotated carries the new cookie, and clearing it here could erase it. Retrying the request
 * with the browser's current cookie works.
 */
export class SessionRotatedException extends SessionHttpException {
  constructor(message = 'Your session was renewed by another request. Retry with the current session.') {
    super(HttpStatus.UNAUTHORIZED, 'SESSION_ROTATED', message);
  }
}

/** 401 `SESSION_REQUIRED` for a session whose sign-in is pending (a second factor is due) on a route that needs a complete one. */
export class SessionPendingException extends SessionRequiredException {
  constructor(message = 'Finish signing in: a second factor is due.') {
    super(message);
  }
}

/** 403 `MFA_REQUIRED`: the session's assurance level is below what the route requires (`@RequireAal`). */
export class InsufficientAssuranceException extends SessionHttpException {
  constructor(
    /** The level the route requires. */
    readonly required: number,
    message = 'This action needs multi-factor authentication. Verify with your second factor first.',
  ) {
    super(HttpStatus.FORBIDDEN, 'MFA_REQUIRED', message);
  }
}

/** One of the user's live sessions, as {@link TooManySessionsException} lists it: enough to name the device. */
export interface SessionDeviceSummary {
  /** The session's non-secret handle: revoke it with `SessionService.revoke(userId, handle)`. */
  handle: string;
  /** When it was created (ms since epoch). */
  createdAt: number;
  /** Its last activity (ms since epoch). */
  lastSeenAt: number;
  /** Client IP at its creation. */
  ip: string;
  /** Client user agent at its creation. */
  userAgent: string;
}

/** Body of {@link TooManySessionsException}: the usual fields, the limit, and the sessions to choose from. */
export interface TooManySessionsErrorBody extends SessionErrorBody {
  /** The user's concurrent-session limit. */
  limit: number;
  /** The user's live sessions, oldest first. */
  sessions: SessionDeviceSummary[];
}

/**
 * 409 `TOO_MANY_SESSIONS`: the login (or the completion of a pending sign-in, which then stays pending) was refused
 * because the user already has as many live sessions as allowed (`concurrentSessionPolicy: 'deny-new'`). Nothing was
 * created. The body lists the user's sessions
 * (`sessions: [{ handle, createdAt, lastSeenAt, ip, userAgent }]`, oldest first) so the client can ask which device
 * to sign out; the app then revokes it by handle (after checking the credentials again) and the login is retried.
 */
export class TooManySessionsException extends SessionHttpException {
  constructor(
    /** The user's limit. */
    readonly limit: number,
    sessions: readonly SessionDeviceSummary[],
    message = `You are signed in on too many devices (at most ${limit}). Sign out of one of them to continue.`,
  ) {
    super(HttpStatus.CONFLICT, 'TOO_MANY_SESSIONS', message);
    // The base class builds the body; the listing is added to that same object (what Nest sends) rather than by
    // changing the base constructor every exception shares.
    const body = this.getResponse() as TooManySessionsErrorBody;
    body.limit = limit;
    body.sessions = sessions.map(({ handle, createdAt, lastSeenAt, ip, userAgent }) => ({ handle, createdAt, lastSeenAt, ip, userAgent }));
  }
}

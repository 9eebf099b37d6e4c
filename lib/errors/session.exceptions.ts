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

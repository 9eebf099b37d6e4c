import { HttpStatus } from '@nestjs/common';
import { SessionHttpException } from '../errors/session.exceptions';

/**
 * 401 `INVALID_TOKEN`: the access token is missing, malformed, badly signed, of another type, issuer or audience,
 * expired, signed by an unknown key, revoked, or presented without its fingerprint cookie. `reason` says which (for
 * logs and the `WWW-Authenticate` header); the client gets a new token (refresh, or sign in).
 */
export class InvalidAccessTokenException extends SessionHttpException {
  constructor(
    /** Machine-readable: `missing`, `malformed`, `signature`, `algorithm`, `type`, `claims`, `expired`, `unknown_kid`, `revoked`, `fingerprint`. */
    readonly reason: string,
    message = 'The access token is not valid. Refresh it or sign in again.',
  ) {
    super(HttpStatus.UNAUTHORIZED, 'INVALID_TOKEN', message);
  }
}

/** 401 `INVALID_REFRESH_TOKEN`: unknown, malformed, expired (idle or absolute), revoked, or from another client. Sign in again. */
export class InvalidRefreshTokenException extends SessionHttpException {
  constructor(message = 'The refresh token is not valid any more. Sign in again.') {
    super(HttpStatus.UNAUTHORIZED, 'INVALID_REFRESH_TOKEN', message);
  }
}

/**
 * 401 `REFRESH_TOKEN_REUSED`: a refresh token was used again after it had been rotated (outside the grace window):
 * it was stolen, or a client lost a response. The whole family is revoked (TK-05); sign in again.
 */
export class RefreshTokenReusedException extends SessionHttpException {
  constructor() {
    super(
      HttpStatus.UNAUTHORIZED,
      'REFRESH_TOKEN_REUSED',
      'This refresh token was already used. For your safety every token of this sign-in is revoked: sign in again.',
    );
  }
}

/** 400 `INVALID_SCOPE`: a refresh asked for scope the sign-in was not granted (refreshes never widen scope). */
export class InvalidScopeException extends SessionHttpException {
  constructor(extra: readonly string[]) {
    super(
      HttpStatus.BAD_REQUEST,
      'INVALID_SCOPE',
      `Scope not granted to this sign-in: ${extra.join(' ')}. Ask for the granted scope or less.`,
    );
  }
}

/** 503 `TOKEN_STORE_UNAVAILABLE`: the token store is down; token routes fail closed and recover by themselves. */
export class TokenStoreUnavailableException extends SessionHttpException {
  constructor() {
    super(HttpStatus.SERVICE_UNAVAILABLE, 'TOKEN_STORE_UNAVAILABLE', 'API tokens are temporarily unavailable. Try again shortly.');
  }
}

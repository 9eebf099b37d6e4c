import { HttpException, HttpStatus } from '@nestjs/common';
import type { SessionErrorBody } from '../errors/session.exceptions';

/** Body of 401 `REAUTH_REQUIRED`: the usual error fields, and how to re-authenticate. */
export interface ReAuthRequiredBody extends SessionErrorBody {
  reauth: {
    /**
     * Where to prove who you are again: the module's `reauth.path`, or the session's own route (a session signed in
     * through an OpenID Provider: its re-authentication route there, see `SESSION_REAUTH_ROUTE_KEY`).
     */
    path: string;
    /** `POST` the password form to `path`, or `GET`: navigate the browser to `path` (a federated re-authentication). */
    method: 'POST' | 'GET';
    /** How recent the authentication must be for this route (ms). */
    maxAgeMs: number;
    /**
     * Why the session is not fresh enough: too old, a "remember me" login, an impersonation session, or `challenged`:
     * a request-time check (session anomaly) voided its last authentication.
     */
    reason: 'stale' | 'remembered' | 'impersonation' | 'challenged';
  };
}

/**
 * 401 `REAUTH_REQUIRED`: the route is sensitive (`@ReAuth`) and the session's last full authentication is too
 * old. The body says where to re-authenticate; pages turn it into a "confirm it is you" prompt and retry.
 */
export class ReAuthRequiredException extends HttpException {
  readonly code = 'REAUTH_REQUIRED';

  constructor(
    readonly reauth: ReAuthRequiredBody['reauth'],
    message = reauth.reason === 'impersonation'
      ? 'An impersonation session cannot confirm the user\u2019s identity: this action is not available while impersonating.'
      : reauth.reason === 'challenged'
        ? 'This session was used from an unfamiliar network or device. Confirm it is you: re-enter your password to continue.'
        : reauth.method === 'GET'
          ? 'Confirm it is you: sign in again at your identity provider to continue.'
          : 'Confirm it is you: re-enter your password to continue.',
  ) {
    super(
      { statusCode: HttpStatus.UNAUTHORIZED, code: 'REAUTH_REQUIRED', message, reauth } satisfies ReAuthRequiredBody,
      HttpStatus.UNAUTHORIZED,
    );
  }
}

import { HttpStatus } from '@nestjs/common';
import { SessionHttpException } from '../errors/session.exceptions';

/**
 * 503 `OIDC_UNAVAILABLE`: the OpenID Provider cannot be reached (discovery, token endpoint or keys). The app keeps
 * running; the OIDC routes answer this until the provider answers again, then recover by themselves.
 */
export class OidcUnavailableException extends SessionHttpException {
  constructor(message = 'Sign-in with the identity provider is temporarily unavailable. Try again shortly.') {
    super(HttpStatus.SERVICE_UNAVAILABLE, 'OIDC_UNAVAILABLE', message);
  }
}

/** Why a callback was refused: the stable `code` of the 400/401 answer. */
export type OidcCallbackFailure =
  /** No pre-login cookie: the flow was not started in this browser, or it expired and the browser dropped it. */
  | 'OIDC_FLOW_MISSING'
  /** A pre-login cookie this app did not seal, or one past its `flowTimeout`. */
  | 'OIDC_FLOW_INVALID'
  /** The `state` does not match this browser's flow (a forged or foreign callback). */
  | 'OIDC_STATE_MISMATCH'
  /** The flow's `state` was used already: a callback is single-use. */
  | 'OIDC_STATE_REUSED'
  /** The provider answered with an error (`error=access_denied`...). */
  | 'OIDC_LOGIN_DENIED'
  /** The code exchange or the ID token failed a check (PKCE, nonce, signature, issuer, audience, expiry, auth_time). */
  | 'OIDC_TOKEN_REJECTED'
  /** A re-authentication by another provider user than the session's, or not fresh, or below the session's level. */
  | 'OIDC_REAUTH_REJECTED';

const CALLBACK_MESSAGES: Record<OidcCallbackFailure, string> = {
  OIDC_FLOW_MISSING: 'This sign-in was not started in this browser, or took too long. Start again.',
  OIDC_FLOW_INVALID: 'This sign-in is not valid any more. Start again.',
  OIDC_STATE_MISMATCH: 'This sign-in response does not belong to the sign-in this browser started. Start again.',
  OIDC_STATE_REUSED: 'This sign-in response was used already. Start again.',
  OIDC_LOGIN_DENIED: 'The identity provider did not sign you in.',
  OIDC_TOKEN_REJECTED: 'The identity provider\u2019s answer failed verification. Start again.',
  OIDC_REAUTH_REJECTED: 'The identity provider did not confirm it is you. Start the confirmation again.',
};

/** 400 (a request that cannot belong to a valid flow) or 401 (the provider did not authenticate the user). */
export class OidcCallbackException extends SessionHttpException {
  constructor(
    readonly failure: OidcCallbackFailure,
    /** What exactly failed, for the security log (never sent to the client). */
    readonly detail: string,
  ) {
    const status =
      failure === 'OIDC_LOGIN_DENIED' || failure === 'OIDC_TOKEN_REJECTED' || failure === 'OIDC_REAUTH_REJECTED'
        ? HttpStatus.UNAUTHORIZED
        : HttpStatus.BAD_REQUEST;
    super(status, failure, CALLBACK_MESSAGES[failure]);
  }
}

/**
 * 400 `invalid_request` for a refused back-channel logout token (§2.8). The body keeps the module's shape and adds the
 * spec's `error` member; `reason` is for the log only.
 */
export class LogoutTokenRejectedException extends SessionHttpException {
  constructor(readonly reason: string) {
    super(HttpStatus.BAD_REQUEST, 'LOGOUT_TOKEN_REJECTED', 'The logout token was refused.');
  }
}

import { errors, jwtVerify } from 'jose';

/**
 * The provider's signing keys, as jose's `createRemoteJWKSet` or `createLocalJWKSet` returns them. Declared here, not
 * as jose's own type, so that these declarations do not import the ESM-only jose (a CommonJS app compiled with
 * `module: node16` could not read them).
 */
export type LogoutTokenKeys = (...args: never[]) => unknown;

/** The `events` member a back-channel logout token must carry (OpenID Connect Back-Channel Logout 1.0 §2.4). */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** Longest logout token accepted (characters): bounds the work an unauthenticated caller can ask for. */
export const MAX_LOGOUT_TOKEN_LENGTH = 8192;

/** What a valid logout token names. Times in ms since the epoch. */
export interface LogoutTokenClaims {
  issuer: string;
  subject?: string;
  sid?: string;
  jti: string;
  issuedAt: number;
  expiresAt: number;
}

/** What a logout token must match. */
export interface LogoutTokenExpectations {
  issuer: string;
  /** Our client id: the token's `aud` must contain it. */
  clientId: string;
  /** The one accepted JWS algorithm. */
  algorithm: string;
  /** Now, in ms (the module's clock). */
  now: number;
  /** Oldest accepted `iat`, and the most `exp` may lie after `iat` (ms). */
  maxAgeMs: number;
  /** Clock skew allowed on `iat` and `exp` (ms). */
  clockToleranceMs: number;
}

/**
 * A logout token that must be refused with 400 (§2.8): forged, expired, replayed, of the wrong type or shape. `reason`
 * is a stable snake_case word for logs; the client gets only `invalid_request`.
 */
export class LogoutTokenError extends Error {
  override readonly name = 'LogoutTokenError';

  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Validates a back-channel logout token (§2.6): signature with `keys` (the provider's JWKS) under the one pinned
 * algorithm, `typ: logout+jwt`, `iss`, `aud`, `iat` (not older than `maxAgeMs`), `exp` (present, not passed, at most
 * `maxAgeMs` after `iat`), `jti`, the back-channel `events` member, `sub` and/or `sid`, and no `nonce`. The `jti`
 * single-use check is the caller's (it needs a store).
 *
 * @throws LogoutTokenError for a token to refuse (400).
 * @throws any other error when the keys could not be fetched (the provider is unreachable: 503, the provider retries).
 */
export async function verifyLogoutToken(
  token: unknown,
  keys: LogoutTokenKeys,
  expect: LogoutTokenExpectations,
): Promise<LogoutTokenClaims> {
  if (typeof token !== 'string' || token.length === 0) throw new LogoutTokenError('missing', 'logout_token is missing');
  if (token.length > MAX_LOGOUT_TOKEN_LENGTH) throw new LogoutTokenError('too_long', 'logout_token is too long');
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, keys as never /* jose's JWTVerifyGetKey, structurally */, {
      issuer: expect.issuer,
      audience: expect.clientId,
      algorithms: [expect.algorithm],
      typ: 'logout+jwt',
      currentDate: new Date(expect.now),
      clockTolerance: Math.ceil(expect.clockToleranceMs / 1000),
      maxTokenAge: Math.ceil(expect.maxAgeMs / 1000),
      requiredClaims: ['iss', 'aud', 'iat', 'exp', 'jti', 'events'],
    }));
  } catch (error) {
    // Keys that could not be fetched say nothing about the token: the caller answers 503 and the provider retries.
    if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || !(error instanceof errors.JOSEError)) throw error;
    throw new LogoutTokenError(reasonOf(error), `logout_token refused: ${error.message}`);
  }
  const events = payload.events;
  if (typeof events !== 'object' || events === null || Array.isArray(events)) {
    throw new LogoutTokenError('events_missing', 'logout_token has no events object');
  }
  const event = (events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT];
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new LogoutTokenError('events_missing', `logout_token's events lack ${BACKCHANNEL_LOGOUT_EVENT}`);
  }
  // A nonce would make it look like an ID token: refused so that one can never pass for the other (§2.6 step 7).
  if ('nonce' in payload) throw new LogoutTokenError('nonce_present', 'logout_token must not carry a nonce');
  const subject = optionalString(payload.sub, 'sub');
  const sid = optionalString(payload.sid, 'sid');
  if (subject === undefined && sid === undefined) throw new LogoutTokenError('no_target', 'logout_token names neither sub nor sid');
  if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 255) {
    throw new LogoutTokenError('jti_invalid', 'logout_token jti must be a string of 1 to 255 characters');
  }
  const issuedAt = (payload.iat as number) * 1000;
  const expiresAt = (payload.exp as number) * 1000;
  if (expiresAt - issuedAt > expect.maxAgeMs) {
    throw new LogoutTokenError('exp_too_far', `logout_token lives ${expiresAt - issuedAt} ms: at most ${expect.maxAgeMs} ms are accepted`);
  }
  return { issuer: expect.issuer, subject, sid, jti: payload.jti, issuedAt, expiresAt };
}

function optionalString(value: unknown, claim: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > 255) {
    throw new LogoutTokenError(`${claim}_invalid`, `logout_token ${claim} must be a string of 1 to 255 characters`);
  }
  return value;
}

function reasonOf(error: InstanceType<typeof errors.JOSEError>): string {
  if (error instanceof errors.JWTExpired) return error.claim === 'iat' ? 'too_old' : 'expired';
  if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey) return 'bad_signature';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'algorithm_not_allowed';
  if (error instanceof errors.JWTClaimValidationFailed) return `claim_${error.claim}`;
  return error.code.replace(/^ERR_/, '').toLowerCase();
}

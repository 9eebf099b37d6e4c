import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import * as client from 'openid-client';
import type { AttemptCounterStore } from '../brute-force/attempt-counter.store';
import { InMemoryAttemptCounterStore } from '../brute-force/in-memory-attempt-counter.store';
import { Clock } from '../core/clock';
import { AUTHENTICATED_AT_MAX_SKEW_MS } from '../core/session-manager';
import type { SessionData } from '../core/session-record';
import { SessionHttpException, SessionRequiredException } from '../errors/session.exceptions';
import { CookiePolicy } from '../http/cookie-policy';
import type { HttpRequestLike, HttpResponseLike } from '../http/http-types';
import { setResponseHeader } from '../http/response-headers';
import { SESSION_REAUTH_ROUTE_KEY, type ReAuthRoute } from '../reauth/reauth-route';
import { CreateSessionOptions, SessionService, SessionView } from '../session.service';
import { LogoutTokenError, verifyLogoutToken } from './logout-token';
import { flowKeyOf, OidcFlow, openFlow, sealFlow } from './oidc-flow';
import { describe, OidcProviderConnection } from './oidc-provider-connection';
import { InMemoryOidcSessionLinkStore, OidcSessionLinkStore } from './oidc-session-link.store';
import { OidcCallbackException, OidcUnavailableException, LogoutTokenRejectedException } from './oidc.exceptions';
import { OIDC_MODULE_OPTIONS } from './oidc.module-definition';
import { BackchannelLogoutTarget, OidcIdentity, OidcModuleOptions, ResolvedOidcOptions, resolveOidcOptions } from './oidc.options';

/** Session data key of a session signed in through an OpenID Provider: `{ issuer, subject, sid }`. */
export const SESSION_OIDC_KEY = 'nsk:oidc';

/** The provider identity a session was signed in with (session data {@link SESSION_OIDC_KEY}). */
export interface OidcSessionIdentity {
  issuer: string;
  subject: string;
  sid: string | null;
}

/** A verified callback: who signed in, and what the flow was for. */
export interface OidcLoginResult {
  identity: OidcIdentity;
  /** The assurance level the login gives (1, or 2 for a multi-factor login: see `assuranceLevelOf`). */
  aal: number;
  /** True for the re-authentication of a signed-in user (finish with {@link OidcService.reauthenticate}). */
  reauth: boolean;
  /** The local path given to `startLogin`, if any. */
  returnTo?: string;
}

/** 400 `OIDC_REAUTH_NOT_APPLICABLE`: a re-authentication at the provider for a session not signed in there. */
export class OidcReauthNotApplicableException extends SessionHttpException {
  constructor() {
    super(
      HttpStatus.BAD_REQUEST,
      'OIDC_REAUTH_NOT_APPLICABLE',
      'This session was not signed in with the identity provider: confirm it is you with your password.',
    );
  }
}

/**
 * The relying party (openid-client v6): starts a sign-in, verifies its callback, turns it into a session, and ends
 * sessions on back-channel logout.
 *
 * - `state`, `nonce` and the PKCE (S256) verifier come from the CSPRNG and live in an encrypted, HttpOnly,
 *   SameSite=Lax pre-login cookie of the browser that started the flow (CR-05): a callback in another browser has no
 *   flow. Each `state` is single-use (an atomic `claim` in `replayStore`), and the cookie is cleared by the callback.
 * - The ID token is checked for signature (against the provider's JWKS, even from the token endpoint), the pinned
 *   algorithm, `iss`, `aud`, `exp`/`iat`, `nonce`, and `auth_time` when `max_age` was asked (CR-06).
 * - Back-channel logout tokens are checked as OpenID Connect Back-Channel Logout 1.0 §2.6 says, `jti` single-use
 *   (TE-08).
 */
@Injectable()
export class OidcService {
  /** The options with their defaults. */
  readonly options: ResolvedOidcOptions;
  private readonly connection: OidcProviderConnection;
  private readonly flowKey: Uint8Array;
  private readonly cookies: CookiePolicy;
  private readonly replay: AttemptCounterStore;
  private readonly links: OidcSessionLinkStore;
  private readonly logger = new Logger('OidcModule');

  constructor(
    @Inject(OIDC_MODULE_OPTIONS) options: OidcModuleOptions,
    private readonly sessions: SessionService,
    @Inject(Clock) private readonly clock: Clock,
  ) {
    this.options = resolveOidcOptions(options);
    this.connection = new OidcProviderConnection(this.options, clock);
    this.flowKey = flowKeyOf(this.options.clientSecret, this.options.cookieKey);
    this.cookies = new CookiePolicy({
      name: this.options.cookieName,
      secure: this.options.secureCookie,
      httpOnly: true,
      // Lax, not Strict: the provider sends the browser back with a top-level GET from its own site.
      sameSite: 'lax',
      path: '/',
    });
    this.replay = this.options.replayStore ?? new InMemoryAttemptCounterStore();
    this.links = this.options.sessionLinks ?? new InMemoryOidcSessionLinkStore();
  }

  /** The issuer as configured (a URL string, as the provider's `iss` must read). */
  get issuer(): string {
    return this.options.issuerId;
  }

  /**
   * Starts a sign-in: sets the pre-login cookie and answers the provider's authorization URL to redirect the browser
   * to. `reauth: true` re-authenticates the signed-in user at the provider (`prompt=login`, `max_age=0`): the session
   * must have been signed in through this provider. `returnTo`, a local path, is handed back by the callback.
   *
   * @throws OidcUnavailableException (503) while the provider cannot be reached.
   * @throws SessionRequiredException / OidcReauthNotApplicableException for a `reauth` without a federated session.
   */
  async startLogin(req: HttpRequestLike, res: HttpResponseLike, options: { reauth?: boolean; returnTo?: string } = {}): Promise<URL> {
    const reauth = options.reauth === true;
    if (reauth) {
      const session = await this.sessions.current(req, res);
      if (!session) throw new SessionRequiredException();
      const federated = OidcService.identityOf(session);
      if (!federated || federated.issuer !== this.issuer) throw new OidcReauthNotApplicableException();
    }
    const config = await this.connection.configuration();
    const now = this.clock.now();
    const flow: OidcFlow = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
      reauth,
      startedAt: now,
      expiresAt: now + this.options.flowTimeoutMs,
      ...(isLocalPath(options.returnTo) ? { returnTo: options.returnTo } : {}),
    };
    const parameters: Record<string, string> = {
      redirect_uri: this.options.redirectUri.href,
      scope: this.options.scope,
      response_type: 'code',
      code_challenge: await client.calculatePKCECodeChallenge(flow.codeVerifier),
      code_challenge_method: 'S256',
      state: flow.state,
      nonce: flow.nonce,
    };
    if (reauth) {
      // Both: prompt=login asks for a new authentication, max_age=0 makes the provider report it in auth_time.
      parameters.prompt = 'login';
      parameters.max_age = '0';
    }
    const url = client.buildAuthorizationUrl(config, parameters);
    this.cookies.set(res, await sealFlow(flow, this.flowKey), this.options.flowTimeoutMs);
    setResponseHeader(res, 'Cache-Control', 'no-store');
    return url;
  }

  /**
   * Verifies a callback (`req.url` holds the provider's answer) against this browser's flow, exchanges the code and
   * validates the ID token. Clears the pre-login cookie whatever the outcome.
   *
   * @throws OidcCallbackException (400 or 401 with a code) for every refused callback.
   * @throws OidcUnavailableException (503) when the provider cannot be reached.
   */
  async completeLogin(req: HttpRequestLike & { url?: string; originalUrl?: string }, res: HttpResponseLike): Promise<OidcLoginResult> {
    const reading = this.cookies.read(req);
    this.cookies.clear(res);
    setResponseHeader(res, 'Cache-Control', 'no-store');
    if (reading.kind !== 'present') throw new OidcCallbackException('OIDC_FLOW_MISSING', `pre-login cookie ${reading.kind}`);
    const flow = await openFlow(reading.value, this.flowKey);
    if (!flow) throw new OidcCallbackException('OIDC_FLOW_INVALID', 'pre-login cookie does not open');
    const now = this.clock.now();
    if (now > flow.expiresAt) throw new OidcCallbackException('OIDC_FLOW_INVALID', 'flow expired');
    const callbackUrl = new URL(this.options.redirectUri.href);
    const rawUrl = req.originalUrl ?? req.url ?? '';
    const query = rawUrl.indexOf('?');
    callbackUrl.search = query === -1 ? '' : rawUrl.slice(query);
    const state = callbackUrl.searchParams.get('state');
    if (state === null || !sameString(state, flow.state))
      throw new OidcCallbackException('OIDC_STATE_MISMATCH', 'state differs from the flow');
    // Single-use, across instances: the same answer (or the same cookie) never completes a second sign-in.
    const first = await this.claim(`oidc-state:${sha256(flow.state)}`, this.options.flowTimeoutMs, now);
    if (!first) throw new OidcCallbackException('OIDC_STATE_REUSED', 'state used already');
    const error = callbackUrl.searchParams.get('error');
    if (error !== null) throw new OidcCallbackException('OIDC_LOGIN_DENIED', `provider answered error=${error.slice(0, 64)}`);
    const config = await this.connection.configuration();
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: flow.codeVerifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
        ...(flow.reauth ? { maxAge: 0 } : {}),
      });
    } catch (failure) {
      if (isUnreachable(failure)) throw new OidcUnavailableException();
      throw new OidcCallbackException('OIDC_TOKEN_REJECTED', describe(failure));
    }
    const claims = tokens.claims();
    if (!claims) throw new OidcCallbackException('OIDC_TOKEN_REJECTED', 'no ID token');
    const identity = identityOf(claims as unknown as Record<string, unknown>);
    if (flow.reauth) {
      // The provider must have authenticated the user after we asked (not a session it had already).
      if (identity.authTime === undefined || identity.authTime < flow.startedAt - AUTHENTICATED_AT_MAX_SKEW_MS) {
        throw new OidcCallbackException(
          'OIDC_REAUTH_REJECTED',
          `auth_time ${String(identity.authTime)} before the request at ${flow.startedAt}`,
        );
      }
    }
    const aal = this.options.assuranceLevelOf(identity);
    return { identity, aal, reauth: flow.reauth, ...(flow.returnTo ? { returnTo: flow.returnTo } : {}) };
  }

  /**
   * Signs the user in from a verified callback: a new session exactly like a password login (new id, the request's
   * old session destroyed, nothing carried over unless `input.carryOver` asks), with `authenticatedAt` = the ID token's
   * `auth_time`, the login's assurance level, and the provider identity in its data; then links it for back-channel
   * logout. `input.userId` is the local user the app keyed by (issuer, subject).
   */
  async signIn(
    req: HttpRequestLike,
    res: HttpResponseLike,
    result: OidcLoginResult,
    input: Omit<CreateSessionOptions, 'authenticatedAt' | 'aal'>,
  ): Promise<SessionView> {
    const session = await this.sessions.create(req, res, {
      ...input,
      aal: result.aal,
      authenticatedAt: result.identity.authTime,
      data: { ...(input.data ?? {}), ...this.sessionData(result.identity) },
    });
    await this.link(result.identity, session);
    return session;
  }

  /**
   * Finishes a re-authentication at the provider (RA-06): the same provider user as the session's, at least the
   * session's assurance level, then `SessionService.reauthenticate` with `authenticatedAt` = `auth_time` (rotated id,
   * both timeouts reset).
   *
   * @throws OidcCallbackException 401 `OIDC_REAUTH_REJECTED` for another user or a lower level; 401 `SESSION_REQUIRED` without a session.
   */
  async reauthenticate(req: HttpRequestLike, res: HttpResponseLike, result: OidcLoginResult): Promise<SessionView> {
    const session = await this.sessions.current(req, res);
    if (!session) throw new SessionRequiredException();
    const federated = OidcService.identityOf(session);
    if (!federated || federated.issuer !== result.identity.issuer || federated.subject !== result.identity.subject) {
      throw new OidcCallbackException('OIDC_REAUTH_REJECTED', 'another provider user than the session\u2019s');
    }
    if (result.aal < session.aal) {
      throw new OidcCallbackException('OIDC_REAUTH_REJECTED', `assurance level ${result.aal} below the session's ${session.aal} (acr/amr)`);
    }
    const view = await this.sessions.reauthenticate(req, res, { authenticatedAt: result.identity.authTime, aal: session.aal });
    if ((result.identity.sid ?? null) !== federated.sid) await this.link(result.identity, view);
    return view;
  }

  /**
   * Handles a back-channel logout request (its form field `logout_token`): validates the token, refuses a used `jti`,
   * ends the sessions it names and awaits `onBackchannelLogout`. Answer 200 with `Cache-Control: no-store` after it.
   *
   * @throws LogoutTokenRejectedException (400) for a refused token; nothing ends.
   * @throws OidcUnavailableException (503) when the provider's keys cannot be fetched.
   */
  async backchannelLogout(logoutToken: unknown): Promise<BackchannelLogoutTarget> {
    const keys = await this.connection.keys();
    const now = this.clock.now();
    let claims;
    try {
      claims = await verifyLogoutToken(logoutToken, keys, {
        issuer: this.issuer,
        clientId: this.options.clientId,
        algorithm: this.options.signingAlgorithm,
        now,
        maxAgeMs: this.options.logoutTokenMaxAgeMs,
        clockToleranceMs: AUTHENTICATED_AT_MAX_SKEW_MS,
      });
    } catch (error) {
      if (error instanceof LogoutTokenError) throw new LogoutTokenRejectedException(error.reason);
      throw new OidcUnavailableException();
    }
    // Marked before anything ends: a replay of this token can never end sessions created since.
    const ttl = claims.expiresAt - now + AUTHENTICATED_AT_MAX_SKEW_MS + this.options.logoutTokenMaxAgeMs;
    if (!(await this.claim(`oidc-logout-jti:${sha256(`${claims.issuer}\n${claims.jti}`)}`, Math.max(ttl, 1000), now))) {
      throw new LogoutTokenRejectedException('jti_replayed');
    }
    const links = await this.links.take(claims.issuer, { subject: claims.subject, sid: claims.sid }, now);
    const ended: { userId: string; handle: string }[] = [];
    for (const link of links) {
      if (await this.sessions.revoke(link.userId, link.sessionHandle)) ended.push({ userId: link.userId, handle: link.sessionHandle });
    }
    const target: BackchannelLogoutTarget = {
      issuer: claims.issuer,
      ...(claims.subject === undefined ? {} : { subject: claims.subject }),
      ...(claims.sid === undefined ? {} : { sid: claims.sid }),
      userIds: [...new Set(links.map((l) => l.userId))],
      sessionHandles: ended.map((e) => e.handle),
    };
    if (this.options.onBackchannelLogout) {
      try {
        await this.options.onBackchannelLogout(target);
      } catch (error) {
        this.logger.error(`onBackchannelLogout failed for ${JSON.stringify(target)}: ${describe(error)}`);
        throw new OidcUnavailableException('The logout could not be completed. Try again shortly.');
      }
    }
    return target;
  }

  /** The session data that marks a session as signed in through this provider, and names its re-authentication route. */
  sessionData(identity: OidcIdentity): SessionData {
    const federated: OidcSessionIdentity = { issuer: identity.issuer, subject: identity.subject, sid: identity.sid ?? null };
    const route: ReAuthRoute = { path: this.options.reauthPath, method: 'GET' };
    return { [SESSION_OIDC_KEY]: { ...federated }, [SESSION_REAUTH_ROUTE_KEY]: { ...route } };
  }

  /** The provider identity of a session signed in through OIDC, or undefined. */
  static identityOf(session: Pick<SessionView, 'data'>): OidcSessionIdentity | undefined {
    const value = session.data[SESSION_OIDC_KEY] as Partial<OidcSessionIdentity> | undefined;
    if (typeof value !== 'object' || value === null) return undefined;
    if (typeof value.issuer !== 'string' || typeof value.subject !== 'string') return undefined;
    return { issuer: value.issuer, subject: value.subject, sid: typeof value.sid === 'string' ? value.sid : null };
  }

  private async link(identity: OidcIdentity, session: SessionView): Promise<void> {
    await this.links.add(
      {
        issuer: identity.issuer,
        subject: identity.subject,
        sid: identity.sid ?? null,
        userId: session.userId,
        sessionHandle: session.handle,
        expiresAt: session.absoluteExpiresAt,
      },
      this.clock.now(),
    );
  }

  private async claim(key: string, ttlMs: number, now: number): Promise<boolean> {
    try {
      return await this.replay.claim(key, ttlMs, now);
    } catch {
      // The single-use store is down: fail closed, as every store outage does.
      throw new OidcUnavailableException('Sign-in is temporarily unavailable. Try again shortly.');
    }
  }
}

/** The identity in verified ID token claims. */
function identityOf(claims: Record<string, unknown>): OidcIdentity {
  const amr = Array.isArray(claims.amr) ? claims.amr.filter((v): v is string => typeof v === 'string') : [];
  return {
    issuer: String(claims.iss),
    subject: String(claims.sub),
    ...(typeof claims.auth_time === 'number' ? { authTime: claims.auth_time * 1000 } : {}),
    amr,
    ...(typeof claims.acr === 'string' ? { acr: claims.acr } : {}),
    ...(typeof claims.sid === 'string' ? { sid: claims.sid } : {}),
    claims: Object.freeze({ ...claims }),
  };
}

function isLocalPath(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith('/') && !value.startsWith('//') && !value.includes('\\') && value.length <= 512;
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

/**
 * A failure to reach the provider (network, timeout), as opposed to an answer that failed a check. Duck-typed: fetch's
 * errors may come from another realm (a test runner's sandbox), where `instanceof TypeError` is false.
 */
function isUnreachable(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
    const { name, message, code, cause } = e as { name?: unknown; message?: unknown; code?: unknown; cause?: unknown };
    if (name === 'AbortError' || name === 'TimeoutError') return true;
    if (name === 'TypeError' && typeof message === 'string' && /fetch failed/i.test(message)) return true;
    if (typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|UND_ERR_)/.test(code)) return true;
    e = cause;
  }
  return false;
}

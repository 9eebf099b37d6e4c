import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { jwtVerify, SignJWT, type JWTHeaderParameters, type JWTPayload } from 'jose';
import { createLRU } from 'lru.min';
import type { Clock } from '../core/clock';
import { isStoreConnectionError } from '../core/errors';
import { AUTHENTICATION_VOIDED } from '../core/session-check';
import { generateHandle, hashToken, safeEqual } from '../core/token';
import { SessionRequiredException } from '../errors/session.exceptions';
import type { SecurityEvent } from '../events/security-event';
import { SecurityEventBus } from '../events/security-event-bus';
import type { BearerPrincipal } from '../guards/principal';
import { clientInfoOf } from '../http/client-info';
import { appendSetCookie } from '../http/cookie-policy';
import type { HttpRequestLike, HttpResponseLike } from '../http/http-types';
import { headersSent, setResponseHeader } from '../http/response-headers';
import { ReAuthGuard } from '../reauth/reauth.guard';
import type { SessionService } from '../session.service';
import type { ResolvedApiTokenOptions } from './api-token.options';
import { KeyRing, SigningKey } from './key-ring';
import {
  generateRefreshToken,
  isWellFormedRefreshToken,
  openSuccessor,
  REFRESH_TOKEN_PREFIX,
  refreshTokenId,
  sealSuccessor,
} from './refresh-token';
import {
  InvalidAccessTokenException,
  InvalidRefreshTokenException,
  InvalidScopeException,
  RefreshTokenReusedException,
  TokenStoreUnavailableException,
} from './token.exceptions';
import type { RefreshFamily } from './token-store';

/** Answer of a token grant (RFC 6749 §5.1). Send it with `Cache-Control: no-store` (TK-03). */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  /** Seconds until the access token expires. */
  expires_in: number;
  /** Opaque, `nsk_rt_` + 256 bits; single use: every refresh answers a new one. */
  refresh_token: string;
}

/** Answer of {@link ApiTokenService.exchangeSession}: an access token only (it dies with the session). */
export interface SessionTokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

/** Input of {@link ApiTokenService.issue}: who signed in, and how. Times in ms since the epoch. */
export interface IssueTokensInput {
  userId: string;
  /** The user's roles now (the `roles` claim `@Roles` checks). Default none. */
  roles?: readonly string[];
  /** Assurance level of the sign-in (1 one factor, 2 multi-factor). Default 1. */
  aal?: number;
  /** When the user authenticated (ms): `auth_time`, what `@ReAuth` checks. Default now. */
  authTime?: number;
  /** The client the tokens are for. Default the module's `clientId`. */
  clientId?: string;
  /** Granted scope, space-separated. Default empty. */
  scope?: string;
}

/** Options of {@link ApiTokenService.refresh}. */
export interface RefreshOptions {
  /** The client presenting the token; it must be the one it was issued to (TK-07). Default the module's `clientId`. */
  clientId?: string;
  /**
   * The user's roles now: the family does not keep them, so a removed role does not linger. Give a list, or a lookup
   * by user id answering `null` when the account may no longer hold tokens (deleted, disabled): the family is then
   * revoked and the refresh refused. Default none.
   */
  roles?: readonly string[] | ((userId: string) => Promise<readonly string[] | null>);
  /** A narrower scope for the new access token; never wider than granted (400 `INVALID_SCOPE`). Default the granted scope. */
  scope?: string;
}

/** Claims of our access tokens beyond the registered ones (RFC 9068 and ours). */
interface AccessClaims extends JWTPayload {
  client_id?: unknown;
  auth_time?: unknown;
  acr?: unknown;
  aal?: unknown;
  roles?: unknown;
  scope?: unknown;
  sid?: unknown;
  /** SHA-256 of the fingerprint cookie (TK-09). */
  fpt?: unknown;
  /** Issue time in ms: revocation cut-offs are ms, `iat` is seconds. */
  iat_ms?: unknown;
  /** RFC 8693 actor: the administrator behind an impersonation session. */
  act?: unknown;
}

/** A token jose verified (signature, pinned algorithm, typ, iss, aud, exp, nbf), remembered by its SHA-256. */
interface VerifiedToken {
  claims: Readonly<AccessClaims>;
  /** The key that verified it: the entry counts only while the ring still trusts this very key for its kid. */
  key: SigningKey;
  kid: string;
  /** jose's time checks in seconds (tolerance 0): valid while `nbf <= now` and `now < exp`. */
  exp: number;
  nbf: number;
}

/** How often (ms) the verified-token cache is swept of expired tokens, at most: on a cache miss, once a minute. */
const VERIFIED_SWEEP_INTERVAL_MS = 60_000;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** Longest access token looked at: ours are well under 2 KB. */
const MAX_JWT_LENGTH = 8192;
/** How far in the future an `iat` may be (clock skew between instances). */
const IAT_SKEW_MS = 5_000;

/** Thrown inside key resolution: a `kid` no key of the ring has (or one for another algorithm). */
class KeyResolutionError extends Error {
  constructor(readonly reason: 'unknown_kid' | 'algorithm') {
    super(reason);
  }
}

/**
 * Access tokens (JWT, RFC 9068) and rotating refresh tokens with reuse detection, and their revocation. Inject it
 * where you sign users in for an API (`issue`), refresh (`refresh`), revoke (`revoke`), and exchange a browser
 * session for a short-lived token (`exchangeSession`). `BearerAuthGuard` calls {@link authenticate}.
 */
export class ApiTokenService {
  /** The signing keys: `keys.rotate()` starts a key rotation (see the README). */
  readonly keys: KeyRing;
  private readonly logger = new Logger('ApiTokenModule');
  private readonly clock: Clock;
  private readonly audienceClaim: string | string[];
  private readonly getKey = (header: JWTHeaderParameters) => {
    const key = this.keys.verificationKey(header.kid);
    if (!key) throw new KeyResolutionError('unknown_kid');
    if (header.alg !== key.alg) throw new KeyResolutionError('algorithm');
    return key.publicKey;
  };
  private lastOutageLog = 0;
  /** When `verified` was last swept of expired tokens (ms, the module clock). */
  private lastVerifiedSweep = 0;
  /** See `verifiedTokenCacheSize`; undefined when it is 0. */
  private readonly verified: ReturnType<typeof createLRU<string, VerifiedToken>> | undefined;

  constructor(
    /** The resolved module options. */
    readonly options: ResolvedApiTokenOptions,
    clock: Clock,
    private readonly events: SecurityEventBus,
    private readonly sessions?: SessionService,
  ) {
    this.clock = clock;
    this.keys = new KeyRing(options.keys, options.algorithm, options.accessTokenTtlMs, clock);
    this.audienceClaim = options.audience.length === 1 ? options.audience[0] : options.audience;
    this.verified = options.verifiedTokenCacheSize > 0 ? createLRU({ max: options.verifiedTokenCacheSize }) : undefined;
  }

  /** A new sign-in for an API client: an access token and the first refresh token of a new family. */
  async issue(input: IssueTokensInput, req?: HttpRequestLike): Promise<TokenResponse> {
    const now = this.clock.now();
    const clientId = input.clientId ?? this.options.clientId;
    const family: RefreshFamily = {
      familyId: generateHandle(),
      userId: input.userId,
      clientId,
      scope: normalizeScope(input.scope ?? ''),
      aal: input.aal ?? 1,
      authTime: input.authTime ?? now,
      createdAt: now,
      absoluteExpiresAt: now + this.options.refreshAbsoluteTimeoutMs,
    };
    const refresh = generateRefreshToken();
    await this.store('createFamily', () =>
      this.options.store.createFamily(family, refreshTokenId(refresh), now, this.options.refreshIdleTimeoutMs),
    );
    const access = await this.sign(
      { userId: family.userId, clientId, scope: family.scope, aal: family.aal, authTime: family.authTime, roles: input.roles ?? [] },
      now,
      now + this.options.accessTokenTtlMs,
    );
    this.emit('authn_token_created', family.userId, req, { reason: 'issued', detail: { family: family.familyId, client: clientId } });
    return { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresIn, refresh_token: refresh };
  }

  /**
   * Uses a refresh token: it dies and a new pair comes back (TK-04). Parallel refreshes with the same token within
   * `refreshGrace` all get the same new refresh token (no fork); a use after that is reuse: 401
   * `REFRESH_TOKEN_REUSED`, a CRITICAL `authn_token_reuse` event, and the whole family revoked (TK-05). A token
   * presented by another client than its own revokes its family too (it leaked) and is refused.
   */
  async refresh(refreshToken: unknown, options: RefreshOptions = {}, req?: HttpRequestLike): Promise<TokenResponse> {
    if (!isWellFormedRefreshToken(refreshToken)) throw new InvalidRefreshTokenException();
    const now = this.clock.now();
    const successor = generateRefreshToken();
    const result = await this.store('rotateRefresh', () =>
      this.options.store.rotateRefresh({
        tokenId: refreshTokenId(refreshToken),
        successorId: refreshTokenId(successor),
        sealedSuccessor: sealSuccessor(successor, refreshToken),
        now,
        idleTimeoutMs: this.options.refreshIdleTimeoutMs,
        graceMs: this.options.refreshGraceMs,
      }),
    );
    if (result.status === 'missing' || result.status === 'expired') throw new InvalidRefreshTokenException();
    const family = result.family;
    if (result.status === 'reused') {
      this.emit('authn_token_reuse', family.userId, req, {
        level: 'CRITICAL',
        outcome: 'failure',
        reason: 'refresh_token_reuse',
        detail: { family: family.familyId, client: family.clientId },
      });
      this.emit('authn_token_revoked', family.userId, req, { reason: 'refresh_token_reuse', detail: { family: family.familyId } });
      throw new RefreshTokenReusedException();
    }
    let issued = successor;
    if (result.status === 'grace') {
      const opened = openSuccessor(result.sealedSuccessor, refreshToken);
      if (opened === undefined || !safeEqual(hashToken(opened), result.successorId)) throw new InvalidRefreshTokenException();
      issued = opened;
    }
    const clientId = options.clientId ?? this.options.clientId;
    if (clientId !== family.clientId) {
      await this.store('revokeFamily', () => this.options.store.revokeFamily(family.familyId, now));
      this.emit('authn_token_revoked', family.userId, req, {
        level: 'WARN',
        outcome: 'failure',
        reason: 'client_mismatch',
        detail: { family: family.familyId, client: family.clientId, presentedBy: clientId },
      });
      throw new InvalidRefreshTokenException('This refresh token was issued to another client. Sign in again.');
    }
    const scope = options.scope === undefined ? family.scope : narrowScope(family.scope, options.scope);
    const roles = typeof options.roles === 'function' ? await options.roles(family.userId) : (options.roles ?? []);
    if (roles === null) {
      await this.store('revokeFamily', () => this.options.store.revokeFamily(family.familyId, now));
      this.emit('authn_token_revoked', family.userId, req, { reason: 'account_inactive', detail: { family: family.familyId } });
      throw new InvalidRefreshTokenException('This account can no longer use this refresh token. Sign in again.');
    }
    const access = await this.sign(
      { userId: family.userId, clientId, scope, aal: family.aal, authTime: family.authTime, roles },
      now,
      now + this.options.accessTokenTtlMs,
    );
    if (result.status === 'rotated') {
      this.emit('authn_token_created', family.userId, req, { reason: 'refreshed', detail: { family: family.familyId, client: clientId } });
    }
    return { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresIn, refresh_token: issued };
  }

  /**
   * Exchanges the request's browser session for a short-lived access token naming it (`sid`), so a page can call
   * another API. Its `exp` is capped at the session's idle and absolute deadlines, and it dies with the session
   * (logout, revocation, logout everywhere). Sender-constrained (TK-09): it carries the SHA-256 of a random value set
   * in an HttpOnly, SameSite=Strict fingerprint cookie, and is refused without that cookie. Sends
   * `Cache-Control: no-store`.
   */
  async exchangeSession(req: HttpRequestLike, res: HttpResponseLike): Promise<SessionTokenResponse> {
    if (!this.sessions) {
      throw new Error(
        'ApiTokenService.exchangeSession needs SessionModule: make it global (isGlobal: true) or import it before ApiTokenModule',
      );
    }
    const session = await this.sessions.current(req, res);
    if (!session || session.stage !== 'complete') throw new SessionRequiredException();
    const now = this.clock.now();
    const expiresAt = Math.min(now + this.options.accessTokenTtlMs, session.idleExpiresAt, session.absoluteExpiresAt);
    // A remembered login (not re-authenticated since) or a voided one is no proof of presence: no auth_time, so
    // `@ReAuth` refuses the token as it refuses the session.
    const authFresh = ReAuthGuard.staleness({ ...session, impersonatedBy: null }, Number.MAX_SAFE_INTEGER, now) === null;
    const fingerprint = this.fingerprintFor(req, res, expiresAt - now);
    const access = await this.sign(
      {
        userId: session.userId,
        clientId: this.options.clientId,
        scope: '',
        aal: session.aal,
        authTime: authFresh ? session.authenticatedAt : AUTHENTICATION_VOIDED,
        roles: session.roles,
        sid: session.handle,
        fpt: hashToken(fingerprint),
        actor: session.impersonatedBy ?? undefined,
      },
      now,
      expiresAt,
    );
    if (!headersSent(res)) setResponseHeader(res, 'Cache-Control', 'no-store');
    this.emit('authn_token_created', session.userId, req, { reason: 'session_exchange', sessionHandle: session.handle });
    return { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresIn };
  }

  /**
   * Revokes a token (RFC 7009): a refresh token ends its family; an access token of ours is denied by its `jti`
   * until it expires (TK-08). Unknown, malformed or expired tokens are fine: nothing to do, no error.
   */
  async revoke(token: unknown, req?: HttpRequestLike): Promise<void> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_JWT_LENGTH) return;
    const now = this.clock.now();
    if (token.startsWith(REFRESH_TOKEN_PREFIX)) {
      if (!isWellFormedRefreshToken(token)) return;
      const family = await this.store('revokeFamilyOfToken', () => this.options.store.revokeFamilyOfToken(refreshTokenId(token), now));
      if (family) this.emit('authn_token_revoked', family.userId, req, { reason: 'revoked', detail: { family: family.familyId } });
      return;
    }
    const verified = await this.verifySignature(token, now).catch(() => null);
    if (!verified) return;
    const exp = (verified.exp as number) * 1000;
    await this.store('denyAccessToken', () =>
      this.options.store.denyAccessToken(`${this.options.issuer} ${String(verified.jti)}`, exp, now),
    );
    this.emit('authn_token_revoked', String(verified.sub), req, { reason: 'revoked', detail: { jti: String(verified.jti) } });
  }

  /**
   * Ends every refresh family of the user and refuses every access token issued to them before now (logout
   * everywhere, password change, account disabled, admin revoke, back-channel logout). Answers how many families ended.
   */
  async revokeAllForUser(userId: string, reason: string): Promise<number> {
    const now = this.clock.now();
    // Tokens issued in this very millisecond are refused too (fail safe); one issued a millisecond later passes.
    const ended = await this.store('revokeAllForUser', () =>
      this.options.store.revokeAllForUser(userId, now + 1, now + this.options.accessTokenTtlMs, now),
    );
    // Only when refresh tokens ended: the session events already record the logout everywhere itself.
    if (ended > 0) this.emit('authn_token_revoked', userId, undefined, { reason, detail: { families: ended, allTokens: true } });
    return ended;
  }

  /** Refuses every access token naming session `handle` (`sid`) from now on: the session ended. */
  async revokeSession(handle: string): Promise<void> {
    const now = this.clock.now();
    await this.store('denySession', () => this.options.store.denySession(handle, now + this.options.accessTokenTtlMs, now));
  }

  /**
   * Verifies an access token as `BearerAuthGuard` does: signature with a key of the ring and its pinned algorithm,
   * `typ: at+jwt`, `iss`, `aud`, `exp`, `nbf`, `iat`, the fingerprint cookie when the token carries one, then
   * revocation (`jti`, the user's cut-off, the session) in one store round trip.
   *
   * @throws InvalidAccessTokenException (401 `INVALID_TOKEN`) or TokenStoreUnavailableException (503)
   */
  async authenticate(token: string, req: HttpRequestLike): Promise<BearerPrincipal> {
    if (token.length > MAX_JWT_LENGTH || !JWT_SHAPE.test(token))
      throw new InvalidAccessTokenException('malformed', 'The access token is malformed.');
    const now = this.clock.now();
    const claims = await this.verifySignature(token, now);
    if (typeof claims.sub !== 'string' || typeof claims.jti !== 'string' || typeof claims.client_id !== 'string') {
      throw new InvalidAccessTokenException('claims', 'The access token lacks sub, jti or client_id.');
    }
    const iat = claims.iat as number;
    const issuedAt = typeof claims.iat_ms === 'number' && Math.floor(claims.iat_ms / 1000) === iat ? claims.iat_ms : iat * 1000;
    if (issuedAt > now + IAT_SKEW_MS) throw new InvalidAccessTokenException('claims', 'The access token was issued in the future.');
    if (claims.fpt !== undefined) this.checkFingerprint(claims.fpt, req);
    const sid = typeof claims.sid === 'string' ? claims.sid : undefined;
    const revoked = await this.store('checkAccess', () =>
      this.options.store.checkAccess({ userId: claims.sub!, jti: `${this.options.issuer} ${claims.jti!}`, issuedAt, sid }, now),
    );
    if (revoked !== null) throw new InvalidAccessTokenException('revoked', 'The access token was revoked. Sign in again.');
    const aal = typeof claims.aal === 'number' ? claims.aal : 1;
    const actor = typeof claims.act === 'object' && claims.act !== null ? (claims.act as { sub?: unknown }).sub : undefined;
    return {
      credential: 'bearer',
      userId: claims.sub,
      roles: Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [],
      aal,
      stage: 'complete',
      authenticatedAt: typeof claims.auth_time === 'number' ? claims.auth_time * 1000 : AUTHENTICATION_VOIDED,
      createdAt: issuedAt,
      tier: 'standard',
      impersonatedBy: typeof actor === 'string' ? actor : null,
      handle: sid,
      clientId: claims.client_id,
      scope: typeof claims.scope === 'string' ? claims.scope : '',
      tokenId: claims.jti,
      expiresAt: (claims.exp as number) * 1000,
    };
  }

  /** Registered by `ApiTokenModule` on `SessionService.onSessionsEnded`: tokens die with their sessions. */
  async sessionsEnded(ended: { userId: string; handles: string[]; reason: string; allOfUser: boolean }): Promise<void> {
    await Promise.all(ended.handles.map((handle) => this.revokeSession(handle)));
    if (ended.allOfUser) await this.revokeAllForUser(ended.userId, ended.reason);
  }

  /**
   * The token's claims once jose has verified it. A token verified before (same bytes, by SHA-256) is answered from
   * `verified` while the key that verified it is still the ring's key for its kid and jose's own time checks still
   * hold (`nbf <= now < exp`, in whole seconds as jose counts them): its signature, algorithm, typ, iss and aud
   * cannot have changed. Revocation is not part of this: `authenticate` asks the store on every request.
   */
  private async verifySignature(token: string, now: number): Promise<AccessClaims> {
    const cacheKey = this.verified === undefined ? undefined : hashToken(token);
    if (cacheKey !== undefined) {
      const hit = this.verified!.get(cacheKey);
      if (hit !== undefined) {
        const seconds = Math.floor(now / 1000);
        if (hit.nbf <= seconds && seconds < hit.exp && this.keys.verificationKey(hit.kid) === hit.key) return hit.claims;
        this.verified!.delete(cacheKey);
      }
    }
    try {
      const { payload, protectedHeader } = await jwtVerify<AccessClaims>(token, this.getKey, {
        algorithms: this.keys.algorithms,
        issuer: this.options.issuer,
        audience: this.options.audience,
        typ: 'at+jwt',
        currentDate: new Date(now),
        requiredClaims: ['exp', 'iat', 'jti', 'sub'],
      });
      if (cacheKey !== undefined) this.remember(cacheKey, payload, protectedHeader, now);
      return payload;
    } catch (error) {
      throw toInvalidToken(error);
    }
  }

  private remember(cacheKey: string, payload: AccessClaims, header: JWTHeaderParameters, now: number): void {
    if (now - this.lastVerifiedSweep >= VERIFIED_SWEEP_INTERVAL_MS) this.sweepVerified(now);
    const kid = header.kid;
    // The key getKey resolved for this kid (and alg) and jose verified with; exp is required, so always a number here.
    const signingKey = this.keys.verificationKey(kid);
    if (kid === undefined || signingKey === undefined || signingKey.alg !== header.alg || typeof payload.exp !== 'number') return;
    this.verified!.set(cacheKey, {
      claims: Object.freeze(payload),
      key: signingKey,
      kid,
      exp: payload.exp,
      nbf: typeof payload.nbf === 'number' ? payload.nbf : Number.NEGATIVE_INFINITY,
    });
  }

  /**
   * Drops the expired tokens from `verified`. An expired entry is never answered again, but the LRU only evicts at its
   * size cap, so without this every token an API client ever used would stay until `verifiedTokenCacheSize` of them
   * had piled up (a few KB each: at 100 new tokens a minute, over 100 KB of heap a minute). Swept at most once
   * per {@link VERIFIED_SWEEP_INTERVAL_MS}, on a cache miss: the cache holds roughly the tokens still in use.
   */
  private sweepVerified(now: number): void {
    this.lastVerifiedSweep = now;
    const seconds = Math.floor(now / 1000);
    const expired: string[] = [];
    for (const [key, entry] of this.verified!.entries()) if (entry.exp <= seconds) expired.push(key);
    for (const key of expired) this.verified!.delete(key);
  }

  private checkFingerprint(expected: unknown, req: HttpRequestLike): void {
    const cookie = readCookie(req, this.options.fingerprintCookie.name);
    if (typeof expected !== 'string' || cookie === undefined || !safeEqual(hashToken(cookie), expected)) {
      throw new InvalidAccessTokenException(
        'fingerprint',
        'This access token is bound to the browser it was issued to, and its fingerprint cookie is missing or wrong.',
      );
    }
  }

  /** The browser's fingerprint (kept when it has a well-formed one, so earlier tokens keep working), cookie renewed. */
  private fingerprintFor(req: HttpRequestLike, res: HttpResponseLike, ttlMs: number): string {
    const existing = readCookie(req, this.options.fingerprintCookie.name);
    const value = existing !== undefined && /^[A-Za-z0-9_-]{43}$/.test(existing) ? existing : randomBytes(32).toString('base64url');
    const { name, secure } = this.options.fingerprintCookie;
    // Max-Age never exceeds the token's lifetime (OWASP token sidejacking); rounded up so it outlives the last second.
    appendSetCookie(
      res,
      `${name}=${value}; Path=/; HttpOnly${secure ? '; Secure' : ''}; SameSite=Strict; Max-Age=${Math.max(1, Math.ceil(ttlMs / 1000))}`,
    );
    return value;
  }

  private async sign(
    t: {
      userId: string;
      clientId: string;
      scope: string;
      aal: number;
      authTime: number;
      roles: readonly string[];
      sid?: string;
      fpt?: string;
      actor?: string;
    },
    now: number,
    expiresAt: number,
  ): Promise<{ token: string; expiresIn: number }> {
    const key = this.keys.current;
    const exp = Math.floor(expiresAt / 1000);
    const claims: AccessClaims = { client_id: t.clientId, aal: t.aal, acr: `aal${t.aal}`, roles: [...t.roles], iat_ms: now };
    if (t.authTime !== AUTHENTICATION_VOIDED) claims.auth_time = Math.floor(t.authTime / 1000);
    if (t.scope) claims.scope = t.scope;
    if (t.sid) claims.sid = t.sid;
    if (t.fpt) claims.fpt = t.fpt;
    if (t.actor) claims.act = { sub: t.actor };
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: key.alg, typ: 'at+jwt', kid: key.kid })
      .setIssuer(this.options.issuer)
      .setSubject(t.userId)
      .setAudience(this.audienceClaim)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(exp)
      .setJti(randomBytes(16).toString('base64url'))
      .sign(key.privateKey);
    return { token, expiresIn: Math.max(0, exp - Math.floor(now / 1000)) };
  }

  /** Runs one store operation: a connectivity failure is 503 (fail closed, logged at most once a second). */
  private async store<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (!isStoreConnectionError(error)) throw error;
      const now = this.clock.now();
      if (now - this.lastOutageLog >= 1000) {
        this.lastOutageLog = now;
        this.logger.error(`Token store operation "${operation}" failed: ${error.message} Failing closed with 503.`);
        this.events.emit({
          type: 'session_store_unavailable',
          time: now,
          level: 'CRITICAL',
          outcome: 'failure',
          reason: `token_${operation}`,
        });
      }
      throw new TokenStoreUnavailableException();
    }
  }

  private emit(type: SecurityEvent['type'], userId: string, req: HttpRequestLike | undefined, extra: Partial<SecurityEvent> = {}): void {
    const client = req ? clientInfoOf(req) : undefined;
    this.events.emit({
      type,
      time: this.clock.now(),
      level: 'INFO',
      outcome: 'success',
      userId,
      ip: client?.ip,
      userAgent: client?.userAgent,
      ...extra,
    });
  }
}

/** Maps a verification failure to 401 `INVALID_TOKEN` with a reason; anything unexpected stays a bug (500). */
function toInvalidToken(error: unknown): unknown {
  if (error instanceof KeyResolutionError) {
    return error.reason === 'unknown_kid'
      ? new InvalidAccessTokenException('unknown_kid', 'The access token was signed by an unknown key.')
      : new InvalidAccessTokenException('algorithm', 'The access token algorithm does not match its key.');
  }
  const code = (error as { code?: unknown })?.code;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return new InvalidAccessTokenException('expired', 'The access token has expired. Refresh it.');
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return new InvalidAccessTokenException('algorithm', 'The access token algorithm is not accepted.');
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new InvalidAccessTokenException('signature', 'The access token signature is not valid.');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const claim = (error as { claim?: unknown }).claim;
      return claim === 'typ'
        ? new InvalidAccessTokenException('type', 'The token is not an access token (typ at+jwt).')
        : new InvalidAccessTokenException('claims', `The access token ${String(claim)} claim is not accepted.`);
    }
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return new InvalidAccessTokenException('malformed', 'The access token is malformed.');
    default:
      // A key of the wrong type for the header's algorithm and the like: still the token's fault, not ours.
      return error instanceof TypeError ? new InvalidAccessTokenException('malformed', 'The access token is malformed.') : error;
  }
}

/** Scope as a space-separated set without repeats. */
function normalizeScope(scope: string): string {
  return [...new Set(scope.split(' ').filter(Boolean))].join(' ');
}

/** `asked` when it is within `granted`; throws 400 `INVALID_SCOPE` for anything more (TK-07: never widen). */
function narrowScope(granted: string, asked: string): string {
  const have = new Set(granted.split(' ').filter(Boolean));
  const want = normalizeScope(asked);
  const extra = want.split(' ').filter((s) => s && !have.has(s));
  if (extra.length > 0) throw new InvalidScopeException(extra);
  return want;
}

/** One cookie's value from the `Cookie` header, or undefined. */
function readCookie(req: HttpRequestLike, name: string): string | undefined {
  const header = req.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

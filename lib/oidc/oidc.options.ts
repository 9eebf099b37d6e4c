import type { AttemptCounterStore } from '../brute-force/attempt-counter.store';
import type { OidcSessionLinkStore } from './oidc-session-link.store';

/** Who an OpenID Provider says signed in: the verified claims of the ID token. */
export interface OidcIdentity {
  /** The `iss` claim: the OpenID Provider (equal to the configured `issuer`). */
  issuer: string;
  /** The `sub` claim. Key local users by (`issuer`, `subject`), never by an e-mail address. */
  subject: string;
  /** When the user authenticated at the provider (`auth_time`, in ms since the epoch), when the token says. */
  authTime?: number;
  /** Authentication methods (`amr`), e.g. `['pwd', 'mfa']`; empty when the token has none. */
  amr: string[];
  /** Authentication context class (`acr`), when the token has one. */
  acr?: string;
  /** The provider's session id (`sid`), named again by back-channel logout tokens. */
  sid?: string;
  /** Every claim of the verified ID token (e-mail, name...): data to show, never a key. */
  claims: Readonly<Record<string, unknown>>;
}

/** What a back-channel logout ended, handed to `onBackchannelLogout`. */
export interface BackchannelLogoutTarget {
  issuer: string;
  /** The logout token's `sub`, when it has one: every session of that user from this issuer ended. */
  subject?: string;
  /** The logout token's `sid`, when it has one: the sessions that provider session created ended. */
  sid?: string;
  /** The local users whose sessions ended (possibly empty: nothing was linked, or they had ended already). */
  userIds: string[];
  /** The handles of the sessions that ended. */
  sessionHandles: string[];
}

/** Options of `OidcModule.forRoot` / `forRootAsync`. Durations in ms. */
export interface OidcModuleOptions {
  /**
   * The OpenID Provider's issuer URL; its metadata is discovered at `<issuer>/.well-known/openid-configuration`.
   * `https:`, or `http:` only on a loopback address (127.0.0.0/8, `::1`, `localhost`), for tests.
   */
  issuer: string;
  /** The client id registered at the provider. */
  clientId: string;
  /** The client secret (sent with HTTP Basic to the token endpoint). At least 16 characters. */
  clientSecret: string;
  /**
   * The absolute URL of the callback route, as registered at the provider (e.g. `https://app.example.com/auth/oidc/callback`).
   * `https:`, or `http:` on a loopback address.
   */
  redirectUri: string;
  /** Scopes asked for, space-separated; must include `openid`. Default `'openid email profile'`. */
  scope?: string;
  /**
   * The one JWS algorithm accepted for ID tokens and logout tokens (pinned: never `none`, never a symmetric `HS*`).
   * Default `'RS256'` (the OpenID Connect default).
   */
  signingAlgorithm?: string;
  /** How long a started sign-in may take at the provider (the pre-login cookie's lifetime). Default 10 minutes. */
  flowTimeout?: number;
  /**
   * The pre-login cookie holding `state`, `nonce` and the PKCE verifier (encrypted, HttpOnly, SameSite=Lax). Default
   * `__Host-nsk-oidc` when `secureCookie`, else `nsk-oidc` (browsers refuse a `__Host-` cookie without `Secure`).
   */
  cookieName?: string;
  /** `Secure` on the pre-login cookie. Default `true`; `false` only for plain-HTTP development. */
  secureCookie?: boolean;
  /**
   * The key (at least 32 bytes) that encrypts the pre-login cookie, the same on every instance. Default: derived
   * from `clientSecret` with HKDF-SHA-256 (every instance has the secret already).
   */
  cookieKey?: Uint8Array;
  /**
   * Where a session signed in through this provider re-authenticates (named in 401 `REAUTH_REQUIRED` with method
   * `GET`): the app's route that calls `OidcService.startLogin(req, res, { reauth: true })`. Default
   * `'/auth/oidc/login?reauth=1'`.
   */
  reauthPath?: string;
  /** Oldest accepted logout token (`iat`), and the most its `exp` may lie after `iat`. Default 2 minutes. */
  logoutTokenMaxAge?: number;
  /**
   * Single-use markers (`state` of a finished sign-in, `jti` of a used logout token), through the atomic
   * `claim(key, ttlMs, now)`. Give the store every instance shares (the brute-force counters' Redis or SQL store).
   * Default: an in-memory store (one process only).
   */
  replayStore?: AttemptCounterStore;
  /**
   * Which local sessions each provider session (`sid`) and user (`sub`) created, for back-channel logout. Give a store
   * every instance shares that survives restarts. Default: in memory (one process only; lost on restart).
   */
  sessionLinks?: OidcSessionLinkStore;
  /** After a failed discovery, the soonest the next attempt (meanwhile the routes answer 503 at once). Default 1 s. */
  discoveryRetryInterval?: number;
  /** Timeout of every request to the provider (discovery, token, JWKS). Default 5 s. */
  httpTimeout?: number;
  /**
   * The assurance level (1 or 2) of a provider login: default 2 when `amr` contains `mfa` (or `acr` is one of
   * `aal2Acrs`), else 1.
   */
  assuranceLevelOf?: (identity: OidcIdentity) => number;
  /** `acr` values that mean multi-factor (AAL2) at this provider. Default none. */
  aal2Acrs?: string[];
  /**
   * Awaited after a back-channel logout ended the sessions and before the 200 answer: end what else the app issued
   * to those users from that login (API tokens, e.g. `ApiTokenService.revokeAllForUser`). A throw is logged and answers
   * 503, but the sessions have ended and the token's `jti` is used: a retry of the same token is refused as a replay, so
   * make the hook reliable (or retry inside it).
   */
  onBackchannelLogout?: (target: BackchannelLogoutTarget) => Promise<void>;
}

/** {@link OidcModuleOptions} with every default filled in and checked. */
export interface ResolvedOidcOptions {
  issuer: URL;
  /** The issuer exactly as configured: what the provider's metadata and tokens must say in `iss`. */
  issuerId: string;
  clientId: string;
  clientSecret: string;
  redirectUri: URL;
  scope: string;
  signingAlgorithm: string;
  flowTimeoutMs: number;
  cookieName: string;
  secureCookie: boolean;
  cookieKey?: Uint8Array;
  reauthPath: string;
  logoutTokenMaxAgeMs: number;
  replayStore?: AttemptCounterStore;
  sessionLinks?: OidcSessionLinkStore;
  discoveryRetryIntervalMs: number;
  httpTimeoutMs: number;
  assuranceLevelOf: (identity: OidcIdentity) => number;
  onBackchannelLogout?: (target: BackchannelLogoutTarget) => Promise<void>;
}

/** The defaults of {@link OidcModuleOptions}, in one place. */
export const OIDC_DEFAULTS = Object.freeze({
  scope: 'openid email profile',
  signingAlgorithm: 'RS256',
  flowTimeoutMs: 10 * 60_000,
  reauthPath: '/auth/oidc/login?reauth=1',
  logoutTokenMaxAgeMs: 2 * 60_000,
  discoveryRetryIntervalMs: 1_000,
  httpTimeoutMs: 5_000,
});

/** Asymmetric JWS algorithms an ID or logout token may be pinned to. */
const ASYMMETRIC_ALGORITHMS = new Set([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
]);

/** Bad `OidcModule` options: the message names every offending option and what it accepts. */
export class OidcOptionsError extends Error {
  override readonly name = 'OidcOptionsError';

  constructor(readonly problems: string[]) {
    super(`Invalid OidcModule options: ${problems.join('; ')}`);
  }

  static create(problems: string[]): OidcOptionsError {
    return new OidcOptionsError(problems);
  }
}

/** True for a loopback host name: `localhost`, 127.0.0.0/8 or `[::1]`. */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/**
 * Fills in the defaults and checks every option, listing all problems at once.
 *
 * @throws OidcOptionsError naming each bad option.
 */
export function resolveOidcOptions(options: OidcModuleOptions): ResolvedOidcOptions {
  const problems: string[] = [];
  const url = (name: string, value: unknown): URL | undefined => {
    if (typeof value !== 'string' || value === '') {
      problems.push(`${name} is required: give an absolute https: URL`);
      return undefined;
    }
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      problems.push(`${name} is ${JSON.stringify(value)}: give an absolute https: URL`);
      return undefined;
    }
    if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && isLoopbackHost(parsed.hostname))) {
      problems.push(`${name} is ${JSON.stringify(value)}: use https: (http: is accepted only on a loopback address, for tests)`);
      return undefined;
    }
    if (parsed.username !== '' || parsed.password !== '' || parsed.hash !== '') {
      problems.push(`${name} is ${JSON.stringify(value)}: no credentials or fragment in it`);
      return undefined;
    }
    return parsed;
  };
  const duration = (name: string, value: unknown, fallback: number, min: number, max: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      problems.push(`${name} is ${String(value)}: give a whole number of ms from ${min} to ${max}`);
      return fallback;
    }
    return value;
  };
  const issuer = url('issuer', options.issuer);
  if (issuer && issuer.search !== '') problems.push(`issuer is ${JSON.stringify(options.issuer)}: no query in an issuer`);
  const redirectUri = url('redirectUri', options.redirectUri);
  if (typeof options.clientId !== 'string' || options.clientId.trim() === '')
    problems.push('clientId is required: the id registered at the provider');
  if (typeof options.clientSecret !== 'string' || options.clientSecret.length < 16) {
    problems.push('clientSecret is required and at least 16 characters long: the secret registered at the provider');
  }
  const scope = options.scope ?? OIDC_DEFAULTS.scope;
  if (typeof scope !== 'string' || !scope.split(' ').includes('openid')) {
    problems.push(`scope is ${JSON.stringify(scope)}: a space-separated list that includes "openid"`);
  }
  const signingAlgorithm = options.signingAlgorithm ?? OIDC_DEFAULTS.signingAlgorithm;
  if (!ASYMMETRIC_ALGORITHMS.has(signingAlgorithm)) {
    problems.push(
      `signingAlgorithm is ${JSON.stringify(signingAlgorithm)}: pin one asymmetric algorithm (${[...ASYMMETRIC_ALGORITHMS].join(', ')}); none and HS* are refused`,
    );
  }
  const flowTimeoutMs = duration('flowTimeout', options.flowTimeout, OIDC_DEFAULTS.flowTimeoutMs, 10_000, 60 * 60_000);
  const logoutTokenMaxAgeMs = duration(
    'logoutTokenMaxAge',
    options.logoutTokenMaxAge,
    OIDC_DEFAULTS.logoutTokenMaxAgeMs,
    10_000,
    60 * 60_000,
  );
  const discoveryRetryIntervalMs = duration(
    'discoveryRetryInterval',
    options.discoveryRetryInterval,
    OIDC_DEFAULTS.discoveryRetryIntervalMs,
    0,
    10 * 60_000,
  );
  const httpTimeoutMs = duration('httpTimeout', options.httpTimeout, OIDC_DEFAULTS.httpTimeoutMs, 1_000, 60_000);
  const secureCookie = options.secureCookie ?? true;
  if (typeof secureCookie !== 'boolean') problems.push(`secureCookie is ${String(secureCookie)}: true or false`);
  const cookieName = options.cookieName ?? (secureCookie ? '__Host-nsk-oidc' : 'nsk-oidc');
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/.test(cookieName))
    problems.push(`cookieName is ${JSON.stringify(cookieName)}: a cookie name token`);
  if (cookieName.startsWith('__Host-') && !secureCookie)
    problems.push('cookieName starts with __Host- but secureCookie is false: browsers refuse it');
  if (options.cookieKey !== undefined && (!(options.cookieKey instanceof Uint8Array) || options.cookieKey.length < 32)) {
    problems.push('cookieKey must be at least 32 random bytes (a Uint8Array), the same on every instance');
  }
  const reauthPath = options.reauthPath ?? OIDC_DEFAULTS.reauthPath;
  if (typeof reauthPath !== 'string' || !reauthPath.startsWith('/') || reauthPath.startsWith('//')) {
    problems.push(`reauthPath is ${JSON.stringify(reauthPath)}: a path on this app starting with a single /`);
  }
  const aal2Acrs = options.aal2Acrs ?? [];
  if (!Array.isArray(aal2Acrs) || aal2Acrs.some((v) => typeof v !== 'string')) problems.push('aal2Acrs must be a list of acr strings');
  if (options.assuranceLevelOf !== undefined && typeof options.assuranceLevelOf !== 'function')
    problems.push('assuranceLevelOf must be a function');
  if (options.onBackchannelLogout !== undefined && typeof options.onBackchannelLogout !== 'function') {
    problems.push('onBackchannelLogout must be an async function');
  }
  if (problems.length > 0) throw OidcOptionsError.create(problems);
  const acrs = new Set(aal2Acrs);
  return {
    issuer: issuer!,
    issuerId: options.issuer,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    redirectUri: redirectUri!,
    scope,
    signingAlgorithm,
    flowTimeoutMs,
    cookieName,
    secureCookie,
    cookieKey: options.cookieKey,
    reauthPath,
    logoutTokenMaxAgeMs,
    replayStore: options.replayStore,
    sessionLinks: options.sessionLinks,
    discoveryRetryIntervalMs,
    httpTimeoutMs,
    assuranceLevelOf:
      options.assuranceLevelOf ??
      ((identity) => (identity.amr.includes('mfa') || (identity.acr !== undefined && acrs.has(identity.acr)) ? 2 : 1)),
    onBackchannelLogout: options.onBackchannelLogout,
  };
}

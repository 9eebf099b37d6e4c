import type { AccessTokenJwk } from './key-ring';
import { Clock } from '../core/clock';
import { formatDuration, parseDuration } from '../core/duration';
import type { Duration } from '../session.options';
import { InMemoryTokenStore } from './in-memory-token.store';
import { TokenStore } from './token-store';

/** Signature algorithms for access tokens: asymmetric only (TK-01). */
export type AccessTokenAlgorithm = 'EdDSA' | 'ES256';

/** Options of `ApiTokenModule.forRoot()`. Durations are ms numbers or strings such as `"10m"`, `"1d"`. */
export interface ApiTokenModuleOptions {
  /** Where refresh families and revocations live. Default `new InMemoryTokenStore()` (one instance only). */
  store?: TokenStore;
  /** The `iss` of every access token, and the only one accepted. Required: your API's URL, e.g. `https://api.example.com`. */
  issuer: string;
  /** The `aud` of every access token, and what verification requires (one or several). Required. */
  audience: string | string[];
  /** Access-token lifetime. Default `10m`; at least `10s`, at most `1h` (TK-03: short-lived). */
  accessTokenTtl?: Duration;
  /** A refresh token unused this long expires (TK-06). Default `1d`. */
  refreshIdleTimeout?: Duration;
  /** No refresh after this long from sign-in, however active (TK-06). Default `30d`. */
  refreshAbsoluteTimeout?: Duration;
  /**
   * How long after its first use a refresh token still answers with the same successor (parallel refreshes of one
   * client); a use after it is reuse and revokes the family (TK-05). Default `10s`; at most `1m`.
   */
  refreshGrace?: Duration;
  /**
   * Signing keys, as private JWKs each with a `kid`: an Ed25519 `OKP` key (`EdDSA`) or a P-256 `EC` key (`ES256`).
   * The first signs; the second (if any) is the next key, published in the JWKS before it signs; the rest are retired
   * keys, still published and accepted for one access-token lifetime. Default: an Ed25519 pair generated at start-up,
   * which does not survive a restart and differs per instance (every instance refuses the others' tokens): give keys
   * when you run more than one instance.
   */
  keys?: AccessTokenJwk[];
  /** The algorithm of generated keys. Default `EdDSA` (Ed25519: small, fast, deterministic). */
  algorithm?: AccessTokenAlgorithm;
  /** The `client_id` of tokens issued without one (your first-party client). Default `default`. */
  clientId?: string;
  /**
   * The cookie that sender-constrains access tokens handed to a browser by `exchangeSession` (TK-09, OWASP "token
   * sidejacking"): HttpOnly, SameSite=Strict, `Path=/`, `Max-Age` of the token. Default name `__Host-nsk_atfp`,
   * `secure: true`; with `secure: false` (plain-HTTP development) the name must not start with `__Host-`.
   */
  fingerprintCookie?: { name?: string; secure?: boolean };
  /** The clock. Default: `SessionModule`'s clock when it is visible (global), else the system clock. */
  clock?: Clock;
  /**
   * Close the store when the app shuts down. Default `true`. A store's `close()` releases only what it opened itself,
   * never a client or DataSource you gave it; set `false` when the store is shared or you close it yourself.
   */
  closeStoreOnShutdown?: boolean;
  /**
   * How many verified access tokens to remember, so that a client presenting the same token again skips the signature
   * verification (an Ed25519 or P-256 verify, most of a bearer request's CPU). Entries are keyed by the token's SHA-256
   * (no token is kept), hold the claims jose verified and the key that verified them, and count only while that key is
   * still trusted and before the token's `exp` (and from its `nbf`); revocation, the `iat` and fingerprint checks run on
   * every request all the same. Least recently used entries go first. `0` verifies every request. Default 10000.
   */
  verifiedTokenCacheSize?: number;
}

/** Defaults of {@link ApiTokenModuleOptions} (durations in ms). */
export const API_TOKEN_DEFAULTS = Object.freeze({
  accessTokenTtlMs: 10 * 60_000,
  refreshIdleTimeoutMs: 86_400_000,
  refreshAbsoluteTimeoutMs: 30 * 86_400_000,
  refreshGraceMs: 10_000,
  algorithm: 'EdDSA' as AccessTokenAlgorithm,
  clientId: 'default',
  fingerprintCookieName: '__Host-nsk_atfp',
  verifiedTokenCacheSize: 10_000,
});

/** The options with defaults filled in and durations in ms. */
export interface ResolvedApiTokenOptions {
  store: TokenStore;
  issuer: string;
  audience: string[];
  accessTokenTtlMs: number;
  refreshIdleTimeoutMs: number;
  refreshAbsoluteTimeoutMs: number;
  refreshGraceMs: number;
  keys: AccessTokenJwk[] | undefined;
  algorithm: AccessTokenAlgorithm;
  clientId: string;
  fingerprintCookie: { name: string; secure: boolean };
  clock: Clock | undefined;
  closeStoreOnShutdown: boolean;
  verifiedTokenCacheSize: number;
}

/** Bad `ApiTokenModule` options: the message lists every problem and how to fix it. */
export class ApiTokenOptionsError extends Error {
  override readonly name = 'ApiTokenOptionsError';

  constructor(readonly problems: string[]) {
    super(`Invalid ApiTokenModule options:\n  - ${problems.join('\n  - ')}`);
  }
}

/** Validates options and fills in defaults. Throws {@link ApiTokenOptionsError} listing every problem. */
export function resolveApiTokenOptions(raw: ApiTokenModuleOptions): ResolvedApiTokenOptions {
  const problems: string[] = [];
  const options = (raw ?? {}) as Partial<ApiTokenModuleOptions>;
  const duration = (key: keyof ApiTokenModuleOptions, fallback: number, min: number, max: number): number => {
    const value = options[key];
    if (value === undefined) return fallback;
    const ms = parseDuration(value);
    if (ms === undefined) {
      problems.push(`${key} is ${JSON.stringify(value)}: give milliseconds (a number >= 0) or a string such as "30s", "10m", "1d"`);
      return fallback;
    }
    if (ms < min || ms > max)
      problems.push(`${key} is ${formatDuration(ms)}: keep it between ${formatDuration(min)} and ${formatDuration(max)}`);
    return ms;
  };
  if (typeof options.issuer !== 'string' || options.issuer.length === 0) {
    problems.push('issuer is required: the URL of your API (e.g. "https://api.example.com"), the iss claim of every access token');
  }
  const audience = typeof options.audience === 'string' ? [options.audience] : options.audience;
  if (!Array.isArray(audience) || audience.length === 0 || audience.some((a) => typeof a !== 'string' || a.length === 0)) {
    problems.push('audience is required: a non-empty string (or array of strings) naming the API that accepts the tokens (aud)');
  }
  const accessTokenTtlMs = duration('accessTokenTtl', API_TOKEN_DEFAULTS.accessTokenTtlMs, 10_000, 3_600_000);
  const refreshIdleTimeoutMs = duration('refreshIdleTimeout', API_TOKEN_DEFAULTS.refreshIdleTimeoutMs, 60_000, 366 * 86_400_000);
  const refreshAbsoluteTimeoutMs = duration(
    'refreshAbsoluteTimeout',
    API_TOKEN_DEFAULTS.refreshAbsoluteTimeoutMs,
    60_000,
    366 * 86_400_000,
  );
  const refreshGraceMs = duration('refreshGrace', API_TOKEN_DEFAULTS.refreshGraceMs, 0, 60_000);
  if (refreshIdleTimeoutMs > refreshAbsoluteTimeoutMs) {
    problems.push(
      `refreshIdleTimeout (${formatDuration(refreshIdleTimeoutMs)}) is longer than refreshAbsoluteTimeout (${formatDuration(refreshAbsoluteTimeoutMs)}): shorten it`,
    );
  }
  const algorithm = options.algorithm ?? API_TOKEN_DEFAULTS.algorithm;
  if (algorithm !== 'EdDSA' && algorithm !== 'ES256') problems.push(`algorithm is ${JSON.stringify(algorithm)}: use 'EdDSA' or 'ES256'`);
  if (options.keys !== undefined) {
    if (!Array.isArray(options.keys) || options.keys.length === 0)
      problems.push('keys must be a non-empty array of private JWKs (or leave it out)');
    else
      options.keys.forEach((jwk, i) => {
        if (typeof jwk !== 'object' || jwk === null || typeof jwk.kid !== 'string' || jwk.kid.length === 0) {
          problems.push(`keys[${i}] has no kid: give every key a unique "kid"`);
        } else if (!((jwk.kty === 'OKP' && jwk.crv === 'Ed25519') || (jwk.kty === 'EC' && jwk.crv === 'P-256'))) {
          problems.push(`keys[${i}] (kid ${jwk.kid}) is not an Ed25519 (OKP) or P-256 (EC) key: only EdDSA and ES256 sign access tokens`);
        } else if (typeof jwk.d !== 'string') {
          problems.push(`keys[${i}] (kid ${jwk.kid}) is a public key: give the private JWK (with "d")`);
        }
      });
  }
  const clientId = options.clientId ?? API_TOKEN_DEFAULTS.clientId;
  if (typeof clientId !== 'string' || clientId.length === 0 || clientId.length > 255) {
    problems.push('clientId must be a string of 1 to 255 characters');
  }
  const secure = options.fingerprintCookie?.secure ?? true;
  const cookieName = options.fingerprintCookie?.name ?? (secure ? API_TOKEN_DEFAULTS.fingerprintCookieName : 'nsk_atfp');
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(cookieName))
    problems.push(`fingerprintCookie.name ${JSON.stringify(cookieName)} is not a valid cookie name`);
  if (!secure && /^__(Host|Secure)-/.test(cookieName)) {
    problems.push(`fingerprintCookie.name ${cookieName} needs fingerprintCookie.secure true (browsers refuse the prefix without Secure)`);
  }
  if (options.store !== undefined && !(options.store instanceof TokenStore)) {
    problems.push('store must extend TokenStore (InMemoryTokenStore, RedisTokenStore, TypeOrmTokenStore or your own)');
  }
  if (options.clock !== undefined && typeof options.clock?.now !== 'function')
    problems.push('clock must have a now() method returning ms since the epoch');
  if (options.closeStoreOnShutdown !== undefined && typeof options.closeStoreOnShutdown !== 'boolean') {
    problems.push('closeStoreOnShutdown must be true or false');
  }
  const verifiedTokenCacheSize = options.verifiedTokenCacheSize ?? API_TOKEN_DEFAULTS.verifiedTokenCacheSize;
  if (!Number.isSafeInteger(verifiedTokenCacheSize) || verifiedTokenCacheSize < 0 || verifiedTokenCacheSize > 1_000_000) {
    problems.push(
      `verifiedTokenCacheSize is ${JSON.stringify(verifiedTokenCacheSize)}: give a whole number of tokens from 0 (verify every request) to 1000000`,
    );
  }
  if (problems.length > 0) throw new ApiTokenOptionsError(problems);
  return {
    store: options.store ?? new InMemoryTokenStore(),
    issuer: options.issuer!,
    audience: audience as string[],
    accessTokenTtlMs,
    refreshIdleTimeoutMs,
    refreshAbsoluteTimeoutMs,
    refreshGraceMs,
    keys: options.keys,
    algorithm,
    clientId,
    fingerprintCookie: { name: cookieName, secure },
    clock: options.clock,
    closeStoreOnShutdown: options.closeStoreOnShutdown ?? true,
    verifiedTokenCacheSize,
  };
}

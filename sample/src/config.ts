import { createPrivateKey } from 'node:crypto';
import { isIP } from 'node:net';
import { AccessTokenJwk, formatDuration, parseDuration } from '../../lib';
import { parsePublicOrigin, PUBLIC_ORIGIN_VARIABLE } from './passkeys/passkey-config';
import { parseRateLimit, RateLimitSetting } from './rate-limit/rate-limit-setting';
import { isLoopbackHost } from '../../lib/oidc/oidc.options';

/** Where the sample keeps its sessions (`SESSION_STORE`). */
export type SessionStoreKind = 'memory' | 'redis' | 'postgres' | 'mariadb' | 'sqlite' | 'memcached';

/** A SQL database, from a `sqlite:PATH`, `postgres://...` or `mysql://...` URL. */
export type DatabaseTarget =
  { kind: 'sqlite'; /** File path, or `:memory:`. */ path: string } | { kind: 'postgres'; url: string } | { kind: 'mysql'; url: string };

/** The session store the app runs with, with everything needed to open it. */
export type SessionStoreConfig =
  | { kind: 'memory' }
  | { kind: 'redis'; url: string }
  | { kind: 'postgres' | 'mariadb' | 'sqlite'; database: DatabaseTarget }
  /**
   * Sessions in memcached (`server`: host:port, from `MEMCACHED_URL`). API tokens stay in `tokenDatabase` (the users
   * database): a revocation that memcached evicted would let a revoked token in again.
   */
  | { kind: 'memcached'; server: string; tokenDatabase: DatabaseTarget };

/** `SESSION_LIMIT_POLICY`: what a login beyond the concurrent-session limit does. */
export type SessionLimitPolicy = 'evict-oldest' | 'deny-new';

/** `SESSION_BINDING`: what to do when a session is used from another IP or user agent. */
export type SessionBindingMode = 'off' | 'monitor' | 'strict';

/** `SESSION_BINDING_ACTION`: what `strict` binding does to an anomalous session: end it, or demand a re-authentication. */
export type SessionBindingAction = 'end' | 'reauth';

/** Express's `trust proxy` value: `false` (trust none), a hop count, or the proxy addresses/subnets to trust. */
export type TrustProxySetting = boolean | number | string[];

/** The whole configuration of the sample app, parsed and validated. Durations in milliseconds. */
export interface SampleConfig {
  host: string;
  port: number;
  /** Users and the audit trail. */
  database: DatabaseTarget;
  sessionStore: SessionStoreConfig;
  session: {
    idleTimeoutMs: number;
    absoluteTimeoutMs: number;
    /** 0 turns periodic rotation off. */
    rotationIntervalMs: number;
    rotationGraceMs: number;
    /** 0 = unlimited. */
    maxConcurrentSessions: number;
    binding: SessionBindingMode;
    /** What `strict` binding does: `end` the session (the contract's behaviour) or `reauth` (`SESSION_BINDING_ACTION`). */
    bindingAction: SessionBindingAction;
    /** How recent the last authentication must be for re-auth routes. */
    reauthMaxAgeMs: number;
    /** What a login beyond `maxConcurrentSessions` does (`SESSION_LIMIT_POLICY`). */
    limitPolicy: SessionLimitPolicy;
    /** The "remember me" tier (`REMEMBER_IDLE_TIMEOUT` / `REMEMBER_ABSOLUTE_TIMEOUT`). */
    rememberIdleTimeoutMs: number;
    rememberAbsoluteTimeoutMs: number;
    /** Lifetime cap of an admin's impersonation session (`IMPERSONATION_MAX_AGE`). */
    impersonationMaxAgeMs: number;
  };
  mfa: {
    /**
     * `MFA_ENCRYPTION_KEYS`: `kid:base64url(32 bytes)` pairs, newest first, that seal TOTP secrets at rest.
     * Undefined when unset: the app then makes a random key per start and warns (secrets sealed by an earlier run
     * no longer open).
     */
    encryptionKeys: string | undefined;
    /**
     * `ADMIN_REQUIRE_MFA`: every route that asks for the `admin` role also asks for `aal: 2` (403 `MFA_REQUIRED`
     * below it), as RA-03 requires. Off by default because the contract seeds `bob` as an admin without a second
     * factor and drives the admin routes with his password alone; turn it on in production.
     */
    requiredForAdmins: boolean;
  };
  cookie: {
    secure: boolean;
    /** `__Host-sid` when secure; `sid` otherwise (browsers refuse a `__Host-` cookie without `Secure`). */
    name: string;
  };
  trustProxy: TrustProxySetting;
  csrf: {
    /**
     * `CSRF_SECRET`: the key of the CSRF token HMAC, at least 32 characters, the same on every instance. Undefined when
     * unset: the library draws a random key per start and warns (tokens of open pages die at a restart).
     */
    secret: string | undefined;
    /**
     * `CSRF_ALLOWED_ORIGINS`: comma-separated origins (`https://admin.example.com`) allowed to send state-changing
     * requests besides the app's own; `PUBLIC_ORIGIN` is always allowed. Default none.
     */
    allowedOrigins: string[];
  };
  /** Brute-force defence of sign-in (and, without the CAPTCHA step, of the other secret-checking routes). */
  bruteForce: {
    /** `LOCKOUT_THRESHOLD`: failures per account (or per client on it) before a temporary lock (1-100). */
    lockoutThreshold: number;
    /** `LOCKOUT_DURATION`: how long the lock lasts, in ms. */
    lockoutDurationMs: number;
    /** `CAPTCHA_AFTER_FAILURES`: failures (per account or per IP) after which sign-in needs a CAPTCHA solution; 0 = never. */
    captchaAfterFailures: number;
    /**
     * `LOGIN_DELAY`: first wait of the progressive delay (after a client's third failure in a row; two typos are free), doubled after each
     * further failure up to 30 s, in ms; 0 turns it off.
     */
    baseDelayMs: number;
    /** Key prefix of the counters on Redis (not from the environment: every instance must share it; tests isolate theirs). */
    redisPrefix: string;
  };
  /** API rate limits (BF-07), per client IP and route, on the brute-force defence's counters. */
  rateLimit: {
    /** `RATE_LIMIT_SENSITIVE` (`N/DURATION`): requests per window on each abusable route (re-auth, MFA, password, revocations). */
    sensitive: RateLimitSetting;
  };
  /** API tokens (`/api/*`): access-token lifetime and refresh-token lifetimes, in ms. */
  apiTokens: {
    /** `ACCESS_TOKEN_TTL` (default 10m, 10s to 1h). */
    accessTokenTtlMs: number;
    /** `REFRESH_IDLE_TIMEOUT` (default 1d): a refresh token unused this long expires. */
    refreshIdleTimeoutMs: number;
    /** `REFRESH_ABSOLUTE_TIMEOUT` (default 30d): no refresh past this from sign-in. */
    refreshAbsoluteTimeoutMs: number;
    /**
     * `ACCESS_TOKEN_KEYS`: the signing keys, a JSON array of private JWKs (Ed25519 or P-256, each with a `kid`; the
     * first signs, the second is the next key, the rest are retired), the same on every instance. Undefined when
     * unset: a key pair is generated per start, so each instance refuses the access tokens of the others.
     */
    keys?: AccessTokenJwk[];
  };
  /** File for the JSON-lines security log, or `-` for stdout. */
  securityLog: string;
  /** Prometheus metrics of the session module, served on `GET /metrics` and summarised on the `/admin` page. */
  metrics: {
    /** `METRICS_ENABLED` (default true): false turns the metrics off (`/metrics` answers 404, the dashboard hides). */
    enabled: boolean;
    /**
     * `METRICS_TOKEN`: a bearer token (at least 32 characters) that lets a scraper from another host read `/metrics`
     * (`Authorization: Bearer <token>`). Unset: only a direct, unproxied request from loopback may read it.
     */
    token?: string;
  };
  /**
   * `PUBLIC_ORIGIN`: the origin people load the app from; passkeys are bound to its host name (RP ID). Unset:
   * derived from the request for `localhost` only (see `relyingPartyFor`).
   */
  publicOrigin?: string;
  /**
   * `OIDC_ISSUER` / `OIDC_CLIENT_ID` / `OIDC_CLIENT_SECRET` (all three or none), and `OIDC_REDIRECT_URI` (default
   * `PUBLIC_ORIGIN` or `http://HOST:PORT`, then `/auth/oidc/callback`): "sign in with" an OpenID Provider. Unset: the
   * OIDC routes answer 404.
   */
  oidc?: OidcConfig;
}

/** The OpenID Provider the sample signs in with (see `SampleConfig.oidc`). */
export interface OidcConfig {
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

/** The environment variables the sample reads (a subset of `process.env`). */
export type SampleEnv = Readonly<Record<string, string | undefined>>;

/**
 * Bad configuration. The message is one line that names every offending variable and says what it accepts,
 * so an operator can fix it without reading code.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`Invalid configuration: ${problems.map((p) => p.message).join('; ')}`);
  }
}

const STORE_KINDS: readonly SessionStoreKind[] = ['memory', 'redis', 'postgres', 'mariadb', 'sqlite', 'memcached'];
const BINDING_MODES: readonly SessionBindingMode[] = ['off', 'monitor', 'strict'];
const BINDING_ACTIONS: readonly SessionBindingAction[] = ['end', 'reauth'];
const LIMIT_POLICIES: readonly SessionLimitPolicy[] = ['evict-oldest', 'deny-new'];
/** The subnet names Express (proxy-addr) understands in `trust proxy`. */
const NAMED_SUBNETS = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** Defaults, as the contract (SAMPLE-APP.md) lists them. */
export const CONFIG_DEFAULTS = {
  host: '127.0.0.1',
  port: 3000,
  databaseUrl: 'sqlite:sample/data/sample.sqlite',
  redisUrl: 'redis://127.0.0.1:6379',
  memcachedUrl: 'memcached://127.0.0.1:11211',
  idleTimeout: '30m',
  absoluteTimeout: '12h',
  rotationInterval: '15m',
  rotationGrace: '10s',
  maxConcurrent: 10,
  binding: 'monitor',
  bindingAction: 'end',
  reauthMaxAge: '5m',
  limitPolicy: 'evict-oldest',
  rememberIdleTimeout: '30d',
  rememberAbsoluteTimeout: '90d',
  impersonationMaxAge: '1h',
  securityLog: '-',
  lockoutThreshold: 10,
  lockoutDuration: '15m',
  captchaAfterFailures: 3,
  loginDelay: '1s',
  rateLimitSensitive: '30/1m',
  accessTokenTtl: '10m',
  refreshIdleTimeout: '1d',
  refreshAbsoluteTimeout: '30d',
  /** Session databases used when neither SESSION_DATABASE_URL nor DATABASE_URL is of the store's kind. */
  sessionDatabases: {
    postgres: 'postgres://postgres@127.0.0.1:5432/test',
    mariadb: 'mysql://root@127.0.0.1:3306/test',
    sqlite: 'sqlite:sample/data/sessions.sqlite',
  },
} as const;

/** The library refuses a longer grace window; checking here names the variable instead of the option. */
const MAX_ROTATION_GRACE_MS = 60_000;
const MIN_TIMEOUT_MS = 1000;

/**
 * Parses and validates the sample's configuration from an environment object.
 *
 * Pure: reads only `env` (no files, no network), so every rule is unit-testable. Unset and empty variables
 * take their defaults. Every problem is collected before throwing, so one start-up attempt reports them all.
 *
 * @throws ConfigError naming each bad variable.
 * @example const config = parseConfig(process.env);
 */
export function parseConfig(env: SampleEnv): SampleConfig {
  const problems: { variable: string; message: string }[] = [];
  const fail = (variable: string, message: string): void => {
    problems.push({ variable, message: `${variable} ${message}` });
  };
  const read = (variable: string): string | undefined => {
    const value = env[variable];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };

  const duration = (variable: string, fallback: string, min: number): number => {
    const raw = read(variable) ?? fallback;
    const ms = parseDuration(raw);
    if (ms === undefined) {
      fail(variable, `is ${JSON.stringify(raw)}: give milliseconds (e.g. 90000) or a duration such as "30s", "15m", "8h"`);
      return parseDuration(fallback)!;
    }
    if (ms < min) fail(variable, `is ${formatDuration(ms)}: it must be at least ${formatDuration(min)}`);
    return ms;
  };

  const integer = (variable: string, fallback: number, min: number, max: number): number => {
    const raw = read(variable);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      fail(variable, `is ${JSON.stringify(raw)}: give a whole number from ${min} to ${max}`);
      return fallback;
    }
    return Number(raw);
  };

  const oneOf = <T extends string>(variable: string, allowed: readonly T[], fallback: T): T => {
    const raw = read(variable)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      fail(variable, `is ${JSON.stringify(raw)}: use one of ${allowed.join(', ')}`);
      return fallback;
    }
    return raw as T;
  };

  const database = (variable: string, fallback: string): DatabaseTarget | undefined => {
    const raw = read(variable) ?? fallback;
    const target = parseDatabaseUrl(raw);
    if (!target)
      fail(variable, `is ${JSON.stringify(redact(raw))}: use sqlite:PATH, postgres://USER@HOST:PORT/DB or mysql://USER@HOST:PORT/DB`);
    return target;
  };

  const host = read('HOST') ?? CONFIG_DEFAULTS.host;
  if (/[\s/]/.test(host)) fail('HOST', `is ${JSON.stringify(host)}: give a host name or an IP address`);
  const port = integer('PORT', CONFIG_DEFAULTS.port, 0, 65535);

  const usersDatabase = database('DATABASE_URL', CONFIG_DEFAULTS.databaseUrl) ?? { kind: 'sqlite', path: ':memory:' };
  const storeKind = oneOf('SESSION_STORE', STORE_KINDS, 'memory');
  const sessionStore = sessionStoreConfig(storeKind, env, usersDatabase, read, fail);

  const idleTimeoutMs = duration('SESSION_IDLE_TIMEOUT', CONFIG_DEFAULTS.idleTimeout, MIN_TIMEOUT_MS);
  const absoluteTimeoutMs = duration('SESSION_ABSOLUTE_TIMEOUT', CONFIG_DEFAULTS.absoluteTimeout, MIN_TIMEOUT_MS);
  if (absoluteTimeoutMs < idleTimeoutMs) {
    fail(
      'SESSION_ABSOLUTE_TIMEOUT',
      `(${formatDuration(absoluteTimeoutMs)}) is shorter than SESSION_IDLE_TIMEOUT (${formatDuration(idleTimeoutMs)}): the absolute lifetime must be at least the idle timeout`,
    );
  }
  const rotationIntervalMs = duration('SESSION_ROTATION_INTERVAL', CONFIG_DEFAULTS.rotationInterval, 0);
  const rotationGraceMs = duration('SESSION_ROTATION_GRACE', CONFIG_DEFAULTS.rotationGrace, 0);
  if (rotationGraceMs > MAX_ROTATION_GRACE_MS) {
    fail('SESSION_ROTATION_GRACE', `is ${formatDuration(rotationGraceMs)}: keep it at most 1m, a rotated-away id stays usable that long`);
  }
  const maxConcurrentSessions = integer('SESSION_MAX_CONCURRENT', CONFIG_DEFAULTS.maxConcurrent, 0, 10_000);
  const binding = oneOf('SESSION_BINDING', BINDING_MODES, CONFIG_DEFAULTS.binding);
  const bindingAction = oneOf('SESSION_BINDING_ACTION', BINDING_ACTIONS, CONFIG_DEFAULTS.bindingAction);
  const reauthMaxAgeMs = duration('REAUTH_MAX_AGE', CONFIG_DEFAULTS.reauthMaxAge, MIN_TIMEOUT_MS);
  const limitPolicy = oneOf('SESSION_LIMIT_POLICY', LIMIT_POLICIES, CONFIG_DEFAULTS.limitPolicy);
  const rememberIdleTimeoutMs = duration('REMEMBER_IDLE_TIMEOUT', CONFIG_DEFAULTS.rememberIdleTimeout, MIN_TIMEOUT_MS);
  const rememberAbsoluteTimeoutMs = duration('REMEMBER_ABSOLUTE_TIMEOUT', CONFIG_DEFAULTS.rememberAbsoluteTimeout, MIN_TIMEOUT_MS);
  if (rememberAbsoluteTimeoutMs < rememberIdleTimeoutMs) {
    fail(
      'REMEMBER_ABSOLUTE_TIMEOUT',
      `(${formatDuration(rememberAbsoluteTimeoutMs)}) is shorter than REMEMBER_IDLE_TIMEOUT (${formatDuration(rememberIdleTimeoutMs)}): the absolute lifetime must be at least the idle timeout`,
    );
  }
  const impersonationMaxAgeMs = duration('IMPERSONATION_MAX_AGE', CONFIG_DEFAULTS.impersonationMaxAge, MIN_TIMEOUT_MS);
  const encryptionKeys = read('MFA_ENCRYPTION_KEYS');
  if (encryptionKeys !== undefined && !isKeyList(encryptionKeys)) {
    fail(
      'MFA_ENCRYPTION_KEYS',
      `is not a list of kid:key pairs: give comma-separated "kid:base64url(32 bytes)", newest first (generate a key with node -p "crypto.randomBytes(32).toString('base64url')")`,
    );
  }

  const requiredForAdmins = parseBoolean(read('ADMIN_REQUIRE_MFA'), false);
  if (requiredForAdmins === undefined) fail('ADMIN_REQUIRE_MFA', `is ${JSON.stringify(read('ADMIN_REQUIRE_MFA'))}: use true or false`);

  const cookieSecure = parseBoolean(read('COOKIE_SECURE'), true);
  if (cookieSecure === undefined) fail('COOKIE_SECURE', `is ${JSON.stringify(read('COOKIE_SECURE'))}: use true or false`);

  const trustProxy = parseTrustProxy(read('TRUST_PROXY'));
  if (trustProxy === undefined) {
    fail(
      'TRUST_PROXY',
      `is ${JSON.stringify(read('TRUST_PROXY'))}: give the proxy addresses to trust (e.g. "127.0.0.1, 10.0.0.0/8", or loopback/linklocal/uniquelocal), a hop count, or true/false`,
    );
  }

  const metricsEnabled = parseBoolean(read('METRICS_ENABLED'), true);
  if (metricsEnabled === undefined) fail('METRICS_ENABLED', `is ${JSON.stringify(read('METRICS_ENABLED'))}: use true or false`);
  const metricsToken = read('METRICS_TOKEN');
  if (metricsToken !== undefined && (metricsToken.length < 32 || !/^[\x21-\x7e]+$/.test(metricsToken))) {
    fail(
      'METRICS_TOKEN',
      `must be at least 32 printable characters without spaces (it is a password for /metrics): generate one with node -p "crypto.randomBytes(32).toString('base64url')"`,
    );
  }
  const csrfSecret = read('CSRF_SECRET');
  if (csrfSecret !== undefined && Buffer.byteLength(csrfSecret) < 32) {
    fail(
      'CSRF_SECRET',
      `is ${Buffer.byteLength(csrfSecret)} bytes long: give at least 32 random characters, the same on every instance (e.g. node -p "crypto.randomBytes(32).toString('base64url')")`,
    );
  }
  const csrfAllowedOrigins: string[] = [];
  for (const entry of (read('CSRF_ALLOWED_ORIGINS') ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '')) {
    const origin = parseOrigin(entry);
    if (origin === undefined)
      fail(
        'CSRF_ALLOWED_ORIGINS',
        `has ${JSON.stringify(entry)}: give comma-separated origins, scheme://host[:port] with no path, e.g. "https://admin.example.com"`,
      );
    else csrfAllowedOrigins.push(origin);
  }
  const lockoutThreshold = integer('LOCKOUT_THRESHOLD', CONFIG_DEFAULTS.lockoutThreshold, 1, 100);
  const lockoutDurationMs = duration('LOCKOUT_DURATION', CONFIG_DEFAULTS.lockoutDuration, MIN_TIMEOUT_MS);
  const captchaAfterFailures = integer('CAPTCHA_AFTER_FAILURES', CONFIG_DEFAULTS.captchaAfterFailures, 0, 100);
  const baseDelayMs = duration('LOGIN_DELAY', CONFIG_DEFAULTS.loginDelay, 0);
  if (baseDelayMs > 30_000) fail('LOGIN_DELAY', `is ${formatDuration(baseDelayMs)}: keep it at most 30s (the longest wait of the delay)`);
  const sensitiveLimit = parseRateLimit(read('RATE_LIMIT_SENSITIVE') ?? CONFIG_DEFAULTS.rateLimitSensitive);
  if ('error' in sensitiveLimit) fail('RATE_LIMIT_SENSITIVE', sensitiveLimit.error);

  const rawOrigin = read(PUBLIC_ORIGIN_VARIABLE);
  const publicOrigin = rawOrigin === undefined ? undefined : parsePublicOrigin(rawOrigin);
  if (publicOrigin && 'error' in publicOrigin) fail(PUBLIC_ORIGIN_VARIABLE, publicOrigin.error);

  const oidc = oidcConfig(read, fail, publicOrigin && 'origin' in publicOrigin ? publicOrigin.origin : `http://${host}:${port}`);
  const accessTokenTtlMs = duration('ACCESS_TOKEN_TTL', CONFIG_DEFAULTS.accessTokenTtl, 10_000);
  if (accessTokenTtlMs > 3_600_000)
    fail('ACCESS_TOKEN_TTL', `is ${formatDuration(accessTokenTtlMs)}: keep access tokens short-lived, at most 1h`);
  const refreshIdleTimeoutMs = duration('REFRESH_IDLE_TIMEOUT', CONFIG_DEFAULTS.refreshIdleTimeout, 60_000);
  const refreshAbsoluteTimeoutMs = duration('REFRESH_ABSOLUTE_TIMEOUT', CONFIG_DEFAULTS.refreshAbsoluteTimeout, 60_000);
  if (refreshAbsoluteTimeoutMs < refreshIdleTimeoutMs) {
    fail(
      'REFRESH_ABSOLUTE_TIMEOUT',
      `(${formatDuration(refreshAbsoluteTimeoutMs)}) is shorter than REFRESH_IDLE_TIMEOUT (${formatDuration(refreshIdleTimeoutMs)}): the absolute lifetime must be at least the idle timeout`,
    );
  }

  const accessTokenKeys = parseAccessTokenKeys(read('ACCESS_TOKEN_KEYS'));
  if (typeof accessTokenKeys === 'string') fail('ACCESS_TOKEN_KEYS', accessTokenKeys);

  if (problems.length > 0) throw new ConfigError(problems);
  const secure = cookieSecure ?? true;
  return {
    host,
    port,
    database: usersDatabase,
    sessionStore,
    session: {
      idleTimeoutMs,
      absoluteTimeoutMs,
      rotationIntervalMs,
      rotationGraceMs,
      maxConcurrentSessions,
      binding,
      bindingAction,
      reauthMaxAgeMs,
      limitPolicy,
      rememberIdleTimeoutMs,
      rememberAbsoluteTimeoutMs,
      impersonationMaxAgeMs,
    },
    mfa: { encryptionKeys, requiredForAdmins: requiredForAdmins ?? false },
    cookie: {
      secure,
      // Browsers only accept a `__Host-` cookie that is Secure, so plain-HTTP development (COOKIE_SECURE=false)
      // uses the unprefixed name `sid`; it then loses the prefix's protection against cookie tossing.
      name: secure ? '__Host-sid' : 'sid',
    },
    trustProxy: trustProxy ?? false,
    csrf: { secret: csrfSecret, allowedOrigins: csrfAllowedOrigins },
    bruteForce: { lockoutThreshold, lockoutDurationMs, captchaAfterFailures, baseDelayMs, redisPrefix: 'nsk:attempts:' },
    // A bad value was reported above (and thrown): here it parsed.
    rateLimit: { sensitive: sensitiveLimit as RateLimitSetting },
    apiTokens: {
      accessTokenTtlMs,
      refreshIdleTimeoutMs,
      refreshAbsoluteTimeoutMs,
      ...(Array.isArray(accessTokenKeys) ? { keys: accessTokenKeys } : {}),
    },
    securityLog: read('SECURITY_LOG') ?? CONFIG_DEFAULTS.securityLog,
    metrics: { enabled: metricsEnabled ?? true, ...(metricsToken === undefined ? {} : { token: metricsToken }) },
    ...(publicOrigin && 'origin' in publicOrigin ? { publicOrigin: publicOrigin.origin } : {}),
    ...(oidc ? { oidc } : {}),
  };
}

/**
 * `OIDC_*`: all of issuer, client id and secret, or none. The issuer and redirect URI are `https:`, or `http:` on a
 * loopback address only (a test provider); the secret is at least 16 characters (the library's rule, named here by
 * variable).
 */
function oidcConfig(
  read: (variable: string) => string | undefined,
  fail: (variable: string, message: string) => void,
  origin: string,
): OidcConfig | undefined {
  const issuer = read('OIDC_ISSUER');
  const clientId = read('OIDC_CLIENT_ID');
  const clientSecret = read('OIDC_CLIENT_SECRET');
  if (issuer === undefined && clientId === undefined && clientSecret === undefined) return undefined;
  const missing = (['OIDC_ISSUER', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET'] as const).filter((v) => read(v) === undefined);
  for (const variable of missing)
    fail(variable, 'is unset: give OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET together, or none of them');
  const redirectUri = read('OIDC_REDIRECT_URI') ?? `${origin}/auth/oidc/callback`;
  const checkUrl = (variable: string, value: string | undefined): void => {
    if (value === undefined) return;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      fail(variable, `is ${JSON.stringify(value)}: give an absolute https: URL`);
      return;
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
      fail(variable, `is ${JSON.stringify(value)}: use https: (http: is accepted only on a loopback address, for tests)`);
    }
  };
  checkUrl('OIDC_ISSUER', issuer);
  checkUrl('OIDC_REDIRECT_URI', redirectUri);
  if (clientSecret !== undefined && clientSecret.length < 16)
    fail('OIDC_CLIENT_SECRET', 'is shorter than 16 characters: give the secret registered at the provider');
  if (missing.length > 0) return undefined;
  return { issuer: issuer!, clientId: clientId!, clientSecret: clientSecret!, redirectUri };
}

/**
 * Parses `sqlite:PATH` (`sqlite::memory:` for an in-memory database), `postgres://` / `postgresql://` and
 * `mysql://` / `mariadb://` URLs. Returns `undefined` for anything else.
 */
export function parseDatabaseUrl(value: string): DatabaseTarget | undefined {
  if (value.startsWith('sqlite:')) {
    const path = value.slice('sqlite:'.length).replace(/^\/\//, '');
    return path.length > 0 ? { kind: 'sqlite', path } : undefined;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (!url.hostname) return undefined;
  if (url.protocol === 'postgres:' || url.protocol === 'postgresql:') return { kind: 'postgres', url: value };
  if (url.protocol === 'mysql:' || url.protocol === 'mariadb:') return { kind: 'mysql', url: value };
  return undefined;
}

/** The database kind each SQL session store needs. */
const STORE_DATABASE_KIND = { postgres: 'postgres', mariadb: 'mysql', sqlite: 'sqlite' } as const;

function sessionStoreConfig(
  kind: SessionStoreKind,
  env: SampleEnv,
  usersDatabase: DatabaseTarget,
  read: (variable: string) => string | undefined,
  fail: (variable: string, message: string) => void,
): SessionStoreConfig {
  if (kind === 'memory') return { kind };
  if (kind === 'redis') {
    const url = read('REDIS_URL') ?? CONFIG_DEFAULTS.redisUrl;
    if (!isRedisUrl(url)) fail('REDIS_URL', `is ${JSON.stringify(redact(url))}: use redis://HOST:PORT or rediss://HOST:PORT`);
    return { kind, url };
  }
  if (kind === 'memcached') {
    const raw = read('MEMCACHED_URL') ?? CONFIG_DEFAULTS.memcachedUrl;
    const server = memcachedServer(raw);
    if (!server) fail('MEMCACHED_URL', `is ${JSON.stringify(raw)}: use memcached://HOST:PORT or HOST:PORT`);
    return { kind, server: server ?? '127.0.0.1:11211', tokenDatabase: usersDatabase };
  }
  const wanted = STORE_DATABASE_KIND[kind];
  const explicit = read('SESSION_DATABASE_URL');
  if (explicit !== undefined) {
    const target = parseDatabaseUrl(explicit);
    if (!target || target.kind !== wanted) {
      fail('SESSION_DATABASE_URL', `is ${JSON.stringify(redact(explicit))}: SESSION_STORE=${kind} needs a ${exampleUrl(kind)} URL`);
      return { kind, database: parseDatabaseUrl(CONFIG_DEFAULTS.sessionDatabases[kind])! };
    }
    return { kind, database: target };
  }
  // Reuse the users database when it is of the right kind: one server to run instead of two.
  if (usersDatabase.kind === wanted && env.DATABASE_URL !== undefined && env.DATABASE_URL.trim() !== '')
    return { kind, database: usersDatabase };
  return { kind, database: parseDatabaseUrl(CONFIG_DEFAULTS.sessionDatabases[kind])! };
}

function exampleUrl(kind: 'postgres' | 'mariadb' | 'sqlite'): string {
  return { postgres: 'postgres://...', mariadb: 'mysql://...', sqlite: 'sqlite:PATH' }[kind];
}

/** `memcached://HOST:PORT` or `HOST:PORT` as the `host:port` memcache-client takes, or undefined. */
function memcachedServer(value: string): string | undefined {
  const match = /^(?:memcached:\/\/)?([^\s/:@]+|\[[0-9a-fA-F:]+\]):(\d{1,5})\/?$/.exec(value.trim());
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) return undefined;
  return `${match[1]}:${match[2]}`;
}

function isRedisUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname.length > 0;
  } catch {
    return false;
  }
}

function parseBoolean(value: string | undefined, fallback: boolean): boolean | undefined {
  if (value === undefined) return fallback;
  const v = value.toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  return undefined;
}

/**
 * Express `trust proxy` syntax: `true`/`false`, a hop count, or a comma-separated list of addresses, CIDR
 * subnets and the names loopback/linklocal/uniquelocal. Unset means trust none: `req.ip` is then the socket
 * address, and a client cannot pick its own IP with an `X-Forwarded-For` header.
 */
function parseTrustProxy(value: string | undefined): TrustProxySetting | undefined {
  if (value === undefined) return false;
  const lower = value.toLowerCase();
  if (lower === 'false') return false;
  if (lower === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  const entries = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (entries.length === 0) return undefined;
  return entries.every(isTrustEntry) ? entries : undefined;
}

function isTrustEntry(entry: string): boolean {
  if (NAMED_SUBNETS.has(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  // proxy-addr also accepts a netmask in dotted form after the slash (e.g. 10.0.0.0/255.0.0.0).
  if (family === 4 && isIP(prefix) === 4) return true;
  return /^\d+$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * `kid:key` pairs as `SecretBox.fromEnv` reads them: a key id of 1-64 characters `A-Z a-z 0-9 _ -` and 32 bytes in
 * base64url (43 characters). Checked here so a bad value names the variable without ever echoing key material.
 */
function isKeyList(value: string): boolean {
  return value.split(',').every((pair) => /^[A-Za-z0-9_-]{1,64}:[A-Za-z0-9_-]{43}$/.test(pair.trim()));
}

const KEYS_HINT =
  `give a JSON array of private JWKs, each with a unique "kid", the same on every instance (make one with node -p ` +
  `"JSON.stringify([{...crypto.generateKeyPairSync('ed25519').privateKey.export({format:'jwk'}),kid:'k1'}])")`;

/**
 * `ACCESS_TOKEN_KEYS`: a JSON array of private JWKs (Ed25519 `OKP` or P-256 `EC`, with `d` and a unique `kid`), as
 * `ApiTokenModuleOptions.keys` takes them. Returns the keys, undefined when unset, or what is wrong (without key
 * material). Checked here so that a bad value names the variable.
 */
function parseAccessTokenKeys(raw: string | undefined): AccessTokenJwk[] | string | undefined {
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return `is not JSON: ${KEYS_HINT}`;
  }
  if (!Array.isArray(parsed) || parsed.length === 0) return `is not a non-empty JSON array: ${KEYS_HINT}`;
  const kids = new Set<string>();
  for (const [i, jwk] of (parsed as unknown[]).entries()) {
    const key = jwk as AccessTokenJwk;
    if (typeof key !== 'object' || key === null || typeof key.kid !== 'string' || key.kid === '' || kids.has(key.kid))
      return `entry ${i} has no "kid" of its own: ${KEYS_HINT}`;
    kids.add(key.kid);
    const supported = (key.kty === 'OKP' && key.crv === 'Ed25519') || (key.kty === 'EC' && key.crv === 'P-256');
    if (!supported || typeof key.d !== 'string') return `entry ${i} (kid ${key.kid}) is not a private Ed25519 or P-256 JWK: ${KEYS_HINT}`;
    try {
      createPrivateKey({ key: key as import('node:crypto').JsonWebKey, format: 'jwk' });
    } catch {
      return `entry ${i} (kid ${key.kid}) is not a valid private key: ${KEYS_HINT}`;
    }
  }
  return parsed as AccessTokenJwk[];
}

/** Hides a password in a URL before it goes into an error message. */
function redact(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) {
      url.password = '***';
      return url.toString();
    }
  } catch {
    // Not a URL: nothing to hide.
  }
  return value;
}

/** An http(s) origin (`scheme://host[:port]`, nothing else), serialised as browsers send it; undefined otherwise. */
function parseOrigin(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password || raw.endsWith('/')) return undefined;
  return url.origin;
}

import 'reflect-metadata';
import { plainToInstance, Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  ValidateNested,
  validateSync,
  ValidationError,
} from 'class-validator';
import { CircuitBreakerSettings, DEFAULT_CIRCUIT_COOLDOWN_MS, DEFAULT_CIRCUIT_FAILURE_THRESHOLD } from './core/circuit-breaker';
import { Clock, SystemClock } from './core/clock';
import { formatDuration, parseDuration } from './core/duration';
import { SessionOptionsError } from './core/errors';
import { DEFAULT_PENDING_TIMEOUT_MS, ROTATION_TOMBSTONE_MS } from './core/lifecycle';
import type { SessionPolicy } from './core/session-manager';
import type { SessionCheck } from './core/session-check';
import { ResolvedCsrfOptions, resolveCsrfOptions, SessionCsrfOptions } from './csrf/csrf.options';
import { SecurityEventSink } from './events/security-event';
import { InMemorySessionStore } from './stores/memory/in-memory-session.store';
import { SessionStore } from './stores/session-store';
import { resolveSealedStore, SealedCookieOptions } from './sealed/sealed-cookie.options';
import { ResolvedMetricsOptions, resolveMetricsOptions, SessionMetricsOptions } from './telemetry/metrics.options';

/** A duration in milliseconds, or a string such as `"30s"`, `"15m"`, `"8h"` (parsed at start-up). */
export type Duration = number | string;

/** Session cookie attributes. The defaults are the hardened ones; change them only with a reason. */
export interface SessionCookieOptions {
  /**
   * Cookie name. Default `__Host-sid`: the `__Host-` prefix makes browsers refuse it unless it is Secure,
   * has `Path=/` and no `Domain`, so a sibling subdomain cannot toss a cookie that shadows it.
   */
  name?: string;
  /** Send only over HTTPS. Default `true`. Browsers treat `http://localhost` as secure. */
  secure?: boolean;
  /** Hide from JavaScript. Default `true`. */
  httpOnly?: boolean;
  /** Default `'lax'`. `'none'` is refused unless `secure` is true. */
  sameSite?: 'strict' | 'lax' | 'none';
  /** Default `/`. */
  path?: string;
  /** Default none (host-only cookie). Not allowed with a `__Host-` name. */
  domain?: string;
  /**
   * Persistent cookie lifetime (ms or duration string). Default none: a session cookie that the browser drops
   * when it closes. When set it is capped at the absolute timeout; it never enforces a timeout (the server does).
   */
  maxAge?: Duration;
}

/**
 * Role-based access control for `@Roles()` and `@Permissions()` (read by `RolesGuard`). Roles are a snapshot in
 * the session record, set at login; role names are the application's own.
 */
export interface SessionRolesOptions {
  /**
   * Roles each role includes, transitively: `{ admin: ['user'] }` lets an admin pass `@Roles('user')`.
   * Default none (a role includes only itself).
   */
  hierarchy?: Record<string, string[]>;
  /**
   * Permissions each role grants, for `@Permissions(...)`: `{ user: ['cart:write'], admin: ['users:manage'] }`. A
   * role also grants the permissions of every role it includes. Default none.
   */
  permissions?: Record<string, string[]>;
}

/** Re-authentication for sensitive routes (`@ReAuth()`, read by `ReAuthGuard`). */
export interface SessionReAuthOptions {
  /** How recent the last full authentication must be on a `@ReAuth()` route without its own `maxAge`. Default `5m`. */
  maxAge?: Duration;
  /** Where the client proves who it is again; named in the body of 401 `REAUTH_REQUIRED`. Default `/auth/reauth`. */
  path?: string;
}

/** The "remember me" tier: a longer-lived session with a persistent cookie, chosen at login (`remember: true`). */
export interface SessionRememberOptions {
  /** Inactivity timeout of a remembered session. Default `30d`. */
  idleTimeout?: Duration;
  /** Absolute lifetime of a remembered session; also its cookie's `Max-Age`. Default `90d`. */
  absoluteTimeout?: Duration;
}

/** Who a session limit is computed for (see {@link SessionModuleOptions.maxConcurrentSessions}). */
export interface SessionLimitSubject {
  userId: string;
  roles: readonly string[];
}

/** Options of `SessionModule.forRoot()` / `forRootAsync()`. */
export interface SessionModuleOptions {
  /**
   * Where sessions live: a {@link SessionStore} instance (e.g. `RedisSessionStore`, `TypeOrmSessionStore`) or
   * `'memory'`. Default `'memory'` (one process only; sessions die with it). The module calls the store's
   * `connect()` at start-up, so a store you construct needs no other call.
   */
  store?: SessionStore | 'memory';
  /**
   * Client-side sessions: the session travels in the cookie itself, sealed (JWE `dir` + `A256GCM`), and only logouts
   * are kept server-side. Instead of `store`; `maxConcurrentSessions` must be 0 (the default in this mode). See
   * {@link SealedCookieOptions} and the README section "Sealed-cookie sessions". Default none (server-side sessions).
   */
  sealed?: SealedCookieOptions;
  /**
   * Close the store when the app shuts down. Default `true`. A store's `close()` releases only what the store
   * itself opened (the Redis client it created from `url`, its cleanup timer), never a Redis client or
   * DataSource you gave it. Set `false` when you close the store yourself or share one store between apps.
   */
  closeStoreOnShutdown?: boolean;
  /**
   * Request-time checks (binding, anomaly detection) run on every request with a live session, in this order;
   * each can allow the request, record an event, or end the session. Default none.
   */
  checks?: SessionCheck[];
  /** Inactivity timeout. Default `30m`. Activity resets it. */
  idleTimeout?: Duration;
  /**
   * Absolute lifetime from login. Default `12h`. Never extended by activity or rotation; re-authentication (and the
   * completion of a pending sign-in) resets it.
   */
  absoluteTimeout?: Duration;
  /**
   * Longest life of a pending session (password proven, second factor due: `stage: 'pending'`), from its creation.
   * Default `5m`; at most `absoluteTimeout`. Its absolute deadline is the earlier of this and its tier's absolute
   * timeout, re-authentication included; past it the session ends like any timed-out one (401 `SESSION_EXPIRED`).
   * Completing the sign-in (`SessionService.complete`) lifts the cap: the completed session gets its tier's
   * timeouts from then on.
   */
  pendingTimeout?: Duration;
  /** Periodic id rotation. Default `15m`. `0` turns periodic rotation off (login and privilege rotation stay). */
  rotationInterval?: Duration;
  /** How long a rotated-away id still resolves to its one successor (parallel requests). Default `10s`, at most `1m`. */
  rotationGrace?: Duration;
  /**
   * Minimum time between two writes of `lastSeenAt` (the idle "touch"). Default `min(1m, idleTimeout / 10)`.
   * The idle deadline can be early by at most this much; in exchange steady reads do not write.
   */
  touchInterval?: Duration;
  /**
   * Live sessions per user. Default `10`; `0` = unlimited. A function gets the user signing in (id and roles) and
   * answers their limit, e.g. fewer for admins. Impersonation sessions and pending sessions (second factor due) do
   * not count, are never evicted, and are created whatever the count; a pending session starts counting when it
   * completes, and the limit is held then.
   */
  maxConcurrentSessions?: number | ((user: SessionLimitSubject) => number | Promise<number>);
  /**
   * What a login beyond the limit does: `'evict-oldest'` ends the user's least recently created session;
   * `'deny-new'` refuses the login with 409 `TOO_MANY_SESSIONS`, naming the devices to sign out. Default `'evict-oldest'`.
   * A pending sign-in meets the limit when it completes (`SessionService.complete`), as the newest sign-in of the
   * user: `'evict-oldest'` ends the oldest other session; `'deny-new'` refuses the completion with the same 409, and
   * the session stays pending (within `pendingTimeout`) so the user can sign a device out and complete again.
   */
  concurrentSessionPolicy?: 'evict-oldest' | 'deny-new';
  /** The "remember me" tier's timeouts. */
  rememberMe?: SessionRememberOptions;
  /** Admin impersonation: a session started with `impersonatedBy` lives at most `maxAge`. Default `1h`. */
  impersonation?: { maxAge?: Duration };
  /** Role hierarchy and permissions for `RolesGuard`. */
  roles?: SessionRolesOptions;
  /** Re-authentication for `@ReAuth()` routes. */
  reauth?: SessionReAuthOptions;
  /** Session cookie attributes. */
  cookie?: SessionCookieOptions;
  /** Send `Clear-Site-Data: "cache", "storage"` on logout. Default `true`. */
  clearSiteDataOnLogout?: boolean;
  /** The one clock for every time decision. Default: the system clock. */
  clock?: Clock;
  /** Where security events go (log file, audit table, metrics). Default none. */
  eventSinks?: SecurityEventSink[];
  /**
   * Cross-site request forgery defence for `CsrfGuard` and `CsrfService`: token secret, allowed origins, the policy
   * for requests without `Origin`. Default: every field's default (see {@link SessionCsrfOptions}); set `secret` in
   * production.
   */
  csrf?: SessionCsrfOptions;
  /**
   * Prometheus metrics (prom-client, an optional peer: `npm install prom-client`) in the registry you pass:
   * sessions created and ended, sign-ins, rotations, revocations, anomalies, lockouts, CAPTCHA challenges, CSRF
   * rejections, refresh-token reuse, store latency and store errors. See the README section "Operating it", "Metrics
   * and traces". Default none: metrics off, and nothing is measured on the request path.
   *
   * @example metrics: { registry: new Registry() }
   */
  metrics?: SessionMetricsOptions;
  /**
   * OpenTelemetry spans for the store operations and the guards, through `@opentelemetry/api` (an optional peer)
   * when it is installed AND a tracer provider (an SDK) is registered before the app is created. Default `true`:
   * without an SDK nothing is traced and nothing is wrapped. `false` turns spans off even with an SDK.
   */
  tracing?: boolean;
  /**
   * The circuit breaker around the session store's calls (AV-04): after `failureThreshold` connectivity failures
   * in a row (refused, dropped or timed out, with no success between them) requests that need the store answer 503
   * at once for `cooldown`, instead of each waiting out the store's own timeout; then one request probes the store
   * and its success closes the circuit. It never fails open: a refused request is a 503, never "signed out". Opening
   * and closing are logged and emitted as `session_store_circuit_open` / `session_store_circuit_closed` events.
   * Default `{ failureThreshold: 5, cooldown: 1000 }` (ms); `false` turns it off.
   */
  circuitBreaker?: SessionCircuitBreakerOptions | false;
}

/** Options of the store's circuit breaker: see {@link SessionModuleOptions.circuitBreaker}. */
export interface SessionCircuitBreakerOptions {
  /** Connectivity failures in a row that open the circuit; any success resets the count. Whole number, 1 to 1000. Default `5`. */
  failureThreshold?: number;
  /** How long (ms or a duration string) the open circuit refuses before one probe goes to the store. 10 ms to 1m. Default `1000` (1 s). */
  cooldown?: Duration;
}

/** Options after validation, with every default filled in and every duration in milliseconds. */
export interface ResolvedSessionOptions extends SessionPolicy {
  /** Longest life of a pending session (ms), always filled in here (default 5 minutes). */
  pendingTimeoutMs: number;
  store: SessionStore;
  /** True when the module closes the store at shutdown. */
  closeStoreOnShutdown: boolean;
  checks: SessionCheck[];
  cookie: {
    name: string;
    secure: boolean;
    httpOnly: boolean;
    sameSite: 'strict' | 'lax' | 'none';
    path: string;
    domain?: string;
    maxAgeMs?: number;
  };
  clearSiteDataOnLogout: boolean;
  clock: Clock;
  eventSinks: SecurityEventSink[];
  /** A per-user limit from `maxConcurrentSessions` given as a function; `undefined` when it is a number. */
  maxConcurrentSessionsFor?: (user: SessionLimitSubject) => number | Promise<number>;
  /** Role hierarchy and permissions, as given (validated). */
  roles: { hierarchy: Record<string, string[]>; permissions: Record<string, string[]> };
  reauth: { maxAgeMs: number; path: string };
  /** The `csrf` block, validated, with defaults. */
  csrf: ResolvedCsrfOptions;
  /** The `metrics` block, validated, with prom-client loaded; `undefined` when metrics are off. */
  metrics?: ResolvedMetricsOptions;
  /** Spans when an OpenTelemetry SDK is registered (default `true`). */
  tracing: boolean;
  /** The circuit breaker's numbers (cool-down in ms), or `undefined` when turned off. */
  circuitBreaker: CircuitBreakerSettings | undefined;
}

/** Defaults, in one place. */
export const SESSION_DEFAULTS = {
  idleTimeoutMs: 30 * 60_000,
  absoluteTimeoutMs: 12 * 3_600_000,
  pendingTimeoutMs: DEFAULT_PENDING_TIMEOUT_MS,
  rotationIntervalMs: 15 * 60_000,
  rotationGraceMs: 10_000,
  maxConcurrentSessions: 10,
  cookieName: '__Host-sid',
  rememberIdleTimeoutMs: 30 * 86_400_000,
  rememberAbsoluteTimeoutMs: 90 * 86_400_000,
  impersonationMaxAgeMs: 3_600_000,
  reauthMaxAgeMs: 5 * 60_000,
  reauthPath: '/auth/reauth',
} as const;

const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const COOKIE_PATH = /^\/[^;\s]*$/;
const COOKIE_DOMAIN = /^\.?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

class CookieSchema {
  @IsOptional()
  @IsString({ message: 'cookie.name must be a string' })
  @Matches(COOKIE_NAME, { message: "cookie.name must be a valid cookie name (letters, digits and !#$%&'*+-.^_`|~)" })
  name?: string;

  @IsOptional() @IsBoolean({ message: 'cookie.secure must be true or false' }) secure?: boolean;
  @IsOptional() @IsBoolean({ message: 'cookie.httpOnly must be true or false' }) httpOnly?: boolean;

  @IsOptional()
  @IsIn(['strict', 'lax', 'none'], { message: "cookie.sameSite must be 'strict', 'lax' or 'none'" })
  sameSite?: 'strict' | 'lax' | 'none';

  @IsOptional()
  @Matches(COOKIE_PATH, { message: 'cookie.path must start with "/" and hold no spaces or ";"' })
  path?: string;

  @IsOptional()
  @Matches(COOKIE_DOMAIN, { message: 'cookie.domain must be a host name such as "example.com"' })
  domain?: string;
}

class OptionsSchema {
  @IsOptional()
  @IsIn(['evict-oldest', 'deny-new'], { message: "concurrentSessionPolicy must be 'evict-oldest' or 'deny-new'" })
  concurrentSessionPolicy?: string;

  @IsOptional()
  @IsInt({ message: 'maxConcurrentSessions must be a whole number (0 = unlimited) or a function of the user' })
  @Min(0, { message: 'maxConcurrentSessions must be 0 (unlimited) or more' })
  @Max(10_000, { message: 'maxConcurrentSessions must be at most 10000' })
  maxConcurrentSessions?: number;

  @IsOptional() @IsBoolean({ message: 'clearSiteDataOnLogout must be true or false' }) clearSiteDataOnLogout?: boolean;

  @IsOptional() @IsBoolean({ message: 'closeStoreOnShutdown must be true or false' }) closeStoreOnShutdown?: boolean;

  @IsOptional() @ValidateNested() @Type(() => CookieSchema) cookie?: CookieSchema;
}

/**
 * Validates options and fills in defaults. Throws {@link SessionOptionsError} listing every problem with its
 * fix, so a misconfigured app stops at start-up instead of running with weak sessions.
 */
export function resolveSessionOptions(raw: SessionModuleOptions = {}): ResolvedSessionOptions {
  const problems: string[] = [];
  const limitFn = typeof raw.maxConcurrentSessions === 'function' ? raw.maxConcurrentSessions : undefined;
  const schema = plainToInstance(OptionsSchema, {
    maxConcurrentSessions: limitFn ? undefined : raw.maxConcurrentSessions,
    concurrentSessionPolicy: raw.concurrentSessionPolicy,
    clearSiteDataOnLogout: raw.clearSiteDataOnLogout,
    closeStoreOnShutdown: raw.closeStoreOnShutdown,
    cookie: raw.cookie ?? {},
  });
  problems.push(...flatten(validateSync(schema)));

  const duration = (key: keyof SessionModuleOptions, value: unknown, fallback: number, min: number): number => {
    if (value === undefined) return fallback;
    const ms = parseDuration(value);
    if (ms === undefined) {
      problems.push(`${key} is ${JSON.stringify(value)}: give milliseconds (a number >= 0) or a string such as "30s", "15m", "8h"`);
      return fallback;
    }
    if (ms < min) problems.push(`${key} is ${formatDuration(ms)}: it must be at least ${formatDuration(min)}`);
    return ms;
  };

  const idleTimeoutMs = duration('idleTimeout', raw.idleTimeout, SESSION_DEFAULTS.idleTimeoutMs, 1000);
  const absoluteTimeoutMs = duration('absoluteTimeout', raw.absoluteTimeout, SESSION_DEFAULTS.absoluteTimeoutMs, 1000);
  const pendingTimeoutMs = duration('pendingTimeout', raw.pendingTimeout, SESSION_DEFAULTS.pendingTimeoutMs, 1000);
  const rotationIntervalMs = duration('rotationInterval', raw.rotationInterval, SESSION_DEFAULTS.rotationIntervalMs, 0);
  const rotationGraceMs = duration('rotationGrace', raw.rotationGrace, SESSION_DEFAULTS.rotationGraceMs, 0);
  const touchIntervalMs = duration('touchInterval', raw.touchInterval, Math.min(60_000, Math.floor(idleTimeoutMs / 10)), 0);
  const maxAgeMs =
    raw.cookie?.maxAge === undefined ? undefined : duration('cookie.maxAge' as keyof SessionModuleOptions, raw.cookie.maxAge, 0, 1000);

  const rememberIdleTimeoutMs = duration(
    'rememberMe.idleTimeout' as keyof SessionModuleOptions,
    raw.rememberMe?.idleTimeout,
    SESSION_DEFAULTS.rememberIdleTimeoutMs,
    1000,
  );
  const rememberAbsoluteTimeoutMs = duration(
    'rememberMe.absoluteTimeout' as keyof SessionModuleOptions,
    raw.rememberMe?.absoluteTimeout,
    SESSION_DEFAULTS.rememberAbsoluteTimeoutMs,
    1000,
  );
  if (rememberAbsoluteTimeoutMs < rememberIdleTimeoutMs) {
    problems.push(
      `rememberMe.absoluteTimeout (${formatDuration(rememberAbsoluteTimeoutMs)}) is shorter than rememberMe.idleTimeout (${formatDuration(rememberIdleTimeoutMs)}): set it >= the idle timeout (e.g. 30d and 90d)`,
    );
  }
  const impersonationMaxAgeMs = duration(
    'impersonation.maxAge' as keyof SessionModuleOptions,
    raw.impersonation?.maxAge,
    SESSION_DEFAULTS.impersonationMaxAgeMs,
    1000,
  );
  const reauthMaxAgeMs = duration('reauth.maxAge' as keyof SessionModuleOptions, raw.reauth?.maxAge, SESSION_DEFAULTS.reauthMaxAgeMs, 1000);
  const reauthPath = raw.reauth?.path ?? SESSION_DEFAULTS.reauthPath;
  if (typeof reauthPath !== 'string' || !reauthPath.startsWith('/'))
    problems.push(`reauth.path is ${JSON.stringify(reauthPath)}: give the path of your re-authentication route, starting with "/"`);
  const roles = {
    hierarchy: roleMap('roles.hierarchy', raw.roles?.hierarchy, problems),
    permissions: roleMap('roles.permissions', raw.roles?.permissions, problems),
  };

  if (absoluteTimeoutMs < idleTimeoutMs) {
    problems.push(
      `absoluteTimeout (${formatDuration(absoluteTimeoutMs)}) is shorter than idleTimeout (${formatDuration(idleTimeoutMs)}): ` +
        'set absoluteTimeout >= idleTimeout (e.g. idle 30m, absolute 12h)',
    );
  }
  // Only an explicit pendingTimeout is compared: with the default one, a short absoluteTimeout caps pending sessions
  // by itself (their deadline is the earlier of the two), and an app that never uses pending sessions must not be
  // told to configure them.
  if (raw.pendingTimeout !== undefined && pendingTimeoutMs > absoluteTimeoutMs) {
    problems.push(
      `pendingTimeout (${formatDuration(pendingTimeoutMs)}) is longer than absoluteTimeout (${formatDuration(absoluteTimeoutMs)}): ` +
        'set pendingTimeout <= absoluteTimeout (e.g. 5m): a sign-in waiting for its second factor must not outlive a complete one',
    );
  }
  if (rotationGraceMs > ROTATION_TOMBSTONE_MS)
    problems.push(`rotationGrace (${formatDuration(rotationGraceMs)}) is too long: keep it at most 1m, the old id stays usable that long`);
  if (touchIntervalMs >= idleTimeoutMs)
    problems.push(`touchInterval (${formatDuration(touchIntervalMs)}) must be shorter than idleTimeout (${formatDuration(idleTimeoutMs)})`);

  const cookie = {
    name: raw.cookie?.name ?? SESSION_DEFAULTS.cookieName,
    secure: raw.cookie?.secure ?? true,
    httpOnly: raw.cookie?.httpOnly ?? true,
    sameSite: raw.cookie?.sameSite ?? 'lax',
    path: raw.cookie?.path ?? '/',
    domain: raw.cookie?.domain,
    maxAgeMs: maxAgeMs === undefined ? undefined : Math.min(maxAgeMs, absoluteTimeoutMs),
  };
  if (cookie.sameSite === 'none' && !cookie.secure)
    problems.push("cookie.sameSite 'none' needs cookie.secure true: browsers reject it otherwise; use 'lax' for plain HTTP development");
  if (cookie.name.startsWith('__Host-')) {
    if (!cookie.secure)
      problems.push(
        'cookie.name starts with "__Host-", which needs cookie.secure true; set COOKIE_SECURE/secure to true, or pick another name for plain-HTTP development',
      );
    if (cookie.path !== '/') problems.push('cookie.name starts with "__Host-", which needs cookie.path "/"');
    if (cookie.domain !== undefined)
      problems.push('cookie.name starts with "__Host-", which forbids cookie.domain: remove domain (host-only), or drop the prefix');
  } else if (cookie.name.startsWith('__Secure-') && !cookie.secure) {
    problems.push('cookie.name starts with "__Secure-", which needs cookie.secure true');
  }

  const csrf = resolveCsrfOptions(raw.csrf, cookie.secure, problems);

  // One clock for the module and the sealed store (a bad one is reported below).
  const clock: Clock = typeof raw.clock?.now === 'function' ? raw.clock : new SystemClock();
  let store: SessionStore;
  const sealedStore =
    raw.sealed === undefined
      ? undefined
      : resolveSealedStore(
          raw.sealed,
          {
            cookie,
            clock,
            maxLifetimeMs: Math.max(absoluteTimeoutMs, rememberAbsoluteTimeoutMs, impersonationMaxAgeMs, pendingTimeoutMs),
            maxConcurrentSessions: raw.maxConcurrentSessions,
            storeGiven: raw.store !== undefined,
          },
          problems,
        );
  if (sealedStore) {
    store = sealedStore;
  } else if (raw.store === undefined || raw.store === 'memory') {
    store = new InMemorySessionStore();
  } else if (raw.store instanceof SessionStore || isStoreLike(raw.store)) {
    store = raw.store as SessionStore;
  } else {
    problems.push(
      `store ${describe(raw.store)} is unknown: pass 'memory' or an instance of a SessionStore (InMemorySessionStore, RedisSessionStore from 'nest-session-kit/redis', TypeOrmSessionStore from 'nest-session-kit/typeorm')`,
    );
    store = new InMemorySessionStore();
  }
  if (raw.clock !== undefined && typeof (raw.clock as Clock).now !== 'function')
    problems.push('clock must have a now() method returning ms since the epoch');
  if (raw.eventSinks !== undefined && (!Array.isArray(raw.eventSinks) || raw.eventSinks.some((s) => typeof s?.handle !== 'function'))) {
    problems.push('eventSinks must be an array of objects with a handle(event) method');
  }
  if (
    raw.checks !== undefined &&
    (!Array.isArray(raw.checks) || raw.checks.some((c) => typeof c?.check !== 'function' || typeof c?.name !== 'string'))
  ) {
    problems.push('checks must be an array of objects with a name and a check(context) method (see SessionCheck)');
  }

  const metrics = resolveMetricsOptions(raw.metrics, problems);
  if (raw.tracing !== undefined && typeof raw.tracing !== 'boolean') problems.push('tracing must be true or false');
  const circuitBreaker = circuitBreakerSettings(raw.circuitBreaker, problems);

  if (problems.length > 0) throw new SessionOptionsError(problems);
  return {
    metrics,
    tracing: raw.tracing ?? true,
    store,
    closeStoreOnShutdown: raw.closeStoreOnShutdown ?? true,
    checks: raw.checks ?? [],
    idleTimeoutMs,
    absoluteTimeoutMs,
    // The default never exceeds the absolute timeout (see above): it is the earlier of the two.
    pendingTimeoutMs: raw.pendingTimeout === undefined ? Math.min(pendingTimeoutMs, absoluteTimeoutMs) : pendingTimeoutMs,
    rotationIntervalMs: rotationIntervalMs === 0 ? Number.POSITIVE_INFINITY : rotationIntervalMs,
    rotationGraceMs,
    touchIntervalMs,
    maxConcurrentSessions: store.keepsSessionInToken
      ? 0
      : limitFn
        ? SESSION_DEFAULTS.maxConcurrentSessions
        : ((raw.maxConcurrentSessions as number | undefined) ?? SESSION_DEFAULTS.maxConcurrentSessions),
    maxConcurrentSessionsFor: limitFn,
    concurrentSessionPolicy: raw.concurrentSessionPolicy ?? 'evict-oldest',
    rememberIdleTimeoutMs,
    rememberAbsoluteTimeoutMs,
    impersonationMaxAgeMs,
    roles,
    reauth: { maxAgeMs: reauthMaxAgeMs, path: reauthPath },
    csrf,
    cookie,
    clearSiteDataOnLogout: raw.clearSiteDataOnLogout ?? true,
    clock,
    eventSinks: raw.eventSinks ?? [],
    circuitBreaker,
  };
}

/** Validates `circuitBreaker` and fills in its defaults; `undefined` when it is `false`. */
function circuitBreakerSettings(
  raw: SessionCircuitBreakerOptions | false | undefined,
  problems: string[],
): CircuitBreakerSettings | undefined {
  if (raw === false) return undefined;
  const defaults = { failureThreshold: DEFAULT_CIRCUIT_FAILURE_THRESHOLD, cooldownMs: DEFAULT_CIRCUIT_COOLDOWN_MS };
  if (raw === undefined) return defaults;
  if (typeof raw !== 'object' || raw === null) {
    problems.push(
      `circuitBreaker is ${describe(raw)}: give { failureThreshold, cooldown } (e.g. { failureThreshold: 5, cooldown: '1s' }) or false`,
    );
    return defaults;
  }
  const threshold = raw.failureThreshold ?? defaults.failureThreshold;
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > 1000)
    problems.push(`circuitBreaker.failureThreshold is ${JSON.stringify(threshold)}: give a whole number from 1 to 1000 (default 5)`);
  const cooldownMs = raw.cooldown === undefined ? defaults.cooldownMs : parseDuration(raw.cooldown);
  if (cooldownMs === undefined || cooldownMs < 10 || cooldownMs > 60_000) {
    problems.push(
      `circuitBreaker.cooldown is ${JSON.stringify(raw.cooldown)}: give 10 ms to 1m, in ms or as a string such as "1s" (default 1000 ms)`,
    );
    return defaults;
  }
  return { failureThreshold: threshold, cooldownMs };
}

/**
 * The contract's methods, for a store from another copy of this package (where `instanceof` fails). Typed as a
 * record of every key of SessionStore, so a method added to the contract breaks compilation until listed here.
 */
const STORE_METHODS = Object.keys({
  connect: true,
  create: true,
  read: true,
  update: true,
  rotate: true,
  destroy: true,
  listByUser: true,
  destroyByUser: true,
  destroyByHandle: true,
  requireRotationForUser: true,
  updateUserRoles: true,
  countByUser: true,
  increment: true,
  resetCounter: true,
  ping: true,
  close: true,
  // Optional members: keepsSessionInToken and isWellFormedToken (a sealed-cookie store), routingTagFor (a sharding store).
} satisfies Record<Exclude<keyof SessionStore, 'keepsSessionInToken' | 'isWellFormedToken' | 'routingTagFor'>, true>);

function isStoreLike(value: unknown): boolean {
  return (
    typeof value === 'object' && value !== null && STORE_METHODS.every((m) => typeof (value as Record<string, unknown>)[m] === 'function')
  );
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object' && value !== null) return `(an object of class ${value.constructor?.name ?? 'Object'})`;
  return String(value);
}

/** Validates a `{ role: [names] }` map (hierarchy or permissions) and copies it. */
function roleMap(key: string, value: unknown, problems: string[]): Record<string, string[]> {
  if (value === undefined) return {};
  const example = key.endsWith('hierarchy') ? "{ admin: ['user'] }" : "{ admin: ['users:manage'] }";
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`${key} must be an object mapping each role to a list of names, e.g. ${example}`);
    return {};
  }
  const out: Record<string, string[]> = {};
  for (const [role, names] of Object.entries(value)) {
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string' || n.length === 0)) {
      problems.push(`${key}.${role} must be a list of non-empty strings, e.g. ${example}`);
      continue;
    }
    out[role] = [...(names as string[])];
  }
  return out;
}

function flatten(errors: ValidationError[]): string[] {
  return errors.flatMap((e) => [...Object.values(e.constraints ?? {}), ...flatten(e.children ?? [])]);
}

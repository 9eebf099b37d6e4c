import { formatDuration, parseDuration } from '../core/duration';
import type { Duration } from '../session.options';
import type { IpLocationResolver } from './ip-location';
import { DEFAULT_PREFIX_LENGTHS } from './network-prefix';

/**
 * What session anomalies do: `off` (nothing is watched), `monitor` (each anomaly is a security event, the request
 * goes on), `strict` (each anomaly is an event and the session is ended or challenged, see `strictAction`).
 */
export type SessionBindingPolicy = 'off' | 'monitor' | 'strict';

/** Options of {@link SessionAnomalyDetector}. Durations are milliseconds or strings such as `"10m"`. */
export interface SessionAnomalyOptions {
  /** Default `'monitor'`. */
  policy?: SessionBindingPolicy;
  /**
   * What `strict` does on an anomaly: `'end'` destroys the session (401 `SESSION_REQUIRED`, cookie cleared);
   * `'reauth'` keeps it but voids its last authentication, so every `@ReAuth()` route answers 401 `REAUTH_REQUIRED`
   * (reason `challenged`) until the user re-authenticates, after which the new network and device belong to the
   * session. Default `'end'`.
   */
  strictAction?: 'end' | 'reauth';
  /** Prefix lengths (bits) that count as one network: IPv4 default 24 (8..32), IPv6 default 48 (16..128). */
  prefixLength?: { ipv4?: number; ipv6?: number };
  /** Compare the network (IP prefix). Default `true`. */
  bindIp?: boolean;
  /** Compare the device (browser family and OS, not versions). Default `true`. */
  bindUserAgent?: boolean;
  /** Rapid IP churn: `networks` distinct networks within `window`. Default 4 within `10m`. */
  churn?: { networks?: number; window?: Duration };
  /**
   * Two networks at once: the session alternates between two networks (A, B, A, B) within `window`. Default `5m`.
   * A phone switching between Wi-Fi and mobile data once does not alternate twice in a few minutes.
   */
  concurrentNetworks?: { window?: Duration };
  /**
   * Impossible travel: the distance between the last network's location and the new one, over the time between the
   * last request from there and this one, faster than `maxSpeedKmh` (default 1000, an airliner). Distances under
   * `minDistanceKm` (default 300, what city-level GeoIP gets wrong) never count. Off without a `resolver`.
   */
  impossibleTravel?: { resolver?: IpLocationResolver; maxSpeedKmh?: number; minDistanceKm?: number };
  /**
   * `authn_login_successafterfail`: a success after at least `failures` failed sign-ins of the same account within
   * `window`. Default 5 within `15m`. Counted from the security events `authn_login_fail` and `authn_login_success`.
   */
  loginFailures?: { failures?: number; window?: Duration };
  /**
   * `authn_login_new_device`: a successful sign-in (`authn_login_success`) from a device (browser family and OS) that
   * none of the account's earlier sign-ins remembered here used. Default `true`. The first sign-in an instance sees
   * of an account only starts its list (it cannot tell new from forgotten).
   */
  newDevice?: boolean;
  /**
   * Sessions whose recent networks are remembered (bounded memory, least recently used forgotten first), accounts
   * whose failed sign-ins are counted, and accounts whose sign-in devices are remembered. Default 10000 each.
   */
  maxTracked?: number;
  /** Called when a resolver, parser or other part of detection fails; the request goes on. Default: one line on stderr. */
  onError?: (error: unknown, where: string) => void;
}

/** {@link SessionAnomalyOptions} with every default filled in; durations in ms. */
export interface ResolvedAnomalyOptions {
  policy: SessionBindingPolicy;
  strictAction: 'end' | 'reauth';
  prefixLength: { ipv4: number; ipv6: number };
  bindIp: boolean;
  bindUserAgent: boolean;
  churnNetworks: number;
  churnWindowMs: number;
  concurrentWindowMs: number;
  resolver?: IpLocationResolver;
  maxSpeedKmh: number;
  minDistanceKm: number;
  loginFailures: number;
  loginFailureWindowMs: number;
  newDevice: boolean;
  maxTracked: number;
  onError: (error: unknown, where: string) => void;
}

/** Defaults of {@link SessionAnomalyOptions}, in one place. */
export const ANOMALY_DEFAULTS = {
  policy: 'monitor',
  strictAction: 'end',
  churnNetworks: 4,
  churnWindowMs: 10 * 60_000,
  concurrentWindowMs: 5 * 60_000,
  maxSpeedKmh: 1000,
  minDistanceKm: 300,
  loginFailures: 5,
  loginFailureWindowMs: 15 * 60_000,
  maxTracked: 10_000,
} as const;

/** Bad {@link SessionAnomalyOptions}: every problem, each with its fix. */
export class SessionAnomalyOptionsError extends Error {
  override readonly name = 'SessionAnomalyOptionsError';

  constructor(readonly problems: string[]) {
    super(`Invalid SessionAnomalyDetector options:\n  - ${problems.join('\n  - ')}`);
  }
}

/** Validates and fills in defaults; throws {@link SessionAnomalyOptionsError} listing every problem. */
export function resolveAnomalyOptions(raw: SessionAnomalyOptions = {}): ResolvedAnomalyOptions {
  const problems: string[] = [];
  const oneOf = <T extends string>(key: string, value: unknown, allowed: readonly T[], fallback: T): T => {
    if (value === undefined) return fallback;
    if (allowed.includes(value as T)) return value as T;
    problems.push(`${key} is ${JSON.stringify(value)}: use ${allowed.map((a) => `'${a}'`).join(', ')}`);
    return fallback;
  };
  const whole = (key: string, value: unknown, fallback: number, min: number, max: number): number => {
    if (value === undefined) return fallback;
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
    problems.push(`${key} is ${JSON.stringify(value)}: give a whole number from ${min} to ${max}`);
    return fallback;
  };
  const positive = (key: string, value: unknown, fallback: number): number => {
    if (value === undefined) return fallback;
    if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
    problems.push(`${key} is ${JSON.stringify(value)}: give a number above 0`);
    return fallback;
  };
  const duration = (key: string, value: unknown, fallback: number): number => {
    if (value === undefined) return fallback;
    const ms = parseDuration(value);
    if (ms === undefined || ms < 1000) {
      problems.push(
        `${key} is ${JSON.stringify(value)}: give at least 1s, in milliseconds or as a string such as "5m"${ms === undefined ? '' : ` (got ${formatDuration(ms)})`}`,
      );
      return fallback;
    }
    return ms;
  };
  const flag = (key: string, value: unknown): boolean => {
    if (value === undefined) return true;
    if (typeof value === 'boolean') return value;
    problems.push(`${key} is ${JSON.stringify(value)}: give true or false`);
    return true;
  };

  const resolver = raw.impossibleTravel?.resolver;
  if (resolver !== undefined && typeof resolver?.locate !== 'function') {
    problems.push('impossibleTravel.resolver must have a locate(ip) method (see IpLocationResolver)');
  }
  if (raw.onError !== undefined && typeof raw.onError !== 'function') problems.push('onError must be a function (error, where) => void');
  const resolved: ResolvedAnomalyOptions = {
    policy: oneOf('policy', raw.policy, ['off', 'monitor', 'strict'] as const, ANOMALY_DEFAULTS.policy),
    strictAction: oneOf('strictAction', raw.strictAction, ['end', 'reauth'] as const, ANOMALY_DEFAULTS.strictAction),
    prefixLength: {
      ipv4: whole('prefixLength.ipv4', raw.prefixLength?.ipv4, DEFAULT_PREFIX_LENGTHS.ipv4, 8, 32),
      ipv6: whole('prefixLength.ipv6', raw.prefixLength?.ipv6, DEFAULT_PREFIX_LENGTHS.ipv6, 16, 128),
    },
    bindIp: flag('bindIp', raw.bindIp),
    bindUserAgent: flag('bindUserAgent', raw.bindUserAgent),
    churnNetworks: whole('churn.networks', raw.churn?.networks, ANOMALY_DEFAULTS.churnNetworks, 2, 64),
    churnWindowMs: duration('churn.window', raw.churn?.window, ANOMALY_DEFAULTS.churnWindowMs),
    concurrentWindowMs: duration('concurrentNetworks.window', raw.concurrentNetworks?.window, ANOMALY_DEFAULTS.concurrentWindowMs),
    resolver: typeof resolver?.locate === 'function' ? resolver : undefined,
    maxSpeedKmh: positive('impossibleTravel.maxSpeedKmh', raw.impossibleTravel?.maxSpeedKmh, ANOMALY_DEFAULTS.maxSpeedKmh),
    minDistanceKm: positive('impossibleTravel.minDistanceKm', raw.impossibleTravel?.minDistanceKm, ANOMALY_DEFAULTS.minDistanceKm),
    loginFailures: whole('loginFailures.failures', raw.loginFailures?.failures, ANOMALY_DEFAULTS.loginFailures, 1, 1000),
    loginFailureWindowMs: duration('loginFailures.window', raw.loginFailures?.window, ANOMALY_DEFAULTS.loginFailureWindowMs),
    newDevice: flag('newDevice', raw.newDevice),
    maxTracked: whole('maxTracked', raw.maxTracked, ANOMALY_DEFAULTS.maxTracked, 1, 10_000_000),
    onError:
      typeof raw.onError === 'function'
        ? raw.onError
        : (error, where) =>
            console.error(
              `nest-session-kit: session anomaly detection failed in ${where}: ${error instanceof Error ? error.message : String(error)}`,
            ),
  };
  if (problems.length > 0) throw new SessionAnomalyOptionsError(problems);
  return resolved;
}

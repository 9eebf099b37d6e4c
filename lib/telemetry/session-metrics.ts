import type { Counter, Gauge, Histogram } from 'prom-client';
import type { SecurityEvent, SecurityEventSink } from '../events/security-event';
import type { ResolvedMetricsOptions } from './metrics.options';

/** Which kind of store an operation ran on: the `store` label of the store metrics. */
export type InstrumentedStoreKind = 'session' | 'token' | 'attempt';

/**
 * Label values are bounded: a value outside its list becomes `other`, so a user id, an IP or an app's free-text
 * reason can never become a label (each new label value is a new time series in Prometheus).
 */
const ENDED_REASONS = new Set([
  'idle_timeout',
  'absolute_timeout',
  'logout',
  'logout_everywhere',
  'revoked',
  'excess_sessions',
  'replaced_on_login',
  'password_change',
  'mfa_change',
  'ip_changed',
  'user_agent_changed',
  'ip_churn',
  'concurrent_networks',
  'impossible_travel',
]);
const ROTATION_CAUSES = new Set(['periodic', 'privilege_change', 'authentication_completed', 'reauthentication', 'logout_everywhere']);
/** API tokens die with their sessions (the session's end reason) or on their own (reuse, client mismatch, ...). */
const TOKEN_REVOCATION_REASONS = new Set([...ENDED_REASONS, 'refresh_token_reuse', 'account_inactive', 'client_mismatch']);
const CSRF_REASONS = new Set(['cross_site', 'same_site', 'origin_not_allowed', 'referer_not_allowed', 'token_missing', 'token_invalid']);
const ANOMALY_SIGNALS: Partial<Record<SecurityEvent['type'], string>> = {
  session_binding_mismatch: 'binding_mismatch',
  session_ip_churn: 'ip_churn',
  session_concurrent_networks: 'concurrent_networks',
  authn_impossible_travel: 'impossible_travel',
  authn_login_new_device: 'new_device',
  authn_login_successafterfail: 'success_after_failures',
};
const ANOMALY_ACTIONS = new Set(['recorded', 'challenged', 'ended']);
/** Scope names come from the app's configuration (brute-force scopes), never from a request; still, keep them tame. */
const SCOPE = /^[a-z][a-z0-9_]{0,31}$/;

const bounded = (value: unknown, allowed: ReadonlySet<string>): string =>
  typeof value === 'string' && allowed.has(value) ? value : 'other';
const scopeOf = (value: unknown): string => (typeof value === 'string' && SCOPE.test(value) ? value : 'other');

/**
 * The module's Prometheus metrics, in the registry the application passed (`metrics.registry`). Most counters are
 * fed by the security event bus ({@link SessionMetrics.sink}); the store metrics by the instrumented stores. Built
 * only when `metrics` is set: with metrics off nothing here exists and nothing is counted.
 */
export class SessionMetrics {
  /** The registry the metrics live in (the one the app passed). */
  readonly registry: ResolvedMetricsOptions['registry'];
  private readonly created: Counter<'tier'>;
  private readonly ended: Counter<'reason'>;
  private readonly logins: Counter<'outcome'>;
  private readonly rotations: Counter<'cause'>;
  private readonly revocations: Counter<'kind' | 'reason'>;
  private readonly anomalies: Counter<'signal' | 'action'>;
  private readonly lockouts: Counter<'scope'>;
  private readonly captchas: Counter<'scope'>;
  private readonly csrf: Counter<'reason'>;
  private readonly refreshReuse: Counter<string>;
  private readonly circuitOpens: Counter<string>;
  private readonly circuitOpen: Gauge<string>;
  /** Store operation latency, in seconds (observed in ms, converted here: the one edge). */
  readonly storeDuration: Histogram<'store' | 'operation' | 'backend'>;
  readonly storeErrors: Counter<'store' | 'operation' | 'backend' | 'kind'>;

  /** Receives every security event of the module's bus and counts it. */
  readonly sink: SecurityEventSink = { handle: (event) => this.count(event) };

  constructor(options: ResolvedMetricsOptions) {
    const { promClient, registry, prefix } = options;
    this.registry = registry;
    const registers = [registry as unknown as import('prom-client').Registry];
    // A second module on the same registry (two apps in one process, a test re-creating the app) shares the
    // metrics instead of failing on a duplicate name.
    const counter = <L extends string>(name: string, help: string, labelNames: L[]): Counter<L> =>
      (registry.getSingleMetric(prefix + name) as Counter<L> | undefined) ??
      new promClient.Counter<L>({ name: prefix + name, help, labelNames, registers });
    this.created = counter('sessions_created_total', 'Sessions created, by tier (standard, remember).', ['tier']);
    this.ended = counter(
      'sessions_ended_total',
      'Sessions ended, by reason (idle_timeout, absolute_timeout, logout, revoked, logout_everywhere, excess_sessions, ...; other for an app reason).',
      ['reason'],
    );
    this.logins = counter('logins_total', 'Sign-ins, by outcome (success, failure, throttled, denied).', ['outcome']);
    this.rotations = counter('session_rotations_total', 'Session id rotations, by cause (periodic, privilege_change, ...).', ['cause']);
    this.revocations = counter('revocations_total', 'Revocations, by kind (session, api_token) and reason.', ['kind', 'reason']);
    this.anomalies = counter('anomalies_total', 'Session and sign-in anomalies, by signal and action taken.', ['signal', 'action']);
    this.lockouts = counter('lockouts_total', 'Temporary lockouts after too many failures, by scope (login, mfa, an app scope).', [
      'scope',
    ]);
    this.captchas = counter('captcha_challenges_total', 'CAPTCHA challenges issued, by brute-force scope.', ['scope']);
    this.csrf = counter('csrf_rejections_total', 'Requests refused by CsrfGuard, by reason.', ['reason']);
    this.refreshReuse = counter('refresh_token_reuse_total', 'Refresh tokens presented again after use (the family is revoked).', []);
    this.circuitOpens = counter(
      'store_circuit_opens_total',
      'Times the session store circuit breaker opened (the store failed circuitBreaker.failureThreshold times in a row).',
      [],
    );
    const gaugeName = prefix + 'store_circuit_open';
    this.circuitOpen =
      (registry.getSingleMetric(gaugeName) as Gauge<string> | undefined) ??
      new promClient.Gauge({
        name: gaugeName,
        help: '1 while the session store circuit breaker is open (requests that need the store answer 503 at once), else 0.',
        registers,
      });
    this.storeErrors = counter(
      'store_errors_total',
      'Store operations that threw, by store, operation, backend and kind (unavailable, error).',
      ['store', 'operation', 'backend', 'kind'],
    );
    const histogramName = prefix + 'store_operation_duration_seconds';
    this.storeDuration =
      (registry.getSingleMetric(histogramName) as Histogram<'store' | 'operation' | 'backend'> | undefined) ??
      new promClient.Histogram({
        name: histogramName,
        help: 'Store operation latency in seconds, by store (session, token, attempt), operation and backend.',
        labelNames: ['store', 'operation', 'backend'],
        buckets: options.storeLatencyBucketsMs.map((ms) => ms / 1000),
        registers,
      });
  }

  /** A CAPTCHA challenge was handed out (the brute-force defence calls it; the event bus has no event for it). */
  captchaChallenge(scope: string): void {
    this.captchas.inc({ scope: scopeOf(scope) });
  }

  private count(event: SecurityEvent): void {
    switch (event.type) {
      case 'session_created':
        this.created.inc({ tier: event.detail?.tier === 'remember' ? 'remember' : 'standard' });
        return;
      case 'session_expired':
      case 'session_logout':
        this.ended.inc({ reason: bounded(event.reason, ENDED_REASONS) });
        return;
      case 'session_revoked':
        this.ended.inc({ reason: 'revoked' });
        this.revocations.inc({ kind: 'session', reason: 'revoked' });
        return;
      case 'session_renewed':
        this.rotations.inc({ cause: bounded(event.reason, ROTATION_CAUSES) });
        return;
      case 'authn_login_success':
        this.logins.inc({ outcome: 'success' });
        return;
      case 'authn_login_fail':
        this.logins.inc({ outcome: 'failure' });
        return;
      case 'excess_rate_limit_exceeded':
        if (event.detail?.scope === 'login') this.logins.inc({ outcome: 'throttled' });
        if (event.reason === 'maxretries') this.lockouts.inc({ scope: scopeOf(event.detail?.scope) });
        return;
      case 'excess_sessions_exceeded':
        if (event.reason === 'denied') this.logins.inc({ outcome: 'denied' });
        return;
      case 'authn_login_lock':
        this.lockouts.inc({ scope: 'login' });
        return;
      case 'mfa_lockout':
        this.lockouts.inc({ scope: 'mfa' });
        return;
      case 'malicious_csrf':
        this.csrf.inc({ reason: bounded(event.reason, CSRF_REASONS) });
        return;
      case 'authn_token_reuse':
        this.refreshReuse.inc();
        return;
      case 'session_store_circuit_open':
        this.circuitOpens.inc();
        this.circuitOpen.set(1);
        return;
      case 'session_store_circuit_closed':
        this.circuitOpen.set(0);
        return;
      case 'authn_token_revoked':
        this.revocations.inc({ kind: 'api_token', reason: bounded(event.reason, TOKEN_REVOCATION_REASONS) });
        return;
      default: {
        const signal = ANOMALY_SIGNALS[event.type];
        if (signal !== undefined) this.anomalies.inc({ signal, action: bounded(event.detail?.action, ANOMALY_ACTIONS) });
      }
    }
  }
}

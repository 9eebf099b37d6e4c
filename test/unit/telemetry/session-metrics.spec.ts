/**
 * The security events a feature emits (anomaly detector, brute-force defence, API tokens, MFA) and the counter each
 * one moves, with bounded label values; the metrics option's start-up checks, prom-client missing included.
 */
import { Registry } from 'prom-client';
import { SecurityEvent } from '../../../lib';
import { resolveMetricsOptions } from '../../../lib/telemetry/metrics.options';
import { SessionMetrics } from '../../../lib/telemetry/session-metrics';

function metricsIn(registry: Registry): SessionMetrics {
  const problems: string[] = [];
  const resolved = resolveMetricsOptions({ registry }, problems);
  if (!resolved) throw new Error(problems.join('; '));
  return new SessionMetrics(resolved);
}

const event = (type: SecurityEvent['type'], extra: Partial<SecurityEvent> = {}): SecurityEvent => ({
  type,
  time: 0,
  level: 'WARN',
  outcome: 'failure',
  userId: 'alice',
  ip: '203.0.113.7',
  ...extra,
});

async function read(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await registry.getSingleMetric(`session_kit_${name}`)!.get();
  return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

describe('SessionMetrics: the store circuit breaker', () => {
  it('counts each opening and shows 1 while open, 0 once closed', async () => {
    const registry = new Registry();
    const metrics = metricsIn(registry);
    expect(await read(registry, 'store_circuit_open')).toBe(0);
    await metrics.sink.handle(event('session_store_circuit_open', { level: 'CRITICAL', userId: undefined, ip: undefined }));
    expect(await read(registry, 'store_circuit_open')).toBe(1);
    expect(await read(registry, 'store_circuit_opens_total')).toBe(1);
    await metrics.sink.handle(
      event('session_store_circuit_closed', { level: 'INFO', outcome: 'success', userId: undefined, ip: undefined }),
    );
    expect(await read(registry, 'store_circuit_open')).toBe(0);
    await metrics.sink.handle(event('session_store_circuit_open', { level: 'CRITICAL', userId: undefined, ip: undefined }));
    expect(await read(registry, 'store_circuit_opens_total')).toBe(2);
  });
});

describe('SessionMetrics: events to counters', () => {
  it.each([
    [
      'session_binding_mismatch',
      { detail: { action: 'challenged' } },
      'anomalies_total',
      { signal: 'binding_mismatch', action: 'challenged' },
    ],
    ['session_ip_churn', { detail: { action: 'recorded' } }, 'anomalies_total', { signal: 'ip_churn', action: 'recorded' }],
    ['session_concurrent_networks', { detail: { action: 'ended' } }, 'anomalies_total', { signal: 'concurrent_networks', action: 'ended' }],
    ['authn_impossible_travel', {}, 'anomalies_total', { signal: 'impossible_travel', action: 'other' }],
    ['authn_login_new_device', {}, 'anomalies_total', { signal: 'new_device' }],
    ['authn_login_successafterfail', {}, 'anomalies_total', { signal: 'success_after_failures' }],
    ['authn_login_lock', { reason: 'maxretries' }, 'lockouts_total', { scope: 'login' }],
    ['mfa_lockout', {}, 'lockouts_total', { scope: 'mfa' }],
    [
      'excess_rate_limit_exceeded',
      { reason: 'maxretries', detail: { scope: 'password_reset' } },
      'lockouts_total',
      { scope: 'password_reset' },
    ],
    ['excess_rate_limit_exceeded', { reason: 'delay', detail: { scope: 'login' } }, 'logins_total', { outcome: 'throttled' }],
    ['excess_sessions_exceeded', { reason: 'denied' }, 'logins_total', { outcome: 'denied' }],
    ['authn_token_reuse', {}, 'refresh_token_reuse_total', {}],
    ['authn_token_revoked', { reason: 'refresh_token_reuse' }, 'revocations_total', { kind: 'api_token', reason: 'refresh_token_reuse' }],
    ['authn_token_revoked', { reason: 'logout' }, 'revocations_total', { kind: 'api_token', reason: 'logout' }],
    ['malicious_csrf', { reason: 'origin_not_allowed' }, 'csrf_rejections_total', { reason: 'origin_not_allowed' }],
    ['session_renewed', { reason: 'reauthentication' }, 'session_rotations_total', { cause: 'reauthentication' }],
    ['session_expired', { reason: 'ip_churn' }, 'sessions_ended_total', { reason: 'ip_churn' }],
  ] as const)('%s %j counts in %s %j', async (type, extra, metric, labels) => {
    const registry = new Registry();
    const metrics = metricsIn(registry);
    await metrics.sink.handle(event(type, extra as Partial<SecurityEvent>));
    expect(await read(registry, metric, labels)).toBe(1);
  });

  it('turns an unknown reason or scope into "other", never into a new label value', async () => {
    const registry = new Registry();
    const metrics = metricsIn(registry);
    await metrics.sink.handle(event('session_expired', { reason: 'admin eve@example.com said so' }));
    await metrics.sink.handle(event('malicious_csrf', { reason: 'something new' }));
    await metrics.sink.handle(event('excess_rate_limit_exceeded', { reason: 'maxretries', detail: { scope: 'Robert"); DROP' } }));
    metrics.captchaChallenge('../../etc/passwd');
    expect(await read(registry, 'sessions_ended_total', { reason: 'other' })).toBe(1);
    expect(await read(registry, 'csrf_rejections_total', { reason: 'other' })).toBe(1);
    expect(await read(registry, 'lockouts_total', { scope: 'other' })).toBe(1);
    expect(await read(registry, 'captcha_challenges_total', { scope: 'other' })).toBe(1);
    expect(await registry.metrics()).not.toMatch(/eve@|DROP|passwd|alice|203\.0\.113/);
  });

  it('counts CAPTCHA challenges by scope', async () => {
    const registry = new Registry();
    const metrics = metricsIn(registry);
    metrics.captchaChallenge('login');
    metrics.captchaChallenge('login');
    expect(await read(registry, 'captcha_challenges_total', { scope: 'login' })).toBe(2);
  });

  it('ignores the events it has no counter for', async () => {
    const registry = new Registry();
    const metrics = metricsIn(registry);
    await metrics.sink.handle(event('mfa_enrolled'));
    const series = (await registry.getMetricsAsJSON()).flatMap((m) => m.values.filter((v) => v.value > 0));
    expect(series).toEqual([]);
  });
});

describe('metrics option at start-up', () => {
  it('stops with "npm install prom-client" when prom-client is not installed', () => {
    const problems: string[] = [];
    const resolved = resolveMetricsOptions({ registry: new Registry() }, problems, () => {
      throw Object.assign(new Error("Cannot find module 'prom-client'"), { code: 'MODULE_NOT_FOUND' });
    });
    expect(resolved).toBeUndefined();
    expect(problems).toEqual(['metrics needs the optional peer dependency prom-client: npm install prom-client (or leave metrics out)']);
  });

  it('does not load prom-client while metrics are off', () => {
    const load = jest.fn();
    expect(resolveMetricsOptions(undefined, [], load)).toBeUndefined();
    expect(load).not.toHaveBeenCalled();
  });
});

/**
 * The sample's `GET /metrics` and the `/admin` metrics dashboard: Prometheus text for a direct request from loopback
 * or one with `METRICS_TOKEN`; the 404 of a missing route for a proxied request (`X-Forwarded-For`, also with
 * `TRUST_PROXY` naming the proxy), a wrong token, or `METRICS_ENABLED=false`; the dashboard's figures after real
 * sign-ins, escaped and under the page's CSP; the two variables' validation. The address rule for other hosts is
 * checked on `mayReadMetrics` directly (the suite can only connect from loopback).
 */
import type { Request } from 'express';
import { ConfigError, parseConfig } from '../../sample/src/config';
import { isLoopbackAddress, mayReadMetrics } from '../../sample/src/metrics/metrics-access';
import { quantile } from '../../sample/src/metrics/metrics-dashboard';
import { PASSWORDS, SampleHarness, startSample } from './sample-helpers';

const TOKEN = 'metrics-token-0123456789abcdefghijklmnop';
const HTML = { Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

describe('sample GET /metrics', () => {
  let sample: SampleHarness;
  beforeAll(async () => {
    sample = await startSample({ METRICS_TOKEN: TOKEN, TRUST_PROXY: 'loopback' });
  });
  afterAll(() => sample?.close());

  it('serves the Prometheus text to a direct request from loopback, without a session', async () => {
    await sample.client().login('alice');
    const res = await sample.client().get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.text).toContain('# TYPE session_kit_sessions_created_total counter');
    expect(res.text).toMatch(/session_kit_logins_total\{outcome="success"\} [1-9]/);
    expect(res.text).toMatch(
      /session_kit_store_operation_duration_seconds_count\{store="session",operation="create",backend="memory"\} [1-9]/,
    );
  });

  it.each([
    ['X-Forwarded-For', '203.0.113.9'],
    ['X-Forwarded-For', '127.0.0.1'],
    ['Forwarded', 'for=127.0.0.1'],
    ['X-Real-IP', '127.0.0.1'],
  ])('answers a proxied request (%s: %s) without the token with the 404 of a missing route', async (header, value) => {
    const res = await sample.client().get('/metrics', { [header]: value });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ statusCode: 404, code: 'NOT_FOUND', message: 'Cannot GET /metrics' });
    expect(res.text).not.toContain('session_kit_');
  });

  it('serves a proxied request that carries the token, and refuses a wrong token with the same 404', async () => {
    const ok = await sample.client().get('/metrics', { 'X-Forwarded-For': '203.0.113.9', Authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('session_kit_sessions_created_total');
    const wrong = await sample.client().get('/metrics', { Authorization: `Bearer ${TOKEN}x` });
    expect(wrong.status).toBe(404);
    expect(wrong.body.code).toBe('NOT_FOUND');
  });

  it('has no metric in prom-client’s global registry', async () => {
    const { register } = await import('prom-client');
    expect(await register.getMetricsAsJSON()).toEqual([]);
  });
});

describe('sample /admin metrics dashboard', () => {
  let sample: SampleHarness;
  beforeAll(async () => {
    sample = await startSample();
  });
  afterAll(() => sample?.close());

  it('shows sessions, sign-ins, lockouts, CSRF rejections and store latency, rendered on the server', async () => {
    const alice = sample.client();
    await alice.login('alice');
    await sample.client().post('/auth/login', { username: 'alice', password: 'wrong-password' });
    // A CSRF rejection: an unsafe request without the token.
    expect((await alice.post('/cart/items', { sku: 'x', quantity: 1 }, { 'x-csrf-token': '' })).status).toBe(403);
    const bob = sample.client();
    await bob.login('bob');
    const page = await bob.get('/admin', HTML);
    expect(page.status).toBe(200);
    const text = page.text;
    const cell = (testid: string) => new RegExp(`data-testid="metric-${testid}"><th scope="row">[^<]*</th><td>(\\d+)</td>`).exec(text)?.[1];
    expect(cell('sessions-active')).toBe('2');
    expect(cell('sessions-created')).toBe('2');
    expect(cell('sessions-ended')).toBe('0');
    expect(cell('logins-success')).toBe('2');
    expect(cell('logins-failure')).toBe('1');
    expect(cell('csrf-rejections')).toBe('1');
    expect(cell('lockouts')).toBe('0');
    expect(cell('store-errors')).toBe('0');
    expect(text).toMatch(/data-testid="metric-latency-row">\s*<td>session<\/td><td>read<\/td><td>memory<\/td><td>\d+<\/td>/);
    // Under the page's CSP: no inline script or style was added (the one script carries the nonce).
    const nonce = /script-src[^;]*'nonce-([^']+)'/.exec(String(page.headers['content-security-policy']))?.[1];
    expect(nonce).toBeDefined();
    expect(text.match(/<script/g)).toHaveLength(1);
    expect(text).not.toMatch(/style="/);
  });

  it('is absent with METRICS_ENABLED=false, and /metrics answers 404', async () => {
    const off = await startSample({ METRICS_ENABLED: 'false' });
    try {
      const bob = off.client();
      await bob.login('bob');
      const page = await bob.get('/admin', HTML);
      expect(page.status).toBe(200);
      expect(page.text).not.toContain('data-testid="admin-metrics"');
      expect((await off.client().get('/metrics')).status).toBe(404);
    } finally {
      await off.close();
    }
  });
});

describe('sample metrics of the brute-force defence', () => {
  it('counts the CAPTCHA challenges BruteForceService hands out, and times the attempt counters (the sample keeps them in its users database, through TypeORM)', async () => {
    const sample = await startSample({ CAPTCHA_AFTER_FAILURES: '2', LOGIN_DELAY: '0', LOCKOUT_THRESHOLD: '10' });
    try {
      const client = sample.client();
      for (const n of [1, 2]) expect((await client.post('/auth/login', { username: 'alice', password: `wrong-${n}` })).status).toBe(401);
      const asked = await client.post('/auth/login', { username: 'alice', password: 'still-wrong' });
      expect(asked.body.code).toBe('CAPTCHA_REQUIRED');
      const text = (await sample.client().get('/metrics')).text;
      expect(text).toContain('session_kit_captcha_challenges_total{scope="login"} 1');
      expect(text).toContain('session_kit_logins_total{outcome="failure"} 2');
      expect(text).toMatch(
        /session_kit_store_operation_duration_seconds_count\{store="attempt",operation="increment",backend="typeorm"\} 2/,
      );
    } finally {
      await sample.close();
    }
  });
});

describe('sample metrics of the API tokens', () => {
  it('counts a refresh-token reuse and the family revoked for it, and times the token store', async () => {
    const sample = await startSample();
    try {
      const http = sample.client();
      const issued = await http.post('/api/auth/token', { username: 'alice', password: PASSWORDS.alice });
      expect(issued.status).toBe(200);
      expect((await http.post('/api/auth/refresh', { refresh_token: issued.body.refresh_token })).status).toBe(200);
      // The grace window for a parallel refresh passes; the used token is then a reuse.
      sample.clock.advance(60_000);
      const reused = await http.post('/api/auth/refresh', { refresh_token: issued.body.refresh_token });
      expect(reused.body.code).toBe('REFRESH_TOKEN_REUSED');
      const text = (await sample.client().get('/metrics')).text;
      expect(text).toContain('session_kit_refresh_token_reuse_total 1');
      expect(text).toContain('session_kit_revocations_total{kind="api_token",reason="refresh_token_reuse"} 1');
      expect(text).toMatch(
        /session_kit_store_operation_duration_seconds_count\{store="token",operation="rotateRefresh",backend="memory"\} 2/,
      );
    } finally {
      await sample.close();
    }
  });
});

describe('who may read /metrics (mayReadMetrics)', () => {
  const req = (remoteAddress: string, headers: Record<string, string> = {}) =>
    ({ socket: { remoteAddress }, headers }) as unknown as Request;

  it.each(['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1'])('lets a direct request from %s in', (address) => {
    expect(mayReadMetrics(req(address), undefined)).toBe(true);
  });

  it.each(['203.0.113.5', '10.0.0.1', '::ffff:192.168.1.2', '2001:db8::1', 'fe80::1'])('refuses %s without the token', (address) => {
    expect(mayReadMetrics(req(address), undefined)).toBe(false);
    expect(mayReadMetrics(req(address), TOKEN)).toBe(false);
  });

  it('lets another host in with the token only, and never a wrong or malformed one', () => {
    expect(mayReadMetrics(req('203.0.113.5', { authorization: `Bearer ${TOKEN}` }), TOKEN)).toBe(true);
    expect(mayReadMetrics(req('203.0.113.5', { authorization: `Bearer ${TOKEN.slice(1)}` }), TOKEN)).toBe(false);
    expect(mayReadMetrics(req('203.0.113.5', { authorization: `Basic ${TOKEN}` }), TOKEN)).toBe(false);
    // No token configured: a bearer header opens nothing.
    expect(mayReadMetrics(req('203.0.113.5', { authorization: `Bearer ${TOKEN}` }), undefined)).toBe(false);
  });

  it('does not take a loopback-looking string for loopback', () => {
    expect(isLoopbackAddress('127.0.0.1.evil')).toBe(false);
    expect(isLoopbackAddress(undefined)).toBe(false);
  });
});

describe('dashboard quantiles', () => {
  it('interpolates inside the bucket holding the rank, as histogram_quantile does', () => {
    const buckets: [number, number][] = [
      [0.001, 50],
      [0.01, 90],
      [0.1, 100],
      [Infinity, 100],
    ];
    expect(quantile(0.5, buckets, 100)).toBeCloseTo(0.001);
    expect(quantile(0.7, buckets, 100)).toBeCloseTo(0.001 + 0.009 * (20 / 40));
    expect(quantile(0.99, buckets, 100)).toBeCloseTo(0.01 + 0.09 * (9 / 10));
    expect(
      quantile(
        0.99,
        [
          [0.001, 1],
          [Infinity, 100],
        ],
        100,
      ),
    ).toBe(0.001);
  });
});

describe('metrics variables', () => {
  const base = { CSRF_SECRET: 'x'.repeat(32) };
  it('refuses a short METRICS_TOKEN and a METRICS_ENABLED that is not a boolean, naming both', () => {
    let error: unknown;
    try {
      parseConfig({ ...base, METRICS_TOKEN: 'short', METRICS_ENABLED: 'sometimes' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('METRICS_TOKEN must be at least 32 printable characters');
    expect(message).toContain('METRICS_ENABLED is "sometimes": use true or false');
  });

  it('defaults to metrics on without a token', () => {
    expect(parseConfig(base).metrics).toEqual({ enabled: true });
    expect(parseConfig({ ...base, METRICS_TOKEN: TOKEN }).metrics).toEqual({ enabled: true, token: TOKEN });
  });
});

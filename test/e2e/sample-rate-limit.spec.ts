/**
 * The sample's API rate limits over HTTP (BF-07): `RATE_LIMIT_SENSITIVE` requests per client IP and route on the routes
 * marked `@RateLimited()`, counted on the brute-force defence's counters (the users database with the default
 * `SESSION_STORE=memory`, Redis with `SESSION_STORE=redis`). Refusals are 429 `TOO_MANY_REQUESTS` with `Retry-After` and
 * the draft-06 `RateLimit-*` headers; a counter outage is 503; windows end by moving the app's ManualClock.
 *
 * Clients that must count as different machines send X-Forwarded-For through a trusted loopback proxy.
 */
import { PrivateRedis, freePort } from '../support/private-redis';
import { ConfigError, parseConfig } from '../../sample/src/config';
import { PASSWORDS, SampleHarness, settle, startSample } from './sample-helpers';

jest.setTimeout(60_000);

const MIN = 60_000;
const A = { 'X-Forwarded-For': '203.0.113.10' };
const B = { 'X-Forwarded-For': '198.51.100.20' };

let sample: SampleHarness | undefined;
afterEach(async () => {
  await sample?.close();
  sample = undefined;
});

async function start(env: Record<string, string> = {}): Promise<SampleHarness> {
  sample = await startSample({ TRUST_PROXY: 'loopback', RATE_LIMIT_SENSITIVE: '3/1m', ...env });
  return sample;
}

describe.each([
  ['memory sessions, counters in the users database', {}],
  ['Redis', { SESSION_STORE: 'redis' }],
] as const)('sample app: API rate limits (%s)', (_name, env) => {
  it('answers the 4th request of a client on a route 429 TOO_MANY_REQUESTS, with Retry-After, the RateLimit-* headers and an event', async () => {
    const app = await start(env);
    const alice = app.client();
    await alice.login('alice');
    for (let n = 1; n <= 3; n++) {
      const res = await alice.delete(`/sessions/guess${n}`, A);
      expect(res.status).toBe(404);
      expect([res.headers['ratelimit-limit'], res.headers['ratelimit-remaining'], res.headers['ratelimit-reset']]).toEqual([
        '3',
        String(3 - n),
        '60',
      ]);
      expect(res.headers['ratelimit-policy']).toBe('3;w=60');
    }
    app.clock.advance(20_000);
    const refused = await alice.delete('/sessions/guess4', A);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual(expect.objectContaining({ statusCode: 429, code: 'TOO_MANY_REQUESTS', retryAfter: 60 }));
    expect(refused.headers['retry-after']).toBe('60');
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    expect(refused.headers['ratelimit-reset']).toBe('60');
    const event = await app.lastAuditEvent({ type: 'excess_rate_limit_exceeded', reason: 'rate_limit' });
    expect(event).toEqual(
      expect.objectContaining({ ip: '203.0.113.10', detail: expect.objectContaining({ route: 'SessionsController.revoke', limit: 3 }) }),
    );
  });

  it('limits the API token routes too: the 4th refresh or revocation of a client is 429 (BF-07)', async () => {
    const app = await start(env);
    const client = app.client();
    for (const path of ['/api/auth/refresh', '/api/auth/revoke']) {
      const body = path.endsWith('refresh') ? { refresh_token: 'nsk_rt_guess' } : { token: 'nsk_rt_guess' };
      for (let n = 1; n <= 3; n++) expect((await client.post(path, body, A)).status).not.toBe(429);
      const refused = await client.post(path, body, A);
      expect([refused.status, refused.body.code, refused.headers['retry-after']]).toEqual([429, 'TOO_MANY_REQUESTS', '60']);
    }
  });

  it('keeps separate budgets per client and per route, and a new window when the old one ends', async () => {
    const app = await start(env);
    const alice = app.client();
    await alice.login('alice');
    for (let n = 1; n <= 3; n++) expect((await alice.delete(`/sessions/guess${n}`, A)).status).toBe(404);
    expect((await alice.delete('/sessions/guess4', A)).status).toBe(429);
    expect((await alice.delete('/sessions/guess4', B)).status).toBe(404);
    const reauth = await alice.post('/auth/reauth', { password: PASSWORDS.alice }, A);
    expect(reauth.status).toBe(200);
    expect(reauth.headers['ratelimit-remaining']).toBe('2');
    app.clock.advance(MIN);
    const again = await alice.delete('/sessions/guess5', A);
    expect(again.status).toBe(404);
    expect(again.headers['ratelimit-remaining']).toBe('2');
  });

  it('loses no request under 12 parallel ones: exactly the limit of them pass', async () => {
    const app = await start(env);
    const alice = app.client();
    await alice.login('alice');
    await alice.csrf();
    const answers = await Promise.all(Array.from({ length: 12 }, (_, n) => alice.delete(`/sessions/parallel${n}`, A)));
    const statuses = answers.map((res) => res.status).sort();
    expect(statuses).toEqual([...Array(3).fill(404), ...Array(9).fill(429)]);
  });

  it('leaves sign-in to the brute-force defence and unmarked routes alone', async () => {
    const app = await start(env);
    const bob = app.client();
    for (let n = 0; n < 5; n++) {
      const res = await bob.login('bob');
      expect(res.status).toBe(200);
      expect(res.headers['ratelimit-limit']).toBeUndefined();
    }
    for (let n = 0; n < 5; n++) expect((await bob.get('/me')).status).toBe(200);
  });
});

describe('sample app: API rate limits when the counters are down', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = new PrivateRedis(await freePort(), true);
    await redis.start();
  });
  afterAll(async () => {
    await redis?.dispose();
  });

  it('fails closed with 503 RATE_LIMITER_UNAVAILABLE, before any other check, and recovers by itself', async () => {
    const logged: string[] = [];
    const logger = { log: () => undefined, warn: (m: unknown) => logged.push(String(m)), error: (m: unknown) => logged.push(String(m)) };
    sample = await startSample({ SESSION_STORE: 'redis', REDIS_URL: redis.url, RATE_LIMIT_SENSITIVE: '3/1m' }, { logger });
    const alice = sample.client();
    await alice.login('alice');
    expect((await alice.delete('/sessions/guess1')).status).toBe(404);
    await redis.signal('SIGTERM');
    const down = await alice.delete('/sessions/guess2');
    expect(down.status).toBe(503);
    expect(down.body.code).toBe('RATE_LIMITER_UNAVAILABLE');
    expect(logged.some((line) => /Rate-limit counters unavailable, refusing SessionsController\.revoke \(503\)/.test(line))).toBe(true);
    await redis.start();
    const deadline = Date.now() + 15_000;
    let status = 0;
    while (Date.now() < deadline) {
      // The session lived in the Redis that restarted empty: a new sign-in, then the marked route again.
      const again = sample.client();
      if ((await again.post('/auth/login', { username: 'alice', password: PASSWORDS.alice })).status === 200) {
        status = (await again.delete('/sessions/guess3')).status;
        if (status === 404) break;
      }
      await settle(200);
    }
    expect(status).toBe(404);
  });
});

describe('sample config: RATE_LIMIT_SENSITIVE', () => {
  it('defaults to 30 per minute and reads N/DURATION', () => {
    expect(parseConfig({}).rateLimit.sensitive).toEqual({ limit: 30, windowMs: MIN });
    expect(parseConfig({ RATE_LIMIT_SENSITIVE: '100/15m' }).rateLimit.sensitive).toEqual({ limit: 100, windowMs: 15 * MIN });
  });

  it('refuses a malformed or out-of-range value, naming the variable and the form it takes', () => {
    for (const bad of ['ten', '10', '0/1m', '10/0', '10/2d', '100001/1m']) {
      expect(() => parseConfig({ RATE_LIMIT_SENSITIVE: bad })).toThrow(ConfigError);
      expect(() => parseConfig({ RATE_LIMIT_SENSITIVE: bad })).toThrow(/RATE_LIMIT_SENSITIVE is .*N\/DURATION, e\.g\. "10\/1m"/);
    }
  });
});

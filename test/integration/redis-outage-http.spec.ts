/**
 * The whole request path during a real Redis outage: the sample app on RedisSessionStore, against a private
 * redis-server that the test stops and starts again. Guarded requests must fail closed with 503 and a clear log
 * line, nothing may crash, and the SAME app must serve the same session again once Redis is back.
 */
import { CapturingLogger } from '../support/capturing-logger';
import { PrivateRedis, freePort } from '../support/private-redis';
import { SampleHarness, startSample } from '../e2e/sample-helpers';

describe('Redis outage over HTTP (sample app, SESSION_STORE=redis)', () => {
  let redis: PrivateRedis;
  let sample: SampleHarness;
  const logger = new CapturingLogger();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    redis = new PrivateRedis(await freePort(), true);
    await redis.start();
    sample = await startSample({ SESSION_STORE: 'redis', REDIS_URL: redis.url }, { logger });
  });

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await sample?.close();
    await redis?.dispose();
  });

  it('fails closed with 503 while Redis is down, then recovers by itself with the same session', async () => {
    const alice = sample.client();
    expect((await alice.login('alice')).status).toBe(200);
    expect((await alice.get('/me')).status).toBe(200);

    await redis.signal('SIGTERM');

    const started = Date.now();
    const me = await alice.get('/me');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(me.status).toBe(503);
    expect(me.body).toMatchObject({ statusCode: 503, code: 'SESSION_STORE_UNAVAILABLE' });
    expect(JSON.stringify(me.body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/); // generic to the client
    const health = await alice.get('/health');
    expect(health.status).toBe(503);
    expect(health.body.status).toBe('degraded');
    // Logout must not pretend to succeed while the session cannot be ended (fail closed, not open).
    expect((await alice.post('/auth/logout')).status).toBe(503);
    const bob = sample.client();
    const failedLogin = await bob.post('/auth/login', { username: 'bob', password: 'bob-correct-horse-1' });
    expect(failedLogin.status).toBe(503);
    expect(failedLogin.headers['set-cookie'] ?? []).not.toEqual(expect.arrayContaining([expect.stringMatching(/^__Host-sid=[^;]/)]));
    expect(logger.errors.some((line) => /Session store operation "\w+" failed: .*Failing closed with 503/.test(line))).toBe(true);

    await redis.start();
    const deadline = Date.now() + 15_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await alice.get('/me')).status;
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(200);
    expect((await alice.get('/health')).status).toBe(200);
    // The attempt counters and the API-token store have Redis clients of their own, each reconnecting on its own
    // backoff (at most MAX_RECONNECT_DELAY_MS apart): sign-in answers 503 until the counters are back, then works.
    let login = 0;
    while (Date.now() < deadline) {
      login = (await bob.post('/auth/login', { username: 'bob', password: 'bob-correct-horse-1' })).status;
      if (login !== 503) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(login).toBe(200);
    expect((await bob.get('/me')).status).toBe(200);
    expect(unhandled).toEqual([]);
  });
});

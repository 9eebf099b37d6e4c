/**
 * The whole request path during a real memcached outage: the sample app on MemcachedSessionStore, against a private
 * memcached that the test kills and starts again. Guarded requests must fail closed with 503, nothing may crash, and
 * the SAME app must serve again once memcached is back. memcached keeps nothing across a restart: the session of
 * before is gone (401, signed out, never let in), and signing in again works.
 */
import { CapturingLogger } from '../support/capturing-logger';
import { freePort, PrivateMemcached } from '../support/private-memcached';
import { SampleHarness, startSample } from '../e2e/sample-helpers';

describe('memcached outage over HTTP (sample app, SESSION_STORE=memcached)', () => {
  let memcached: PrivateMemcached;
  let sample: SampleHarness;
  const logger = new CapturingLogger();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    memcached = new PrivateMemcached(await freePort());
    await memcached.start();
    sample = await startSample({ SESSION_STORE: 'memcached', MEMCACHED_URL: `memcached://${memcached.server}` }, { logger });
  });

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await sample?.close();
    await memcached?.dispose();
  });

  it('fails closed with 503 while memcached is down; after its restart everyone is signed out (401) and can sign in again', async () => {
    const alice = sample.client();
    expect((await alice.login('alice')).status).toBe(200);
    expect((await alice.get('/me')).status).toBe(200);

    await memcached.kill();

    const me = await alice.get('/me');
    expect(me.status).toBe(503);
    expect(me.body).toMatchObject({ statusCode: 503, code: 'SESSION_STORE_UNAVAILABLE' });
    expect(JSON.stringify(me.body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/); // generic to the client
    expect((await alice.get('/health')).status).toBe(503);
    expect((await alice.post('/auth/logout')).status).toBe(503);
    const bob = sample.client();
    const failedLogin = await bob.post('/auth/login', { username: 'bob', password: 'bob-correct-horse-1' });
    expect(failedLogin.status).toBe(503);
    expect(failedLogin.headers['set-cookie'] ?? []).not.toEqual(expect.arrayContaining([expect.stringMatching(/^__Host-sid=[^;]/)]));
    expect(logger.errors.some((line) => /Session store operation "\w+" failed: .*memcached is unreachable/.test(line))).toBe(true);

    await memcached.start();
    // No reconnect step: the store's next command connects again, once the circuit breaker (opened by the failures
    // above) lets its probe through, at most one cool-down (1 s) later. The restart kept nothing, so alice is signed out.
    const deadline = Date.now() + 3000;
    let afterRestart = await alice.get('/me');
    while (afterRestart.status === 503 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      afterRestart = await alice.get('/me');
    }
    expect(afterRestart.status).toBe(401);
    expect((await alice.get('/health')).status).toBe(200);
    expect((await bob.post('/auth/login', { username: 'bob', password: 'bob-correct-horse-1' })).status).toBe(200);
    expect((await bob.get('/me')).status).toBe(200);
    expect(unhandled).toEqual([]);
  });
});

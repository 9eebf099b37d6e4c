/**
 * Session lifetime in the sample app, driven by a ManualClock: idle and absolute timeouts, periodic id
 * rotation with its grace window, and the per-user session limit. Time moves; no test sleeps.
 */
import { SampleHarness, setCookieFor, startSample } from './sample-helpers';

const MIN = 60_000;

describe('sample app: session lifetime (defaults: idle 30m, absolute 12h, rotation 15m, grace 10s)', () => {
  let sample: SampleHarness;

  beforeAll(async () => {
    sample = await startSample();
  });
  afterAll(() => sample.close());

  it('ends a session left idle past the idle timeout: 401 SESSION_EXPIRED, cookie cleared', async () => {
    const client = sample.client();
    await client.login('alice');
    sample.clock.advance(29 * MIN);
    expect((await client.get('/me')).status).toBe(200);
    sample.clock.advance(31 * MIN);
    const res = await client.get('/me');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ statusCode: 401, code: 'SESSION_EXPIRED', message: expect.any(String) });
    expect(setCookieFor(res, '__Host-sid')).toMatch(/^__Host-sid=;.*Max-Age=0/);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('restarts the idle timeout on activity', async () => {
    const client = sample.client();
    await client.login('alice');
    const start = sample.clock.now();
    for (let i = 0; i < 4; i++) {
      sample.clock.advance(20 * MIN);
      const res = await client.get('/me');
      expect(res.status).toBe(200);
      expect(res.body.session.idleExpiresAt).toBe(sample.clock.now() + 30 * MIN);
    }
    // 80 minutes after login, far past one idle timeout, and still signed in.
    expect(sample.clock.now() - start).toBe(80 * MIN);
  });

  it('rotates the id periodically: a new cookie, the old one serves within the grace window and then dies', async () => {
    const client = sample.client();
    await client.login('alice');
    const first = client.sessionCookie!;
    const handle = (await client.get('/me')).body.session.handle;

    sample.clock.advance(14 * MIN);
    expect(setCookieFor(await client.get('/me'), '__Host-sid')).toBeUndefined();

    sample.clock.advance(2 * MIN);
    const rotated = await client.get('/me');
    expect(rotated.status).toBe(200);
    expect(setCookieFor(rotated, '__Host-sid')).toMatch(/^__Host-sid=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    const second = client.sessionCookie!;
    expect(second).not.toBe(first);
    expect(rotated.body.session.handle).toBe(handle);

    // A request already in flight with the old cookie (another tab) still works for a few seconds.
    sample.clock.advance(5_000);
    const late = await sample.client().get('/me', { Cookie: first });
    expect(late.status).toBe(200);
    expect(late.body.session.handle).toBe(handle);

    sample.clock.advance(6_000);
    expect((await sample.client().get('/me', { Cookie: first })).status).toBe(401);
    expect((await sample.client().get('/me', { Cookie: second })).status).toBe(200);
  });
});

describe('sample app: absolute timeout (SESSION_ABSOLUTE_TIMEOUT=1h)', () => {
  let sample: SampleHarness;

  beforeAll(async () => {
    sample = await startSample({ SESSION_ABSOLUTE_TIMEOUT: '1h' });
  });
  afterAll(() => sample.close());

  it('ends the session at the absolute deadline however active it is', async () => {
    const client = sample.client();
    await client.login('alice');
    const loginAt = sample.clock.now();
    for (const minute of [20, 40, 55, 59]) {
      sample.clock.set(loginAt + minute * MIN);
      const res = await client.get('/me');
      expect(res.status).toBe(200);
      expect(res.body.session.absoluteExpiresAt).toBe(loginAt + 60 * MIN);
    }
    sample.clock.set(loginAt + 60 * MIN + 1);
    const res = await client.get('/me');
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('SESSION_EXPIRED');
  });

  it('is reset by re-authentication', async () => {
    const client = sample.client();
    await client.login('alice');
    const loginAt = sample.clock.now();
    for (const minute of [20, 40, 50]) {
      sample.clock.set(loginAt + minute * MIN);
      expect((await client.get('/me')).status).toBe(200);
    }
    const reauth = await client.post('/auth/reauth', { password: 'alice-correct-horse-1' });
    expect(reauth.body.session.absoluteExpiresAt).toBe(loginAt + 110 * MIN);
    sample.clock.advance(20 * MIN);
    expect((await client.get('/me')).status).toBe(200);
  });
});

describe('sample app: concurrent-session limit (SESSION_MAX_CONCURRENT=2)', () => {
  let sample: SampleHarness;

  beforeAll(async () => {
    sample = await startSample({ SESSION_MAX_CONCURRENT: '2' });
  });
  afterAll(() => sample.close());

  it('evicts the oldest session when a third one starts', async () => {
    const [first, second, third] = [sample.client('one'), sample.client('two'), sample.client('three')];
    await first.login('alice');
    sample.clock.advance(1000);
    await second.login('alice');
    sample.clock.advance(1000);
    await third.login('alice');

    expect((await first.get('/me')).status).toBe(401);
    expect((await second.get('/me')).status).toBe(200);
    expect((await third.get('/me')).status).toBe(200);
    const listing = (await third.get('/sessions')).body as { userAgent: string }[];
    expect(listing.map((s) => s.userAgent)).toEqual(['two', 'three']);
  });

  it("does not count another user's sessions", async () => {
    const alice = sample.client();
    await alice.login('alice');
    for (let i = 0; i < 3; i++) {
      sample.clock.advance(1000);
      await sample.client().login('bob');
    }
    expect((await alice.get('/me')).status).toBe(200);
  });
});

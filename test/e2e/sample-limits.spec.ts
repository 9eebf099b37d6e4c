/**
 * Session tiers and limits as the sample configures them from its environment: the remember-me tier (longer
 * timeouts, a persistent cookie), SESSION_LIMIT_POLICY=deny-new (409 TOO_MANY_SESSIONS), IMPERSONATION_MAX_AGE, and
 * the sign-in events' details. On the memory store and on Redis.
 */
import { DataSource } from 'typeorm';
import { User } from '../../sample/src/users/user.entity';
import { PASSWORDS, SampleHarness, setCookieFor, settle, startSample } from './sample-helpers';

const DAY = 86_400_000;
const BACKENDS = [
  { name: 'memory', env: {} },
  { name: 'redis', env: { SESSION_STORE: 'redis', REDIS_URL: 'redis://127.0.0.1:6379' } },
];

describe.each(BACKENDS)('sample app tiers and limits on $name', ({ env }) => {
  let sample: SampleHarness;

  beforeAll(async () => {
    sample = await startSample({
      ...env,
      SESSION_MAX_CONCURRENT: '2',
      SESSION_LIMIT_POLICY: 'deny-new',
      REMEMBER_IDLE_TIMEOUT: '7d',
      REMEMBER_ABSOLUTE_TIMEOUT: '30d',
      IMPERSONATION_MAX_AGE: '10m',
    });
  });
  afterAll(() => sample?.close());

  it('gives `remember: true` the remember tier: its timeouts and a persistent cookie', async () => {
    const client = sample.client();
    const res = await client.login('alice', { remember: true });
    const cookie = setCookieFor(res, '__Host-sid')!;
    expect(cookie).toMatch(/Max-Age=\d+/);
    expect(Number(/Max-Age=(\d+)/.exec(cookie)![1])).toBeGreaterThan(29 * 86_400);
    const now = sample.clock.now();
    const me = await client.get('/me');
    expect(me.body.session).toMatchObject({ tier: 'remember', idleExpiresAt: now + 7 * DAY, absoluteExpiresAt: now + 30 * DAY });
    sample.clock.advance(2 * DAY);
    expect((await client.get('/me')).status).toBe(200);
    await client.post('/auth/logout');
  });

  it('refuses a sign-in beyond the limit with 409 TOO_MANY_SESSIONS, naming the devices, and creates nothing', async () => {
    const first = sample.client('first');
    const second = sample.client('second');
    await first.login('bob');
    await second.login('bob');
    const third = sample.client('third');
    const res = await third.post('/auth/login', { username: 'bob', password: PASSWORDS.bob });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ statusCode: 409, code: 'TOO_MANY_SESSIONS' });
    expect(res.body.sessions.map((s: { userAgent: string }) => s.userAgent).sort()).toEqual(['first', 'second']);
    expect(third.sessionCookie).toBeUndefined();
    expect((await first.get('/me')).status).toBe(200);
    // Signing out one device makes room.
    await first.post('/auth/logout');
    expect((await third.post('/auth/login', { username: 'bob', password: PASSWORDS.bob })).status).toBe(200);
  });

  it('caps an impersonation session at IMPERSONATION_MAX_AGE', async () => {
    const repo = sample.app.get(DataSource).getRepository(User);
    const carol = await repo.findOneByOrFail({ username: 'carol' });
    // bob is at his session limit from the previous test: alice, made admin for this test, impersonates.
    await repo.update({ username: 'alice' }, { roles: ['admin'] });
    try {
      const admin = sample.client('impersonating-admin');
      await admin.login('alice');
      const start = await admin.post(`/admin/users/${carol.id}/impersonate`);
      expect(start.status).toBe(200);
      expect(start.body.session.absoluteExpiresAt).toBe(sample.clock.now() + 10 * 60_000);
      sample.clock.advance(9 * 60_000);
      expect((await admin.get('/me')).status).toBe(200);
      sample.clock.advance(2 * 60_000);
      expect((await admin.get('/me')).status).toBe(401);
    } finally {
      await repo.update({ username: 'alice' }, { roles: ['user'] });
    }
  });

  it('records authn_login_success with the assurance level and tier, and lets a pending session sign out', async () => {
    const client = sample.client('events-agent');
    await client.login('alice');
    await settle();
    const success = await sample.lastAuditEvent({ type: 'authn_login_success', userAgent: 'events-agent' });
    expect(success.detail).toEqual({ aal: 1, tier: 'standard' });
    await client.post('/auth/logout');

    sample.clock.advance(30_000);
    const pending = sample.client();
    expect((await pending.post('/auth/login', { username: 'carol', password: PASSWORDS.carol })).body.mfaRequired).toBe(true);
    const cookie = pending.sessionCookie!;
    expect((await pending.post('/auth/logout')).status).toBe(204);
    expect((await sample.client().post('/auth/mfa', { code: '123456' }, { Cookie: cookie })).status).toBe(401);
  });
});

/**
 * The account's sensitive routes over HTTP: password change (current password, length, common passwords, rotation,
 * signing out the other sessions), and re-authentication in front of logout-all and session revocation. On the
 * memory store and on Redis.
 */
import type { SecurityEventType } from '../../lib';
import type { StoredSecurityEvent } from '../../lib/events/typeorm';
import { DataSource } from 'typeorm';
import { isCommonPassword, COMMON_PASSWORD_COUNT } from '../../sample/src/account/common-passwords';
import { User } from '../../sample/src/users/user.entity';
import { UsersService } from '../../sample/src/users/users.service';
import { PASSWORDS, SampleHarness, settle, startSample, totpCode } from './sample-helpers';

const BACKENDS = [
  { name: 'memory', env: {} },
  { name: 'redis', env: { SESSION_STORE: 'redis', REDIS_URL: 'redis://127.0.0.1:6379' } },
];

describe('sample common-password list', () => {
  it('holds a thousand common passwords and sees through case, padding and leet spellings', () => {
    expect(COMMON_PASSWORD_COUNT).toBeGreaterThanOrEqual(1000);
    for (const weak of ['password', 'Password1234', 'P@ssw0rd2024!', 'qwertyuiop123', 'iloveyou!!!!', 'CorrectHorseBatteryStaple']) {
      expect(isCommonPassword(weak)).toBe(true);
    }
    for (const fine of ['plum-orbit-7-kettle', 'Zq8#mW2r!vL0pX', 'alice-correct-horse-1']) expect(isCommonPassword(fine)).toBe(false);
  });
});

describe.each(BACKENDS)('sample app account routes on $name', ({ env }) => {
  let sample: SampleHarness;

  beforeAll(async () => {
    sample = await startSample(env);
  });
  afterAll(() => sample?.close());

  /** Puts a seeded password back (the seeded ones contain the username, which the route itself refuses). */
  async function restorePassword(username: keyof typeof PASSWORDS): Promise<void> {
    const user = await sample.app.get(DataSource).getRepository(User).findOneByOrFail({ username });
    await sample.app.get(UsersService).setPassword(user.id, PASSWORDS[username]);
  }

  describe('POST /account/password', () => {
    const NEW_PASSWORD = 'plum-orbit-7-kettle';

    it('changes the password, rotates this session, ends the others when asked, and logs authn_password_change', async () => {
      const laptop = sample.client('laptop');
      const phone = sample.client('phone');
      await laptop.login('alice');
      await phone.login('alice');
      const before = laptop.sessionCookie!;
      const res = await laptop.post('/account/password', {
        currentPassword: PASSWORDS.alice,
        newPassword: NEW_PASSWORD,
        signOutOthers: true,
      });
      expect(res.status).toBe(204);
      expect(laptop.sessionCookie).not.toBe(before);
      expect((await sample.client().get('/me', { Cookie: before })).status).toBe(401);
      expect((await laptop.get('/me')).status).toBe(200);
      expect((await phone.get('/me')).status).toBe(401);
      expect((await sample.client().post('/auth/login', { username: 'alice', password: PASSWORDS.alice })).status).toBe(401);
      expect((await sample.client().post('/auth/login', { username: 'alice', password: NEW_PASSWORD })).status).toBe(200);
      await settle();
      const event = await sample.lastAuditEvent({ type: 'authn_password_change' });
      expect(event).toMatchObject({ outcome: 'success', detail: { signOutOthers: true, sessionsEnded: 1 } });
      await restorePassword('alice');
    });

    it('keeps the other sessions when not asked', async () => {
      const laptop = sample.client('laptop');
      const phone = sample.client('phone');
      await laptop.login('bob');
      await phone.login('bob');
      expect(
        (await laptop.post('/account/password', { currentPassword: PASSWORDS.bob, newPassword: NEW_PASSWORD, signOutOthers: false }))
          .status,
      ).toBe(204);
      expect((await phone.get('/me')).status).toBe(200);
      await restorePassword('bob');
    });

    it('needs the current password', async () => {
      const client = sample.client();
      await client.login('alice');
      const cookie = client.sessionCookie;
      const res = await client.post('/account/password', {
        currentPassword: 'not-my-password',
        newPassword: NEW_PASSWORD,
        signOutOthers: false,
      });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', errors: { currentPassword: expect.any(Array) } });
      expect(client.sessionCookie).toBe(cookie);
      await settle();
      const fail = await sample.lastAuditEvent({ type: 'authn_password_change_fail' });
      expect(fail.reason).toBe('wrong_current_password');
    });

    it.each([
      ['too short', 'short-pw-1'],
      ['common', 'Password1234!'],
      ['common in leet', 'P@ssw0rd12345'],
      ['containing the username', 'alice-wonderland-42'],
      ['the current one', PASSWORDS.alice],
    ])('refuses a new password that is %s', async (_what, newPassword) => {
      const client = sample.client();
      await client.login('alice');
      const res = await client.post('/account/password', { currentPassword: PASSWORDS.alice, newPassword, signOutOthers: false });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', errors: { newPassword: expect.any(Array) } });
    });

    it('validates the body (signOutOthers is required, unknown fields refused)', async () => {
      const client = sample.client();
      await client.login('alice');
      const missing = await client.post('/account/password', { currentPassword: PASSWORDS.alice, newPassword: NEW_PASSWORD });
      expect(missing.body.errors).toHaveProperty('signOutOthers');
      const extra = await client.post('/account/password', {
        currentPassword: PASSWORDS.alice,
        newPassword: NEW_PASSWORD,
        signOutOthers: false,
        userId: 'someone-else',
      });
      expect(extra.status).toBe(400);
    });

    it('needs a recent authentication, and a session', async () => {
      const client = sample.client();
      await client.login('alice');
      sample.clock.advance(6 * 60_000);
      const res = await client.post('/account/password', {
        currentPassword: PASSWORDS.alice,
        newPassword: NEW_PASSWORD,
        signOutOthers: false,
      });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({
        statusCode: 401,
        code: 'REAUTH_REQUIRED',
        message: expect.any(String),
        reauth: { path: '/auth/reauth', method: 'POST', maxAgeMs: 5 * 60_000, reason: 'stale' },
      });
      await client.reauth('alice');
      expect(
        (await client.post('/account/password', { currentPassword: PASSWORDS.alice, newPassword: 'short', signOutOthers: false })).status,
      ).toBe(400);
      expect(
        (await sample.client().post('/account/password', { currentPassword: 'x', newPassword: 'y', signOutOthers: false })).status,
      ).toBe(401);
    });

    it('treats a remembered sign-in as not fresh until a re-authentication', async () => {
      const client = sample.client();
      await client.login('alice', { remember: true });
      const res = await client.post('/account/password', {
        currentPassword: PASSWORDS.alice,
        newPassword: NEW_PASSWORD,
        signOutOthers: false,
      });
      expect(res.status).toBe(401);
      expect(res.body.reauth.reason).toBe('remembered');
    });
  });

  describe('re-authentication in front of logout-all and session revocation', () => {
    it('asks for it on POST /auth/logout-all and DELETE /sessions/:handle when the sign-in is old', async () => {
      const laptop = sample.client('laptop');
      const phone = sample.client('phone');
      await laptop.login('alice');
      await phone.login('alice');
      const phoneHandle = (await phone.get('/me')).body.session.handle;
      sample.clock.advance(6 * 60_000);
      const revoke = await laptop.delete(`/sessions/${phoneHandle}`);
      expect(revoke.status).toBe(401);
      expect(revoke.body.code).toBe('REAUTH_REQUIRED');
      const all = await laptop.post('/auth/logout-all');
      expect(all.status).toBe(401);
      expect(all.body.code).toBe('REAUTH_REQUIRED');
      expect((await phone.get('/me')).status).toBe(200);
      await laptop.reauth('alice');
      expect((await laptop.delete(`/sessions/${phoneHandle}`)).status).toBe(204);
      expect((await phone.get('/me')).status).toBe(401);
      expect((await laptop.post('/auth/logout-all')).status).toBe(204);
    });
  });

  describe('POST /auth/reauth attempt limit', () => {
    it('ends the session after five failed re-authentications; a successful one starts the count again', async () => {
      const client = sample.client();
      await client.login('alice');
      for (let i = 0; i < 3; i++)
        expect((await client.post('/auth/reauth', { password: `wrong-${i}` })).body.code).toBe('INVALID_CREDENTIALS');
      await client.reauth('alice');
      for (let i = 0; i < 4; i++)
        expect((await client.post('/auth/reauth', { password: `wrong-${i}` })).body.code).toBe('INVALID_CREDENTIALS');
      const fifth = await client.post('/auth/reauth', { password: 'wrong-5' });
      expect(fifth.status).toBe(401);
      expect(fifth.body.code).toBe('REAUTH_ATTEMPTS_EXCEEDED');
      expect(client.sessionCookie).toBeUndefined();
      expect((await client.post('/auth/reauth', { password: PASSWORDS.alice })).body.code).toBe('SESSION_REQUIRED');
    });

    it('counts parallel attempts before checking them', async () => {
      const client = sample.client();
      await client.login('alice');
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => client.post('/auth/reauth', { password: `wrong-${i}` })));
      expect(results.filter((r) => r.body.code === 'INVALID_CREDENTIALS').length).toBeLessThanOrEqual(4);
      expect((await client.get('/me')).status).toBe(401);
    });
  });

  describe('POST /auth/reauth with a second factor: the MFA events', () => {
    async function lastOf(type: SecurityEventType): Promise<StoredSecurityEvent | null> {
      await settle();
      return (await sample.auditEvents({ type })).at(-1) ?? null;
    }

    it('logs a wrong code as mfa_challenge_fail and a replayed one as mfa_reuse, with action reauthentication', async () => {
      sample.clock.advance(30_000);
      const carol = sample.client();
      await carol.login('carol');
      const used = totpCode(sample.clock.now());
      const carolId = (await carol.get('/me')).body.user.id;

      expect((await carol.post('/auth/reauth', { password: PASSWORDS.carol, code: '000000' })).body.code).toBe('INVALID_MFA_CODE');
      expect(JSON.parse(JSON.stringify(await lastOf('mfa_challenge_fail')))).toMatchObject({
        reason: 'invalid',
        level: 'WARN',
        outcome: 'failure',
        userId: carolId,
        detail: { action: 'reauthentication', method: 'totp' },
      });

      // The sign-in just accepted this step's code: the same code again is a reuse (RA-04), answered like a wrong one.
      expect((await carol.post('/auth/reauth', { password: PASSWORDS.carol, code: used })).body.code).toBe('INVALID_MFA_CODE');
      expect(JSON.parse(JSON.stringify(await lastOf('mfa_reuse')))).toMatchObject({
        reason: 'replayed',
        level: 'CRITICAL',
        userId: carolId,
        detail: { action: 'reauthentication', method: 'totp' },
      });
      sample.clock.advance(30_000);
      await carol.reauth('carol');
      await sample.app.get(DataSource).getRepository(User).update({ username: 'carol' }, { mfaFailures: 0 });
    });
  });

  describe('GET /me from the session alone', () => {
    it('answers the username and roles from the session, without reading the users table', async () => {
      const client = sample.client();
      await client.login('bob');
      // Renaming the row does not change what the session says: the username is kept at sign-in.
      const users = sample.app.get(DataSource).getRepository('User');
      await users.update({ username: 'bob' }, { username: 'robert' });
      try {
        const me = await client.get('/me');
        expect(me.body.user).toMatchObject({ username: 'bob', roles: ['admin'] });
      } finally {
        await users.update({ username: 'robert' }, { username: 'bob' });
      }
    });
  });
});

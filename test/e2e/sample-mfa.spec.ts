/**
 * The sample's second factor over HTTP: carol's TOTP sign-in (pending session, codes accepted once, replay logged,
 * recovery codes, per-session and per-account limits), re-authentication with the second factor, and TOTP
 * enrolment and removal by a user (alice). On the memory store and on Redis. Time moves on the app's ManualClock.
 */
import type { SecurityEventType } from '../../lib';
import type { StoredSecurityEvent } from '../../lib/events/typeorm';
import { DataSource } from 'typeorm';
import { User } from '../../sample/src/users/user.entity';
import { CAROL_TOTP_SECRET, PASSWORDS, SampleClient, SampleHarness, settle, startSample, totpCode } from './sample-helpers';
import { generateSync } from 'otplib';

const STEP_MS = 30_000;
const BACKENDS = [
  { name: 'memory', env: {} },
  { name: 'redis', env: { SESSION_STORE: 'redis', REDIS_URL: 'redis://127.0.0.1:6379' } },
];

describe.each(BACKENDS)('sample app second factor on $name', ({ env }) => {
  let sample: SampleHarness;

  beforeAll(async () => {
    sample = await startSample(env);
  });
  afterAll(() => sample?.close());

  /** A new 30 s step, so carol's next code is not a replay of the previous test's. */
  const nextStep = (): void => sample.clock.advance(STEP_MS);

  async function pendingCarol(client = sample.client()): Promise<SampleClient> {
    const res = await client.post('/auth/login', { username: 'carol', password: PASSWORDS.carol });
    expect(res.body.mfaRequired).toBe(true);
    return client;
  }

  async function events(type?: SecurityEventType): Promise<StoredSecurityEvent[]> {
    await settle();
    return sample.auditEvents({ type });
  }

  async function carolRow(): Promise<User> {
    return sample.app.get(DataSource).getRepository(User).findOneByOrFail({ username: 'carol' });
  }

  describe('sign-in with TOTP (POST /auth/login, POST /auth/mfa)', () => {
    it('keeps the TOTP secret sealed at rest, never the base32 secret', async () => {
      const carol = await carolRow();
      expect(carol.totpSecret).toMatch(/^v1\.test\./);
      expect(carol.totpSecret).not.toContain(CAROL_TOTP_SECRET);
    });

    it('gives a pending session that only /auth/mfa and /auth/logout accept', async () => {
      nextStep();
      const client = await pendingCarol();
      const pendingCookie = client.sessionCookie!;
      for (const res of [
        await client.get('/me'),
        await client.get('/cart'),
        await client.get('/sessions'),
        await client.post('/auth/reauth', { password: PASSWORDS.carol }),
      ]) {
        expect(res.status).toBe(401);
        expect(res.body.code).toBe('SESSION_REQUIRED');
      }
      const done = await client.post('/auth/mfa', { code: totpCode(sample.clock.now()) });
      expect(done.status).toBe(200);
      expect(done.body).toEqual({
        user: { id: expect.any(String), username: 'carol', roles: ['user'] },
        session: expect.objectContaining({ aal: 2, tier: 'standard', authenticatedAt: sample.clock.now() }),
      });
      expect(client.sessionCookie).not.toBe(pendingCookie);
      expect((await sample.client().get('/me', { Cookie: pendingCookie })).status).toBe(401);
      const me = await client.get('/me');
      expect(me.status).toBe(200);
      expect(me.body.session.aal).toBe(2);
      expect(me.body.user.username).toBe('carol');
      const success = (await events('authn_login_success')).filter((e) => e.userId === done.body.user.id).pop()!;
      expect(success).toMatchObject({ reason: 'mfa_totp', detail: { aal: 2, method: 'totp', tier: 'standard' } });
    });

    it('accepts a code one step early or late (drift), not two', async () => {
      nextStep();
      const early = await pendingCarol();
      expect((await early.post('/auth/mfa', { code: totpCode(sample.clock.now() - 2 * STEP_MS) })).status).toBe(401);
      expect((await early.post('/auth/mfa', { code: totpCode(sample.clock.now() - STEP_MS) })).status).toBe(401); // used already
      expect((await early.post('/auth/mfa', { code: totpCode(sample.clock.now() + STEP_MS) })).status).toBe(200);
      nextStep();
      nextStep();
      const late = await pendingCarol();
      expect((await late.post('/auth/mfa', { code: totpCode(sample.clock.now() + 2 * STEP_MS) })).status).toBe(401);
    });

    it('accepts a code only once: the replay is refused like a wrong code and logged as CRITICAL', async () => {
      nextStep();
      const code = totpCode(sample.clock.now());
      const first = await pendingCarol();
      expect((await first.post('/auth/mfa', { code })).status).toBe(200);
      const second = await pendingCarol();
      const replay = await second.post('/auth/mfa', { code });
      expect(replay.status).toBe(401);
      expect(replay.body).toEqual({ statusCode: 401, code: 'INVALID_MFA_CODE', message: expect.any(String) });
      // RA-04: the reuse has its own event type, apart from wrong codes and from password failures.
      const logged = await events('mfa_reuse');
      expect(logged.length).toBeGreaterThan(0);
      expect(logged.pop()).toMatchObject({
        reason: 'replayed',
        level: 'CRITICAL',
        outcome: 'failure',
        userId: (await carolRow()).id,
        detail: { action: 'login', method: 'totp' },
      });
      expect((await events('authn_login_fail')).filter((e) => e.reason?.startsWith('mfa_'))).toEqual([]);
      // The next step's code still works for the same pending session.
      nextStep();
      expect((await second.post('/auth/mfa', { code: totpCode(sample.clock.now()) })).status).toBe(200);
    });

    it('accepts only one of two parallel requests with the same code', async () => {
      nextStep();
      const code = totpCode(sample.clock.now());
      const a = await pendingCarol();
      const b = await pendingCarol();
      const results = await Promise.all([a.post('/auth/mfa', { code }), b.post('/auth/mfa', { code })]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
    });

    it('ends the pending session after five wrong codes', async () => {
      nextStep();
      const client = await pendingCarol();
      for (let i = 0; i < 4; i++) {
        const res = await client.post('/auth/mfa', { code: '000000' });
        expect(res.status).toBe(401);
        expect(res.body.code).toBe('INVALID_MFA_CODE');
      }
      const fifth = await client.post('/auth/mfa', { code: '000001' });
      expect(fifth.status).toBe(401);
      expect(fifth.body.code).toBe('MFA_ATTEMPTS_EXCEEDED');
      const wrong = (await events('mfa_challenge_fail')).slice(-5);
      expect(wrong).toHaveLength(5);
      for (const e of wrong) {
        expect(e).toMatchObject({ reason: 'invalid', level: 'WARN', outcome: 'failure', detail: { action: 'login', method: 'totp' } });
      }
      expect(client.sessionCookie).toBeUndefined();
      // Even the right code no longer helps: the session is gone.
      expect((await client.post('/auth/mfa', { code: totpCode(sample.clock.now()) })).status).toBe(401);
      // Reset the account's counter for the next tests.
      await sample.app.get(DataSource).getRepository(User).update({ username: 'carol' }, { mfaFailures: 0 });
    });

    it('pauses second-factor checks for the account after ten wrong codes in a row, across sessions (429 with Retry-After)', async () => {
      nextStep();
      let last;
      for (let i = 0; i < 10; i++) {
        const client = await pendingCarol();
        last = await client.post('/auth/mfa', { code: '999999' });
      }
      expect(last!.status).toBe(429);
      expect(last!.body.code).toBe('TOO_MANY_ATTEMPTS');
      expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
      const client = await pendingCarol();
      const locked = await client.post('/auth/mfa', { code: totpCode(sample.clock.now()) });
      expect(locked.status).toBe(429);
      // The tenth wrong code starts the pause (one mfa_lockout); an attempt during the pause is refused unchecked.
      const carol = await carolRow();
      const lockouts = (await events('mfa_lockout')).filter((e) => e.userId === carol.id);
      expect(lockouts.length).toBeGreaterThan(0);
      expect(JSON.parse(JSON.stringify(lockouts.pop()))).toMatchObject({
        level: 'CRITICAL',
        outcome: 'failure',
        detail: { action: 'login', method: 'totp', retryAfterMs: 15 * 60_000 },
      });
      expect((await events('mfa_challenge_fail')).pop()).toMatchObject({ reason: 'locked', userId: carol.id });
      sample.clock.advance(16 * 60_000);
      const after = await pendingCarol();
      expect((await after.post('/auth/mfa', { code: totpCode(sample.clock.now()) })).status).toBe(200);
    });

    it('counts parallel guesses before checking them: a burst on one pending session gets at most five answers', async () => {
      nextStep();
      const client = await pendingCarol();
      const results = await Promise.all(Array.from({ length: 12 }, () => client.post('/auth/mfa', { code: '111111' })));
      const checked = results.filter((r) => r.body.code === 'INVALID_MFA_CODE');
      expect(checked.length).toBeLessThanOrEqual(4);
      expect(results.every((r) => r.status === 401)).toBe(true);
      expect((await client.post('/auth/mfa', { code: totpCode(sample.clock.now()) })).status).toBe(401);
      await sample.app.get(DataSource).getRepository(User).update({ username: 'carol' }, { mfaFailures: 0 });
    });

    it('counts parallel guesses across sessions before checking them: a burst cannot outrun the account limit', async () => {
      nextStep();
      // Eight pending sessions (within the limit of ten per user), two guesses each, all at once: sixteen guesses.
      const clients = await Promise.all(Array.from({ length: 8 }, () => pendingCarol()));
      const results = await Promise.all(
        clients.flatMap((c) => [c.post('/auth/mfa', { code: '222222' }), c.post('/auth/mfa', { code: '333333' })]),
      );
      try {
        // At most ten guesses were checked (nine answered as wrong, the tenth locks); the rest were refused unchecked
        // (429, or 401 once a locked answer had ended their pending session).
        expect(results.filter((r) => r.body.code === 'INVALID_MFA_CODE').length).toBeLessThanOrEqual(9);
        expect(results.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(1);
        expect(results.every((r) => r.status === 401 || r.status === 429)).toBe(true);
        const after = await pendingCarol();
        expect((await after.post('/auth/mfa', { code: totpCode(sample.clock.now()) })).status).toBe(429);
      } finally {
        await sample.app.get(DataSource).getRepository(User).update({ username: 'carol' }, { mfaFailures: 0, mfaLockedUntil: null });
      }
    });

    it('ends a pending session that waited more than five minutes', async () => {
      nextStep();
      const client = await pendingCarol();
      // The page has its token before the wait (fetching one afterwards would already meet the ended session).
      await client.csrf();
      sample.clock.advance(5 * 60_000 + 1000);
      const res = await client.post('/auth/mfa', { code: totpCode(sample.clock.now()) });
      expect(res.status).toBe(401);
      // The session module's pendingTimeout ended it, as any timed-out session.
      expect(res.body.code).toBe('SESSION_EXPIRED');
      expect(client.sessionCookie).toBeUndefined();
    });

    it('gives the remember tier after the second factor when asked at login', async () => {
      nextStep();
      const client = sample.client();
      await client.login('carol', { remember: true });
      const me = await client.get('/me');
      expect(me.body.session).toMatchObject({ tier: 'remember', aal: 2 });
    });

    it('answers 409 MFA_NOT_PENDING on a complete session, and validates the body', async () => {
      const alice = sample.client();
      await alice.login('alice');
      const res = await alice.post('/auth/mfa', { code: '123456' });
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('MFA_NOT_PENDING');
      expect((await alice.post('/auth/mfa', {})).status).toBe(400);
      expect((await sample.client().post('/auth/mfa', { code: '123456' })).status).toBe(401);
    });
  });

  describe('POST /auth/reauth with a second factor', () => {
    it('needs the code as well as the password for carol, and then rotates at aal 2', async () => {
      nextStep();
      const client = sample.client();
      await client.login('carol');
      nextStep();
      const noCode = await client.post('/auth/reauth', { password: PASSWORDS.carol });
      expect(noCode.status).toBe(401);
      expect(noCode.body.code).toBe('MFA_CODE_REQUIRED');
      const wrong = await client.post('/auth/reauth', { password: PASSWORDS.carol, code: '000000' });
      expect(wrong.status).toBe(401);
      expect(wrong.body.code).toBe('INVALID_MFA_CODE');
      const wrongPassword = await client.post('/auth/reauth', { password: 'nope-nope-nope', code: totpCode(sample.clock.now()) });
      expect(wrongPassword.body.code).toBe('INVALID_CREDENTIALS');
      const before = client.sessionCookie;
      const ok = await client.post('/auth/reauth', { password: PASSWORDS.carol, code: totpCode(sample.clock.now()) });
      expect(ok.status).toBe(200);
      expect(ok.body.session).toMatchObject({ aal: 2, authenticatedAt: sample.clock.now() });
      expect(client.sessionCookie).not.toBe(before);
    });
  });

  describe('TOTP enrolment (POST /account/mfa/totp, .../confirm, DELETE /account/mfa/totp, GET /account/security)', () => {
    it('enrols alice: a fresh secret, confirmed by a code, ten recovery codes once, aal 2; then removes it', async () => {
      const alice = sample.client();
      await alice.login('alice');
      expect((await alice.get('/account/security')).body).toMatchObject({ statusCode: 403, code: 'MFA_REQUIRED' });

      const start = await alice.post('/account/mfa/totp');
      expect(start.status).toBe(200);
      expect(start.body).toEqual({
        secret: expect.stringMatching(/^[A-Z2-7]{32}$/),
        otpauthUrl: expect.stringMatching(/^otpauth:\/\/totp\/.+secret=/),
        qrDataUrl: expect.stringMatching(/^data:image\/png;base64,/),
      });
      const secret: string = start.body.secret;
      const row = await sample.app.get(DataSource).getRepository(User).findOneByOrFail({ username: 'alice' });
      expect(row.totpSecret).toBeNull();
      expect(row.totpPendingSecret).toMatch(/^v1\./);
      expect(row.totpPendingSecret).not.toContain(secret);

      const codeNow = (): string => generateSync({ secret, epoch: Math.floor(sample.clock.now() / 1000) });
      expect((await alice.post('/account/mfa/totp/confirm', { code: '000000' })).body.code).toBe('INVALID_MFA_CODE');
      const before = alice.sessionCookie;
      const confirm = await alice.post('/account/mfa/totp/confirm', { code: codeNow() });
      expect(confirm.status).toBe(200);
      expect(confirm.body.recoveryCodes).toHaveLength(10);
      expect(confirm.body.session.aal).toBe(2);
      expect(JSON.stringify(confirm.body)).not.toContain(secret);
      expect(alice.sessionCookie).not.toBe(before);
      expect((await alice.get('/account/security')).body).toEqual({
        totpEnabled: true,
        recoveryCodesLeft: 10,
        mfaEnabled: true,
        mfaMethods: ['totp'],
      });
      // Active now: a second enrolment is refused, and the secret is never shown again.
      expect((await alice.post('/account/mfa/totp')).body.code).toBe('TOTP_ALREADY_ENABLED');
      expect(JSON.stringify((await alice.get('/me')).body)).not.toContain(secret);

      // Sign-in now asks for it; a recovery code works once and says how many are left.
      const other = sample.client();
      const login = await other.post('/auth/login', { username: 'alice', password: PASSWORDS.alice });
      expect(login.body.mfaRequired).toBe(true);
      const recovery = confirm.body.recoveryCodes[0] as string;
      const used = await other.post('/auth/mfa', { code: recovery.toUpperCase() });
      expect(used.status).toBe(200);
      expect(used.body.recoveryCodesLeft).toBe(9);
      const third = sample.client();
      await third.post('/auth/login', { username: 'alice', password: PASSWORDS.alice });
      expect((await third.post('/auth/mfa', { code: recovery })).status).toBe(401);
      const successes = (await events('authn_login_success')).filter((e) => e.reason === 'mfa_recovery_code');
      expect(successes.pop()).toMatchObject({ detail: { method: 'recovery_code', remaining: 9 } });
      const spent = await events('mfa_recovery_code_used');
      expect(spent.pop()).toMatchObject({
        level: 'WARN',
        outcome: 'success',
        userId: row.id,
        detail: { method: 'recovery_code', action: 'login', remaining: 9 },
      });

      // Removal: re-authentication first (stale session), then it is gone and sign-in is one factor again.
      sample.clock.advance(6 * 60_000);
      const stale = await alice.delete('/account/mfa/totp');
      expect(stale.status).toBe(401);
      expect(stale.body.code).toBe('REAUTH_REQUIRED');
      sample.clock.advance(STEP_MS);
      await alice.reauth('alice', codeNow());
      const removed = await alice.delete('/account/mfa/totp', {}, { signOutOthers: true });
      expect(removed.status).toBe(204);
      expect((await other.get('/me')).status).toBe(401);
      const plain = await sample.client().post('/auth/login', { username: 'alice', password: PASSWORDS.alice });
      expect(plain.body.mfaRequired).toBe(false);
      expect((await alice.delete('/account/mfa/totp')).body.code).toBe('TOTP_NOT_ENABLED');
      const own = async (type: SecurityEventType) => (await events(type)).filter((e) => e.userId === row.id);
      expect(await own('mfa_enrollment_started')).toEqual([expect.objectContaining({ level: 'INFO', detail: { method: 'totp' } })]);
      expect(await own('mfa_enrollment_fail')).toEqual([expect.objectContaining({ reason: 'invalid', detail: { method: 'totp' } })]);
      expect(await own('mfa_enrolled')).toEqual([
        expect.objectContaining({ level: 'INFO', outcome: 'success', detail: { method: 'totp', sessionsEnded: 0 } }),
      ]);
      expect(await own('mfa_removed')).toEqual([
        expect.objectContaining({ level: 'WARN', outcome: 'success', detail: { method: 'totp', sessionsEnded: expect.any(Number) } }),
      ]);
      // Not the generic privilege-change event any more (the library's own session rotation still logs its reason).
      expect((await own('authz_change')).map((e) => e.reason)).not.toEqual(expect.arrayContaining([expect.stringMatching(/^totp_/)]));
    });

    it('needs a recent authentication for every TOTP route', async () => {
      const alice = sample.client();
      await alice.login('alice');
      sample.clock.advance(6 * 60_000);
      for (const res of [
        await alice.post('/account/mfa/totp'),
        await alice.post('/account/mfa/totp/confirm', { code: '123456' }),
        await alice.delete('/account/mfa/totp'),
      ]) {
        expect(res.status).toBe(401);
        expect(res.body).toMatchObject({ code: 'REAUTH_REQUIRED', reauth: { path: '/auth/reauth', method: 'POST', reason: 'stale' } });
      }
    });

    it('refuses a confirmation without an enrolment', async () => {
      const alice = sample.client();
      await alice.login('alice');
      await sample.app.get(DataSource).getRepository(User).update({ username: 'alice' }, { totpPendingSecret: null });
      const res = await alice.post('/account/mfa/totp/confirm', { code: '123456' });
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('NO_TOTP_ENROLMENT');
    });

    it('lets carol (aal 2) see /account/security', async () => {
      nextStep();
      const carol = sample.client();
      await carol.login('carol');
      const res = await carol.get('/account/security');
      expect(res.status).toBe(200);
      expect(res.body.totpEnabled).toBe(true);
    });
  });

  describe('GET /admin/events with the MFA event types', () => {
    it('filters by each of them (the tests above produced one of each)', async () => {
      const bob = sample.client();
      await bob.login('bob');
      for (const type of [
        'mfa_enrollment_started',
        'mfa_enrollment_fail',
        'mfa_enrolled',
        'mfa_removed',
        'mfa_challenge_fail',
        'mfa_reuse',
        'mfa_recovery_code_used',
        'mfa_lockout',
      ]) {
        const res = await bob.get(`/admin/events?type=${type}&limit=500`);
        expect(res.status).toBe(200);
        expect(res.body.length).toBeGreaterThan(0);
        expect(new Set(res.body.map((e: StoredSecurityEvent) => e.type))).toEqual(new Set([type]));
      }
    });
  });
});

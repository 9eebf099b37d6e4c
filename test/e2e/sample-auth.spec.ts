/**
 * The sample app's sign-in, session cookie, re-authentication and sign-out, over real HTTP against the real
 * AppModule (in-memory sessions, in-memory SQLite users).
 */
import { DataSource } from 'typeorm';
import { User } from '../../sample/src/users/user.entity';
import { PASSWORDS, SampleClient, SampleHarness, setCookieFor, startSample } from './sample-helpers';

const COOKIE = /^__Host-sid=([A-Za-z0-9_-]{43}); Path=\/; HttpOnly; Secure; SameSite=Lax$/;

describe('sample app: authentication', () => {
  let sample: SampleHarness;

  beforeAll(async () => {
    sample = await startSample();
  });
  afterAll(() => sample.close());

  describe('POST /auth/login', () => {
    it('signs in, answers the public user and sets a hardened session cookie', async () => {
      const client = sample.client();
      const res = await client.login('alice');
      expect(res.body).toEqual({ user: { id: expect.any(String), username: 'alice', roles: ['user'] }, mfaRequired: false });
      const cookie = setCookieFor(res, '__Host-sid');
      expect(cookie).toMatch(COOKIE);
      expect(cookie).not.toMatch(/Domain|Max-Age|Expires/i);
      expect(res.headers['cache-control']).toBe('no-store');
    });

    it('gives bob his admin role', async () => {
      const res = await sample.client().login('bob');
      expect(res.body.user).toMatchObject({ username: 'bob', roles: ['admin'] });
    });

    it('asks carol for her second factor: a pending session that reaches nothing but /auth/mfa', async () => {
      const client = sample.client();
      const res = await client.post('/auth/login', { username: 'carol', password: PASSWORDS.carol });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ user: { id: expect.any(String), username: 'carol', roles: ['user'] }, mfaRequired: true });
      expect(setCookieFor(res, '__Host-sid')).toMatch(COOKIE);
      expect((await client.get('/me')).status).toBe(401);
    });

    it('answers a wrong password and an unknown user identically, without a cookie', async () => {
      const wrong = await sample.client().post('/auth/login', { username: 'alice', password: 'not-her-password' });
      const unknown = await sample.client().post('/auth/login', { username: 'mallory', password: 'whatever-it-is' });
      for (const res of [wrong, unknown]) {
        expect(res.status).toBe(401);
        expect(res.headers['set-cookie']).toBeUndefined();
      }
      expect(wrong.body).toEqual({ statusCode: 401, code: 'INVALID_CREDENTIALS', message: expect.any(String) });
      expect(unknown.body).toEqual(wrong.body);
    });

    it('keeps the security log small under failed logins with a 15 KB user agent (every event clipped)', async () => {
      const before = Buffer.byteLength(sample.securityLog());
      const huge = 'Mozilla/5.0 '.padEnd(15_000, 'x');
      for (let i = 0; i < 50; i++) {
        const res = await sample
          .client()
          .post('/auth/login', { username: 'alice', password: 'wrong-password-' + i }, { 'User-Agent': huge });
        expect(res.status).toBe(401);
      }
      await new Promise((resolve) => setTimeout(resolve, 100)); // let the sink's writes land
      const added = Buffer.byteLength(sample.securityLog()) - before;
      // Unclipped, that was 50 x 15 KB = 750 KB; clipped, each line stays well under 1 KB.
      expect(added).toBeGreaterThan(0);
      expect(added).toBeLessThan(50 * 1024);
      expect(sample.securityLog()).not.toContain('x'.repeat(300));
    });

    it("rejects a disabled account like a wrong password (ending its live sessions is the admin route's job)", async () => {
      const users = sample.app.get(DataSource).getRepository(User);
      await users.update({ username: 'bob' }, { disabled: true });
      try {
        const res = await sample.client().post('/auth/login', { username: 'bob', password: PASSWORDS.bob });
        expect(res.status).toBe(401);
        expect(res.body.code).toBe('INVALID_CREDENTIALS');
        expect(res.headers['set-cookie']).toBeUndefined();
      } finally {
        await users.update({ username: 'bob' }, { disabled: false });
      }
    });

    it('validates the body: 400 VALIDATION_FAILED with per-field messages, unknown fields rejected', async () => {
      const missing = await sample.client().post('/auth/login', { username: 'alice' });
      expect(missing.status).toBe(400);
      expect(missing.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED', errors: { password: expect.any(Array) } });
      const extra = await sample.client().post('/auth/login', { username: 'alice', password: PASSWORDS.alice, admin: true });
      expect(extra.status).toBe(400);
      expect(extra.body.errors).toEqual({ admin: ['property admin should not exist'] });
      const array = await sample.client().post('/auth/login', [1, 2]);
      expect(array.status).toBe(400);
      expect(array.body.errors).toEqual({ body: ['body must be a JSON object'] });
    });

    it('accepts an optional captcha field', async () => {
      const res = await sample.client().post('/auth/login', { username: 'alice', password: PASSWORDS.alice, captcha: 'solution' });
      expect(res.status).toBe(200);
    });

    it('answers malformed JSON with a 400 error body and an oversized body with 413, never a 500', async () => {
      const post = (body: string) =>
        fetch(`${sample.url}/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
      const malformed = await post('{"username":');
      expect(malformed.status).toBe(400);
      expect(await malformed.json()).toEqual({ statusCode: 400, code: 'BAD_REQUEST', message: expect.any(String) });
      const huge = await post(JSON.stringify({ username: 'alice', password: 'x'.repeat(64 * 1024) }));
      expect(huge.status).toBe(413);
      expect(await huge.json()).toEqual({ statusCode: 413, code: 'PAYLOAD_TOO_LARGE', message: expect.any(String) });
    });

    it('issues a new session id on every login and kills the one the request came with (no fixation)', async () => {
      const client = sample.client();
      await client.login('alice');
      const before = client.sessionCookie!;
      const handleBefore = (await client.get('/me')).body.session.handle;
      await client.login('alice');
      expect(client.sessionCookie).not.toBe(before);
      expect((await client.get('/me')).body.session.handle).not.toBe(handleBefore);
      const stale = await sample.client().get('/me', { Cookie: before });
      expect(stale.status).toBe(401);
    });
  });

  describe('GET /me', () => {
    it('shows the user and the session times (ms since the epoch)', async () => {
      const client = sample.client();
      await client.login('alice');
      const res = await client.get('/me');
      expect(res.status).toBe(200);
      const now = sample.clock.now();
      expect(res.body).toEqual({
        user: { id: expect.any(String), username: 'alice', roles: ['user'] },
        session: {
          handle: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
          createdAt: now,
          lastSeenAt: now,
          authenticatedAt: now,
          idleExpiresAt: now + 30 * 60_000,
          absoluteExpiresAt: now + 12 * 3_600_000,
          aal: 1,
          tier: 'standard',
        },
      });
      expect(res.headers['cache-control']).toBe('no-store');
    });

    it('is 401 SESSION_REQUIRED without a cookie', async () => {
      const res = await sample.client().get('/me');
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ statusCode: 401, code: 'SESSION_REQUIRED', message: expect.any(String) });
    });

    it.each([
      ['garbage', '__Host-sid=abc'],
      ['a 43-character value of the wrong alphabet', `__Host-sid=${'*'.repeat(43)}`],
      ['a well-formed unknown token', `__Host-sid=${'A'.repeat(43)}`],
      ['an empty value', '__Host-sid='],
      ['a quoted value', '__Host-sid="abc"'],
      ['a 4 kB value', `__Host-sid=${'x'.repeat(4096)}`],
    ])('is 401, never 500, for a malformed cookie: %s', async (_what, cookie) => {
      const res = await sample.client().get('/me', { Cookie: cookie });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('SESSION_REQUIRED');
    });

    it('trusts neither of two cookies with the session name (cookie tossing)', async () => {
      const client = sample.client();
      await client.login('alice');
      const res = await sample.client().get('/me', { Cookie: `${client.sessionCookie}; ${client.sessionCookie}` });
      expect(res.status).toBe(401);
    });

    it('ignores a session id in the query string, a header or the body', async () => {
      const client = sample.client();
      await client.login('alice');
      const token = client.token!;
      const anonymous = sample.client();
      expect((await anonymous.get(`/me?sid=${token}&__Host-sid=${token}&session=${token}`)).status).toBe(401);
      expect((await anonymous.get('/me', { Authorization: `Bearer ${token}`, 'X-Session-Id': token, 'X-Sid': token })).status).toBe(401);
      expect((await anonymous.post('/auth/logout', { sid: token, '__Host-sid': token })).status).toBe(401);
      expect((await client.get('/me')).status).toBe(200);
    });
  });

  describe('POST /auth/reauth', () => {
    it('rotates the id and resets authenticatedAt and both timeouts', async () => {
      const client = sample.client();
      await client.login('alice');
      const before = (await client.get('/me')).body.session;
      const oldCookie = client.sessionCookie!;
      sample.clock.advance(10 * 60_000);
      const res = await client.post('/auth/reauth', { password: PASSWORDS.alice });
      expect(res.status).toBe(200);
      const now = sample.clock.now();
      expect(setCookieFor(res, '__Host-sid')).toMatch(COOKIE);
      expect(client.sessionCookie).not.toBe(oldCookie);
      expect(res.body.user).toMatchObject({ username: 'alice' });
      expect(res.body.session).toMatchObject({
        handle: before.handle,
        createdAt: before.createdAt,
        authenticatedAt: now,
        idleExpiresAt: now + 30 * 60_000,
        absoluteExpiresAt: now + 12 * 3_600_000,
      });
      expect(res.headers['cache-control']).toBe('no-store');
      expect((await sample.client().get('/me', { Cookie: oldCookie })).status).toBe(401);
      expect((await client.get('/me')).body.session.authenticatedAt).toBe(now);
    });

    it('is 401 INVALID_CREDENTIALS for a wrong password and leaves the session as it was', async () => {
      const client = sample.client();
      await client.login('alice');
      const cookie = client.sessionCookie;
      const res = await client.post('/auth/reauth', { password: 'wrong-password' });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('INVALID_CREDENTIALS');
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(client.sessionCookie).toBe(cookie);
      expect((await client.get('/me')).status).toBe(200);
    });

    it('needs a session', async () => {
      const res = await sample.client().post('/auth/reauth', { password: PASSWORDS.alice });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('SESSION_REQUIRED');
    });
  });

  describe('POST /auth/logout', () => {
    it('destroys the session server-side, clears the cookie and sends Clear-Site-Data', async () => {
      const client = sample.client();
      await client.login('alice');
      const cookie = client.sessionCookie!;
      const res = await client.post('/auth/logout');
      expect(res.status).toBe(204);
      expect(setCookieFor(res, '__Host-sid')).toMatch(/^__Host-sid=; Path=\/; HttpOnly; Secure; SameSite=Lax; Max-Age=0/);
      expect(res.headers['clear-site-data']).toBe('"cache", "storage"');
      expect(res.headers['cache-control']).toBe('no-store');
      // The server forgot it: replaying the old cookie does not work.
      const replay = await sample.client().get('/me', { Cookie: cookie });
      expect(replay.status).toBe(401);
    });

    it('needs a session', async () => {
      expect((await sample.client().post('/auth/logout')).status).toBe(401);
    });
  });

  describe('POST /auth/logout-all', () => {
    it("ends every session of the user and no one else's", async () => {
      const laptop = sample.client('laptop');
      const phone = sample.client('phone');
      const bob = sample.client('bob');
      await laptop.login('alice');
      await phone.login('alice');
      await bob.login('bob');
      const laptopCookie = laptop.sessionCookie!;
      const res = await laptop.post('/auth/logout-all');
      expect(res.status).toBe(204);
      expect(setCookieFor(res, '__Host-sid')).toMatch(/Max-Age=0/);
      expect((await sample.client().get('/me', { Cookie: laptopCookie })).status).toBe(401);
      expect((await phone.get('/me')).status).toBe(401);
      expect((await bob.get('/me')).status).toBe(200);
    });
  });

  describe('GET /auth/csrf', () => {
    it('gives an anonymous visitor a token bound to a pre-session nonce cookie', async () => {
      const visitor = sample.client();
      const first = await visitor.get('/auth/csrf');
      expect(first.status).toBe(200);
      expect(first.body).toEqual({ token: expect.stringMatching(/^[A-Za-z0-9_-]{64}$/) });
      expect(first.headers['cache-control']).toBe('no-store');
      expect(setCookieFor(first, '__Host-csrf')).toMatch(/^__Host-csrf=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
      // Each answer is a new token (a fresh random salt) for the same nonce: no new cookie, and both work.
      const again = await visitor.get('/auth/csrf');
      expect(again.body.token).not.toBe(first.body.token);
      expect(again.headers['set-cookie']).toBeUndefined();
      for (const token of [first.body.token, again.body.token])
        expect((await visitor.post('/auth/login', { username: 'alice', password: 'wrong' }, { 'x-csrf-token': token })).status).toBe(401);
      // Another visitor's token is refused before the password is even looked at.
      const other = (await sample.client().get('/auth/csrf')).body.token;
      expect((await visitor.post('/auth/login', { username: 'alice', password: 'wrong' }, { 'x-csrf-token': other })).status).toBe(403);
    });

    it('binds the token to the session once signed in, and it survives id rotation', async () => {
      const client = sample.client();
      const anonymous = await client.csrf();
      await client.login('alice');
      const signedIn = (await client.get('/auth/csrf')).body.token;
      expect((await client.post('/cart/items', { sku: 'tea', qty: 1 }, { 'x-csrf-token': anonymous })).status).toBe(403);
      expect((await client.post('/cart/items', { sku: 'tea', qty: 1 }, { 'x-csrf-token': signedIn })).status).toBe(200);
      sample.clock.advance(16 * 60_000); // periodic rotation is due
      const rotated = await client.post('/cart/items', { sku: 'tea', qty: 1 }, { 'x-csrf-token': signedIn });
      expect(rotated.status).toBe(200);
      expect(setCookieFor(rotated, '__Host-sid')).toBeDefined();
      expect((await client.post('/cart/items', { sku: 'tea', qty: 1 }, { 'x-csrf-token': signedIn })).status).toBe(200);
    });
  });
});

describe('sample app: COOKIE_SECURE=false (plain-HTTP development)', () => {
  let sample: SampleHarness;

  beforeAll(async () => {
    sample = await startSample({ COOKIE_SECURE: 'false' });
  });
  afterAll(() => sample.close());

  it('names the cookie `sid` (a __Host- cookie must be Secure) and drops Secure', async () => {
    const client: SampleClient = sample.client();
    const res = await client.login('alice');
    expect(setCookieFor(res, 'sid')).toMatch(/^sid=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/);
    expect((await client.get('/me')).status).toBe(200);
    expect(res.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
  });
});

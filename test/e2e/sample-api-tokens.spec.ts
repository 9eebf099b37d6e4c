/**
 * The sample's API tokens (SAMPLE-APP.md: /api/auth/token, /refresh, /revoke, /token-exchange, GET /api/me, the JWKS)
 * on every token backend the sample has: each route and refusal path, and the account flows that end a user's
 * tokens (TE-03 logout everywhere, TE-05 password change, TE-06 disable, TE-07 admin revoke). The backend list grows
 * as token stores land (add an entry with the env that selects it).
 */
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { decodeJwt, SignJWT } from 'jose';
import request from 'supertest';
import { ApiTokenService } from '../../lib';
import { SampleEnv } from '../../sample/src/config';
import { SAMPLE_TOKEN_AUDIENCE, SAMPLE_TOKEN_ISSUER } from '../../sample/src/tokens/api-tokens.module';
import { BRUTE_FORCE_OFF, NO_CSRF, PASSWORDS, SampleHarness, setCookieFor, startSample, totpCode } from './sample-helpers';

/** The token store follows the session store (sample/src/session/session-backend.ts): memory, Redis, SQL. */
const BACKENDS: { name: string; env: SampleEnv }[] = [
  { name: 'memory', env: { SESSION_STORE: 'memory' } },
  { name: 'redis', env: { SESSION_STORE: 'redis', REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' } },
  { name: 'postgres', env: { SESSION_STORE: 'postgres', SESSION_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test' } },
];

interface Pair {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  token_type: string;
}

describe.each(BACKENDS)('sample API tokens on $name', ({ env }) => {
  let sample: SampleHarness;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    sample = await startSample(env);
    http = request(sample.url);
  });
  afterAll(() => sample?.close());

  const token = async (username: keyof typeof PASSWORDS, extra: Record<string, string> = {}): Promise<Pair> => {
    const res = await http.post('/api/auth/token').send({ username, password: PASSWORDS[username], ...extra });
    if (res.status !== 200) throw new Error(`token for ${username}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const me = (access: string, cookie?: string) => {
    const req = http.get('/api/me').set('Authorization', `Bearer ${access}`);
    return cookie ? req.set('Cookie', cookie) : req;
  };
  const refresh = (refresh_token: string) => http.post('/api/auth/refresh').send({ refresh_token });
  /** Moves past the millisecond of a user-wide cut-off (a token issued in it is refused, fail safe). */
  const tick = () => sample.clock.advance(1);

  describe('POST /api/auth/token and GET /api/me', () => {
    it('answers a token pair with Cache-Control: no-store, and /api/me answers { user } for it', async () => {
      const res = await http.post('/api/auth/token').send({ username: 'alice', password: PASSWORDS.alice });
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 600,
        refresh_token: expect.stringMatching(/^nsk_rt_/),
      });
      const claims = decodeJwt(res.body.access_token);
      expect(claims).toMatchObject({ iss: SAMPLE_TOKEN_ISSUER, aud: SAMPLE_TOKEN_AUDIENCE, roles: ['user'], aal: 1 });
      const answer = await me(res.body.access_token);
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ user: { id: claims.sub, username: 'alice', roles: ['user'] } });
    });

    it('refuses a wrong password (401 INVALID_CREDENTIALS) and bad input (400), and needs otp for an account with TOTP', async () => {
      const wrong = await http.post('/api/auth/token').send({ username: 'alice', password: 'nope' });
      expect([wrong.status, wrong.body.code]).toEqual([401, 'INVALID_CREDENTIALS']);
      expect((await http.post('/api/auth/token').send({ username: 'alice' })).status).toBe(400);
      expect((await http.post('/api/auth/token').send({ username: ['alice'], password: 1 })).status).toBe(400);
      const noOtp = await http.post('/api/auth/token').send({ username: 'carol', password: PASSWORDS.carol });
      expect([noOtp.status, noOtp.body.code]).toEqual([401, 'MFA_REQUIRED']);
      const badOtp = await http.post('/api/auth/token').send({ username: 'carol', password: PASSWORDS.carol, otp: '000000' });
      expect([badOtp.status, badOtp.body.code]).toEqual([401, 'INVALID_MFA_CODE']);
      sample.clock.advance(30_000);
      const pair = await token('carol', { otp: totpCode(sample.clock.now()) });
      expect(decodeJwt(pair.access_token).aal).toBe(2);
    });

    it('serves the JWKS: public keys only, cacheable for a short while', async () => {
      const res = await http.get('/.well-known/jwks.json');
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toMatch(/max-age=\d+/);
      expect(res.body.keys.length).toBeGreaterThanOrEqual(2);
      for (const key of res.body.keys) {
        expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: expect.any(String), x: expect.any(String) });
        expect(key).not.toHaveProperty('d');
      }
    });

    it('refuses expired, wrong aud, alg none, HS/RS confusion, unknown kid: each 401 INVALID_TOKEN', async () => {
      const keys = sample.app.get(ApiTokenService).keys;
      const key = keys.current;
      const pair = await token('alice');
      const good = decodeJwt(pair.access_token);
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const hsInput = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: key.kid })}.${b64(good)}`;
      const sign = (over: object, kid = key.kid, signer = key.privateKey) =>
        new SignJWT({ ...good, ...over }).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid }).sign(signer);
      const forged: Array<[string, string]> = [
        ['wrong aud', await sign({ aud: 'urn:other' })],
        ['alg none', `${b64({ alg: 'none', typ: 'at+jwt', kid: key.kid })}.${b64(good)}.`],
        [
          'HS256 with the public key',
          `${hsInput}.${createHmac('sha256', JSON.stringify(key.publicJwk)).update(hsInput).digest('base64url')}`,
        ],
        ['unknown kid', await sign({}, 'unknown-kid', generateKeyPairSync('ed25519').privateKey)],
      ];
      for (const [name, forgedToken] of forged) {
        const res = await me(forgedToken);
        expect({ name, status: res.status, code: res.body.code }).toEqual({ name, status: 401, code: 'INVALID_TOKEN' });
      }
      expect((await me(pair.access_token)).status).toBe(200);
      sample.clock.advance(600_000);
      const expired = await me(pair.access_token);
      expect([expired.status, expired.body.code]).toEqual([401, 'INVALID_TOKEN']);
    });

    it('is not cookie-authenticated: a signed-in browser without a bearer token gets 401', async () => {
      const browser = sample.client();
      await browser.login('alice');
      const res = await browser.get('/api/me');
      expect([res.status, res.body.code]).toEqual([401, 'INVALID_TOKEN']);
    });
  });

  describe('POST /api/auth/refresh and /api/auth/revoke', () => {
    it('rotates: a new pair, the used token dies, its reuse revokes the family (401 REFRESH_TOKEN_REUSED)', async () => {
      const first = await token('alice');
      const second = await refresh(first.refresh_token);
      expect(second.status).toBe(200);
      expect(second.headers['cache-control']).toBe('no-store');
      expect(second.body.refresh_token).not.toBe(first.refresh_token);
      sample.clock.advance(11_000);
      const reuse = await refresh(first.refresh_token);
      expect([reuse.status, reuse.body.code]).toEqual([401, 'REFRESH_TOKEN_REUSED']);
      expect((await refresh(second.body.refresh_token)).body.code).toBe('INVALID_REFRESH_TOKEN');
      expect(await sample.lastAuditEvent({ type: 'authn_token_reuse' })).toMatchObject({ level: 'CRITICAL', outcome: 'failure' });
    });

    it('20 parallel refreshes with one token: all answer the same refresh token', async () => {
      const first = await token('alice');
      const answers = await Promise.all(Array.from({ length: 20 }, () => refresh(first.refresh_token)));
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
      expect(new Set(answers.map((a) => a.body.refresh_token)).size).toBe(1);
      expect((await refresh(answers[0].body.refresh_token)).status).toBe(200);
    });

    it('revokes a refresh token, an access token (by jti), and answers 200 for unknown tokens', async () => {
      const pair = await token('alice');
      const revoke = (t: string) => http.post('/api/auth/revoke').send({ token: t });
      const answer = await revoke(pair.access_token);
      expect(answer.status).toBe(200);
      expect(answer.headers['cache-control']).toBe('no-store');
      expect((await me(pair.access_token)).body.code).toBe('INVALID_TOKEN');
      expect((await revoke(pair.refresh_token)).status).toBe(200);
      expect((await refresh(pair.refresh_token)).body.code).toBe('INVALID_REFRESH_TOKEN');
      expect((await revoke('never-issued')).status).toBe(200);
      expect((await http.post('/api/auth/revoke').send({})).status).toBe(400);
    });

    it('refuses a malformed refresh token with 401 and a missing one with 400', async () => {
      expect((await refresh('nsk_rt_nope')).body.code).toBe('INVALID_REFRESH_TOKEN');
      expect((await http.post('/api/auth/refresh').send({})).status).toBe(400);
    });
  });

  describe('POST /api/auth/token-exchange', () => {
    it('needs a session and a CSRF token; the token names the session and needs its fingerprint cookie (TK-09)', async () => {
      expect((await http.post('/api/auth/token-exchange')).status).toBe(401);
      const browser = sample.client();
      await browser.login('alice');
      const noCsrf = await browser.post('/api/auth/token-exchange', undefined, NO_CSRF);
      expect([noCsrf.status, noCsrf.body.code]).toEqual([403, 'CSRF_REJECTED']);
      const res = await browser.post('/api/auth/token-exchange');
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 600 });
      const sessions = await browser.get('/sessions');
      const current = sessions.body.find((s: { current: boolean }) => s.current);
      expect(decodeJwt(res.body.access_token).sid).toBe(current.handle);
      const fingerprint = setCookieFor(res, '__Host-nsk_atfp')!;
      expect(fingerprint).toMatch(/HttpOnly/);
      expect(fingerprint).toMatch(/Secure/);
      expect(fingerprint).toMatch(/SameSite=Strict/);
      expect(fingerprint).toMatch(/Max-Age=600/);
      const cookie = fingerprint.split(';')[0];
      expect((await me(res.body.access_token, cookie)).status).toBe(200);
      const stolen = await me(res.body.access_token);
      expect([stolen.status, stolen.body.code]).toEqual([401, 'INVALID_TOKEN']);
      // It dies with the session.
      await browser.post('/auth/logout');
      expect((await me(res.body.access_token, cookie)).body.code).toBe('INVALID_TOKEN');
    });
  });

  describe('ending a user\u2019s tokens', () => {
    const userIdOf = (pair: Pair) => decodeJwt(pair.access_token).sub!;

    it('TE-03: logout everywhere ends refresh families and access tokens; a token issued after it works', async () => {
      const pair = await token('alice');
      const browser = sample.client();
      await browser.login('alice');
      expect((await browser.post('/auth/logout-all')).status).toBe(204);
      expect((await me(pair.access_token)).body.code).toBe('INVALID_TOKEN');
      expect((await refresh(pair.refresh_token)).body.code).toBe('INVALID_REFRESH_TOKEN');
      tick();
      expect((await me((await token('alice')).access_token)).status).toBe(200);
    });

    it('TE-07: an admin revoke ends the user\u2019s tokens; TE-06: disabling the account does too', async () => {
      const admin = sample.client();
      await admin.login('bob');
      const pair = await token('alice');
      const id = userIdOf(pair);
      expect((await admin.post(`/admin/users/${id}/sessions/revoke`)).status).toBe(200);
      expect((await me(pair.access_token)).body.code).toBe('INVALID_TOKEN');
      expect((await refresh(pair.refresh_token)).body.code).toBe('INVALID_REFRESH_TOKEN');
      tick();
      const again = await token('alice');
      expect((await admin.post(`/admin/users/${id}/disable`)).status).toBe(200);
      expect((await me(again.access_token)).body.code).toBe('INVALID_TOKEN');
      expect((await refresh(again.refresh_token)).body.code).toBe('INVALID_REFRESH_TOKEN');
      const refused = await http.post('/api/auth/token').send({ username: 'alice', password: PASSWORDS.alice });
      expect([refused.status, refused.body.code]).toEqual([401, 'INVALID_CREDENTIALS']);
      expect((await admin.post(`/admin/users/${id}/enable`)).status).toBe(200);
    });

    // Last: it leaves alice with another password.
    it('TE-05: a password change ends them, with or without signing out the other sessions', async () => {
      let password: string = PASSWORDS.alice;
      for (const signOutOthers of [false, true]) {
        const got = await http.post('/api/auth/token').send({ username: 'alice', password });
        expect(got.status).toBe(200);
        const pair: Pair = got.body;
        const browser = sample.client();
        expect((await browser.post('/auth/login', { username: 'alice', password })).status).toBe(200);
        const next = `Tr0ub4dor-${signOutOthers ? 'two' : 'one'}-horse-staple`;
        const res = await browser.post('/account/password', { currentPassword: password, newPassword: next, signOutOthers });
        expect(res.status).toBe(204);
        password = next;
        expect((await me(pair.access_token)).body.code).toBe('INVALID_TOKEN');
        expect((await refresh(pair.refresh_token)).body.code).toBe('INVALID_REFRESH_TOKEN');
        tick();
      }
    });
  });
});

describe('sample API tokens and the brute-force defence', () => {
  let sample: SampleHarness;
  beforeAll(async () => {
    sample = await startSample({ ...BRUTE_FORCE_OFF, CAPTCHA_AFTER_FAILURES: '2' });
  });
  afterAll(() => sample?.close());

  it('counts failed token requests like failed logins (the same counters): then a CAPTCHA is due on both', async () => {
    const http = request(sample.url);
    for (let i = 0; i < 2; i++) {
      expect((await http.post('/api/auth/token').send({ username: 'alice', password: 'wrong' })).status).toBe(401);
    }
    const api = await http.post('/api/auth/token').send({ username: 'alice', password: PASSWORDS.alice });
    expect([api.status, api.body.code]).toEqual([401, 'CAPTCHA_REQUIRED']);
    const login = await sample.client().post('/auth/login', { username: 'alice', password: PASSWORDS.alice });
    expect([login.status, login.body.code]).toEqual([401, 'CAPTCHA_REQUIRED']);
  });
});

/**
 * OIDC login and back-channel logout of the sample app, end to end against a real OpenID Provider (oidc-provider,
 * in this process on 127.0.0.1, with a test client and known keys): CR-05, CR-06, TE-08, RA-06, AV-07.
 */
import request from 'supertest';
import { BackchannelLogoutTarget, OidcService } from '../../lib/oidc';
import { flowKeyOf, openFlow, sealFlow } from '../../lib/oidc/oidc-flow';
import { freePort, makeSigningKey, OpBrowser, TestLogin, TestOpenIdProvider } from '../support/test-openid-provider';
import { SampleClient, SampleHarness, startSample } from './sample-helpers';

const CLIENT_ID = 'sample-app';
const CLIENT_SECRET = 'sample-app-secret-0123456789';
const FLOW_COOKIE = '__Host-nsk-oidc';

describe('sample OIDC login against a real OpenID Provider', () => {
  let op: TestOpenIdProvider;
  let app: SampleHarness;
  let appOrigin: string;

  beforeAll(async () => {
    const [opPort, appPort] = [await freePort(), await freePort()];
    appOrigin = `http://127.0.0.1:${appPort}`;
    op = await TestOpenIdProvider.create({
      port: opPort,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUri: `${appOrigin}/auth/oidc/callback`,
      backchannelLogoutUri: `${appOrigin}/auth/oidc/backchannel-logout`,
    });
    await op.start();
    app = await startSample(
      { PORT: String(appPort), OIDC_ISSUER: op.issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET },
      { listenOnConfiguredPort: true },
    );
  });

  afterAll(async () => {
    await app?.close();
    await op?.stop();
  });

  /** Starts a sign-in in `client`, signs `login` in at the provider, and answers the callback URL (not yet visited). */
  async function authorize(
    client: SampleClient,
    login: TestLogin,
    path = '/auth/oidc/login',
  ): Promise<{ callback: URL; browser: OpBrowser }> {
    const start = await client.get(path);
    expect(start.status).toBe(303);
    op.nextLogin(login);
    const browser = new OpBrowser(appOrigin);
    return { callback: await browser.authorize(start.headers.location), browser };
  }

  /**
   * The provider runs on the real clock and the app on its ManualClock, which stands still: brought to the real time
   * where a test compares the provider's auth_time with the app's time.
   */
  function syncClock(): void {
    app.clock.advance(Math.max(0, Date.now() - app.clock.now()));
  }

  async function signIn(login: TestLogin): Promise<{ client: SampleClient; browser: OpBrowser }> {
    syncClock();
    const client = app.client();
    const { callback, browser } = await authorize(client, login);
    const done = await client.get(callback.pathname + callback.search);
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/account');
    return { client, browser };
  }

  it('redirects to the provider with the authorization code flow, PKCE S256, state and nonce, in an encrypted HttpOnly cookie', async () => {
    const client = app.client();
    const res = await client.get('/auth/oidc/login');
    expect(res.status).toBe(303);
    const url = new URL(res.headers.location);
    expect(url.origin).toBe(op.issuer);
    expect(url.searchParams.get('response_type')).toBe('code');
    expect(url.searchParams.get('client_id')).toBe(CLIENT_ID);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const cookie = (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith(`${FLOW_COOKIE}=`))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/Secure/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Path=\//);
    // Encrypted: neither the state nor the verifier can be read from it.
    expect(cookie).not.toContain(url.searchParams.get('state')!);
    expect(res.headers['cache-control']).toContain('no-store');
  });

  it('signs a provider user in with a new session, keyed by (issuer, subject), authenticatedAt = auth_time', async () => {
    const { client } = await signIn({ subject: 'op-user-1', email: 'dana@example.com', preferredUsername: 'Dana', authAgeSeconds: 60 });
    const me = await client.get('/me');
    expect(me.status).toBe(200);
    expect(me.body.user.username).toMatch(/^dana~[0-9a-f]{12}$/);
    expect(me.body.user.roles).toEqual(['user']);
    // auth_time is in whole seconds, a minute before the callback: the session keeps the provider's time.
    const authenticatedAt = me.body.session.authenticatedAt as number;
    expect(authenticatedAt % 1000).toBe(0);
    expect(app.clock.now() - authenticatedAt).toBeGreaterThanOrEqual(59_000);
    expect(app.clock.now() - authenticatedAt).toBeLessThan(70_000);
    const event = await app.lastAuditEvent({ type: 'authn_login_success', userId: me.body.user.id });
    expect(event.reason).toBe('oidc');

    // The same subject again: the same account. The same e-mail under another subject: another account.
    const again = await signIn({ subject: 'op-user-1', email: 'dana@example.com' });
    expect((await again.client.get('/me')).body.user.id).toBe(me.body.user.id);
    const other = await signIn({ subject: 'op-user-2', email: 'dana@example.com', preferredUsername: 'Dana' });
    const otherMe = await other.client.get('/me');
    expect(otherMe.body.user.id).not.toBe(me.body.user.id);
    expect(otherMe.body.user.username).not.toBe(me.body.user.username);
  });

  it('makes a new session id on login (no fixation): the session the browser came with ends', async () => {
    const client = app.client();
    await client.login('alice');
    const before = client.token;
    const { callback } = await authorize(client, { subject: 'op-user-3' });
    await client.get(callback.pathname + callback.search);
    expect(client.token).toBeDefined();
    expect(client.token).not.toBe(before);
    const stale = new SampleClient(app.url, app.config.cookie.name);
    stale.sessionCookie = `${app.config.cookie.name}=${before}`;
    expect((await stale.get('/me')).status).toBe(401);
  });

  it('refuses a replayed callback, a forged state, a callback in another browser and a provider error, with 400/401 and a code', async () => {
    const client = app.client();
    const { callback } = await authorize(client, { subject: 'op-user-4' });
    const flowCookie = client.otherCookies.get(FLOW_COOKIE)!;
    const path = callback.pathname + callback.search;

    // Another browser (no pre-login cookie): refused.
    const elsewhere = await app.client().get(path);
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.code).toBe('OIDC_FLOW_MISSING');

    // A forged state in this browser: refused.
    const forged = new URL(callback);
    forged.searchParams.set('state', 'x'.repeat(43));
    const mismatch = await client.get(forged.pathname + forged.search);
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.code).toBe('OIDC_STATE_MISMATCH');
    expect(client.sessionCookie).toBeUndefined();

    // The real answer, with the cookie put back (the refusal cleared it): signs in once...
    client.otherCookies.set(FLOW_COOKIE, flowCookie);
    expect((await client.get(path)).status).toBe(303);
    // ...and never again, even with the same cookie.
    const replay = app.client();
    replay.otherCookies.set(FLOW_COOKIE, flowCookie);
    const replayed = await replay.get(path);
    expect(replayed.status).toBe(400);
    expect(replayed.body.code).toBe('OIDC_STATE_REUSED');
    expect(replay.sessionCookie).toBeUndefined();

    // A tampered cookie is not a flow.
    const tampered = app.client();
    tampered.otherCookies.set(FLOW_COOKIE, `${flowCookie.slice(0, -4)}AAAA`);
    expect((await tampered.get(path)).body.code).toBe('OIDC_FLOW_INVALID');

    // The provider says no (no login queued: access_denied).
    const denied = app.client();
    const start = await denied.get('/auth/oidc/login');
    const back = await new OpBrowser(appOrigin).authorize(start.headers.location);
    expect(back.searchParams.get('error')).toBe('access_denied');
    const refused = await denied.get(back.pathname + back.search);
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('OIDC_LOGIN_DENIED');
    const fail = await app.lastAuditEvent({ type: 'authn_login_fail', reason: 'oidc_login_denied' });
    expect(fail.outcome).toBe('failure');
  });

  it.each([
    ['a mismatched nonce', (flow: { nonce: string }) => void (flow.nonce = 'n'.repeat(43))],
    ['a wrong PKCE verifier', (flow: { codeVerifier: string }) => void (flow.codeVerifier = 'v'.repeat(43))],
  ])('refuses %s with 401 OIDC_TOKEN_REJECTED and no session', async (_label, change) => {
    const client = app.client();
    const { callback } = await authorize(client, { subject: 'op-user-5' });
    // The test holds the client secret, so it can re-seal the browser's flow with one value changed: exactly what
    // the callback must catch (the provider's code was issued for the real nonce and challenge).
    const key = flowKeyOf(CLIENT_SECRET);
    const pair = client.otherCookies.get(FLOW_COOKIE)!;
    const flow = (await openFlow(pair.slice(FLOW_COOKIE.length + 1), key))!;
    change(flow as never);
    client.otherCookies.set(FLOW_COOKIE, `${FLOW_COOKIE}=${await sealFlow(flow, key)}`);
    const res = await client.get(callback.pathname + callback.search);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('OIDC_TOKEN_REJECTED');
    expect(client.sessionCookie).toBeUndefined();
  });

  describe('back-channel logout', () => {
    async function sidOf(client: SampleClient): Promise<string> {
      // The provider's sid is in the session's data; the test reads it from the provider's own session via a token.
      const me = await client.get('/me');
      expect(me.status).toBe(200);
      return me.body.user.id as string;
    }

    function post(token: string | undefined, type = 'form'): request.Test {
      const req = request(app.url).post('/auth/oidc/backchannel-logout').type(type);
      return token === undefined ? req.send('') : req.send(type === 'form' ? { logout_token: token } : { logout_token: token });
    }

    it('ends the session the provider logs out through its own end_session flow (real back-channel call)', async () => {
      const { client, browser } = await signIn({ subject: 'op-user-6' });
      const password = app.client();
      await password.login('alice');
      expect((await client.get('/me')).status).toBe(200);
      await browser.endSession(op.issuer, CLIENT_ID);
      // The provider awaited our 200 before finishing its logout page.
      expect((await client.get('/me')).status).toBe(401);
      expect((await password.get('/me')).status).toBe(200);
    });

    it('ends every session of the subject from this issuer for a token with only sub; 200 with no-store; a replay is 400', async () => {
      const first = await signIn({ subject: 'op-user-7' });
      const second = await signIn({ subject: 'op-user-7' });
      const bystander = await signIn({ subject: 'op-user-8' });
      const userId = await sidOf(first.client);
      const token = await op.logoutToken({ sub: 'op-user-7' });
      const res = await post(token);
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toContain('no-store');
      expect((await first.client.get('/me')).status).toBe(401);
      expect((await second.client.get('/me')).status).toBe(401);
      expect((await bystander.client.get('/me')).status).toBe(200);
      const logged = await app.lastAuditEvent({ type: 'session_logout', userId });
      expect(logged.reason).toBe('oidc_backchannel_logout');

      // A new session of the same user, then the same token again: refused, and the new session lives.
      const third = await signIn({ subject: 'op-user-7' });
      const replay = await post(token);
      expect(replay.status).toBe(400);
      expect(replay.headers['cache-control']).toContain('no-store');
      expect((await third.client.get('/me')).status).toBe(200);
      expect((await app.lastAuditEvent({ type: 'oidc_logout_token_rejected' })).reason).toBe('jti_replayed');
    });

    it('ends the API tokens of the sessions it ends: an access token exchanged from the session is refused next', async () => {
      const { client } = await signIn({ subject: 'op-user-20' });
      const exchanged = await client.post('/api/auth/token-exchange');
      expect(exchanged.status).toBe(200);
      const fingerprint = String(exchanged.headers['set-cookie'] ?? '')
        .split(/,(?=\s*__Host-)/)
        .find((c) => c.trim().startsWith('__Host-nsk_atfp='))!
        .split(';')[0]
        .trim();
      const apiMe = () =>
        request(app.url).get('/api/me').set('Authorization', `Bearer ${exchanged.body.access_token}`).set('Cookie', fingerprint);
      expect((await apiMe()).status).toBe(200);

      expect((await post(await op.logoutToken({ sub: 'op-user-20' }))).status).toBe(200);
      const refused = await apiMe();
      expect([refused.status, refused.body.code]).toEqual([401, 'INVALID_TOKEN']);
    });

    it('awaits onBackchannelLogout with what ended before answering 200; a throw there answers 503', async () => {
      const oidc = app.app.get(OidcService, { strict: false });
      const options = oidc.options as { onBackchannelLogout?: (target: BackchannelLogoutTarget) => Promise<void> };
      const targets: BackchannelLogoutTarget[] = [];
      let finished = false;
      options.onBackchannelLogout = async (target) => {
        targets.push(target);
        await new Promise((resolve) => setTimeout(resolve, 50));
        finished = true;
      };
      try {
        const { client } = await signIn({ subject: 'op-user-14' });
        const me = (await client.get('/me')).body;
        expect((await post(await op.logoutToken({ sub: 'op-user-14' }))).status).toBe(200);
        expect(finished).toBe(true);
        expect(targets).toEqual([{ issuer: op.issuer, subject: 'op-user-14', userIds: [me.user.id], sessionHandles: [me.session.handle] }]);

        options.onBackchannelLogout = async () => {
          throw new Error('API token store down');
        };
        const again = await signIn({ subject: 'op-user-14' });
        const failed = await post(await op.logoutToken({ sub: 'op-user-14' }));
        expect(failed.status).toBe(503);
        expect(failed.body.code).toBe('OIDC_UNAVAILABLE');
        expect((await again.client.get('/me')).status).toBe(401);
      } finally {
        delete options.onBackchannelLogout;
      }
    });

    it('refuses every bad logout token with 400 and no-store, and ends nothing', async () => {
      const { client } = await signIn({ subject: 'op-user-9' });
      const stranger = await makeSigningKey(op.key.kid);
      const now = Math.floor(Date.now() / 1000);
      const bad: [string, Promise<string> | string][] = [
        ['signed with another key (same kid)', op.logoutToken({ sub: 'op-user-9' }, { key: stranger })],
        ['signed with an unknown kid', makeSigningKey('unknown').then((k) => op.logoutToken({ sub: 'op-user-9' }, { key: k }))],
        ['expired', op.logoutToken({ sub: 'op-user-9', iat: now - 600, exp: now - 480 })],
        ['issued too long ago', op.logoutToken({ sub: 'op-user-9', iat: now - 3600, exp: now + 60 })],
        ['living too long', op.logoutToken({ sub: 'op-user-9', exp: now + 86_400 })],
        ['typed JWT', op.logoutToken({ sub: 'op-user-9' }, { typ: 'JWT' })],
        ['untyped', op.logoutToken({ sub: 'op-user-9' }, { typ: null })],
        ['with a nonce', op.logoutToken({ sub: 'op-user-9', nonce: 'abc' })],
        ['without events', op.logoutToken({ sub: 'op-user-9' }, { omit: ['events'] })],
        ['with other events', op.logoutToken({ sub: 'op-user-9', events: { 'http://example.com/other': {} } })],
        ['for another client', op.logoutToken({ sub: 'op-user-9', aud: 'another-client' })],
        ['from another issuer', op.logoutToken({ sub: 'op-user-9', iss: 'http://127.0.0.1:1' })],
        ['without jti', op.logoutToken({ sub: 'op-user-9' }, { omit: ['jti'] })],
        ['without sub and sid', op.logoutToken({}, { omit: ['sub'] })],
        [
          'alg none',
          unsigned({
            iss: op.issuer,
            aud: CLIENT_ID,
            sub: 'op-user-9',
            iat: now,
            exp: now + 60,
            jti: 'x',
            events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
          }),
        ],
        ['not a JWT', 'not-a-token'],
      ];
      for (const [label, token] of bad) {
        const res = await post(await token);
        expect({ label, status: res.status, code: res.body.code }).toEqual({ label, status: 400, code: 'LOGOUT_TOKEN_REJECTED' });
        expect(res.headers['cache-control']).toContain('no-store');
      }
      const missing = await post(undefined);
      expect(missing.status).toBe(400);
      expect((await client.get('/me')).status).toBe(200);
    });
  });

  describe('re-authentication at the provider (RA-06)', () => {
    it('answers REAUTH_REQUIRED pointing at the OIDC route; after prompt=login the session carries the new auth_time', async () => {
      const { client } = await signIn({ subject: 'op-user-10', authAgeSeconds: 600 });
      const before = await client.get('/me');
      // auth_time has whole seconds, taken by the provider just after the app's clock was synced: up to 1 s less.
      expect(app.clock.now() - before.body.session.authenticatedAt).toBeGreaterThanOrEqual(599_000);
      const refused = await client.post('/auth/logout-all');
      expect(refused.status).toBe(401);
      expect(refused.body.code).toBe('REAUTH_REQUIRED');
      expect(refused.body.reauth).toMatchObject({ path: '/auth/oidc/login?reauth=1', method: 'GET', reason: 'stale' });

      syncClock();
      const { callback } = await authorize(client, { subject: 'op-user-10', authAgeSeconds: 2 }, refused.body.reauth.path);
      syncClock();
      const done = await client.get(callback.pathname + callback.search);
      expect(done.status).toBe(303);
      const after = await client.get('/me');
      expect(after.body.user.id).toBe(before.body.user.id);
      expect(after.body.session.handle).toBe(before.body.session.handle);
      const authenticatedAt = after.body.session.authenticatedAt as number;
      expect(authenticatedAt % 1000).toBe(0);
      expect(app.clock.now() - authenticatedAt).toBeGreaterThanOrEqual(1_000);
      expect(app.clock.now() - authenticatedAt).toBeLessThan(10_000);
      expect((await client.post('/auth/logout-all')).status).toBe(204);
    });

    it('asks the provider for a new login (prompt=login, max_age=0)', async () => {
      const { client } = await signIn({ subject: 'op-user-11' });
      const res = await client.get('/auth/oidc/login?reauth=1');
      expect(res.status).toBe(303);
      const url = new URL(res.headers.location);
      expect(url.searchParams.get('prompt')).toBe('login');
      expect(url.searchParams.get('max_age')).toBe('0');
    });

    it('refuses a re-authentication by another provider user, or one the provider did not make fresh', async () => {
      const { client } = await signIn({ subject: 'op-user-12', authAgeSeconds: 600 });
      const other = await authorize(client, { subject: 'op-user-13' }, '/auth/oidc/login?reauth=1');
      const res = await client.get(other.callback.pathname + other.callback.search);
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('OIDC_REAUTH_REJECTED');
      const stale = await authorize(client, { subject: 'op-user-12', authAgeSeconds: 600 }, '/auth/oidc/login?reauth=1');
      const staleRes = await client.get(stale.callback.pathname + stale.callback.search);
      expect(staleRes.status).toBe(401);
      expect(['OIDC_REAUTH_REJECTED', 'OIDC_TOKEN_REJECTED']).toContain(staleRes.body.code);
      expect((await client.post('/auth/logout-all')).body.code).toBe('REAUTH_REQUIRED');
    });

    it('gives aal 2 to a multi-factor login (amr mfa), and accepts its re-authentication only at that level', async () => {
      const { client } = await signIn({ subject: 'op-user-15', amr: ['pwd', 'mfa'], authAgeSeconds: 600 });
      expect((await client.get('/me')).body.session.aal).toBe(2);
      syncClock();
      const weak = await authorize(client, { subject: 'op-user-15', amr: ['pwd'] }, '/auth/oidc/login?reauth=1');
      const refused = await client.get(weak.callback.pathname + weak.callback.search);
      expect(refused.status).toBe(401);
      expect(refused.body.code).toBe('OIDC_REAUTH_REJECTED');
      const strong = await authorize(client, { subject: 'op-user-15', amr: ['pwd', 'mfa'] }, '/auth/oidc/login?reauth=1');
      syncClock();
      expect((await client.get(strong.callback.pathname + strong.callback.search)).status).toBe(303);
      const me = (await client.get('/me')).body;
      expect(me.session.aal).toBe(2);
      expect((await client.post('/auth/logout-all')).status).toBe(204);
    });

    it('keeps the password re-authentication for a password session', async () => {
      const client = app.client();
      await client.login('alice');
      app.clock.advance(10 * 60_000);
      const res = await client.post('/auth/logout-all');
      expect(res.body.reauth).toMatchObject({ path: '/auth/reauth', method: 'POST' });
      expect((await client.get('/auth/oidc/login?reauth=1')).body.code).toBe('OIDC_REAUTH_NOT_APPLICABLE');
    });
  });

  it('shows a "Sign in with" link on /login', async () => {
    const page = await request(app.url).get('/login').set('Accept', 'text/html');
    expect(page.status).toBe(200);
    expect(page.text).toContain(`href="/auth/oidc/login"`);
    expect(page.text).toContain(`Sign in with ${new URL(op.issuer).host}`);
  });
});

describe('sample OIDC: provider outage (AV-07) and OIDC unset', () => {
  it('starts while the provider is down, answers 503 OIDC_UNAVAILABLE, and recovers by itself', async () => {
    const [opPort, appPort] = [await freePort(), await freePort()];
    const appOrigin = `http://127.0.0.1:${appPort}`;
    const op = await TestOpenIdProvider.create({
      port: opPort,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUri: `${appOrigin}/auth/oidc/callback`,
      backchannelLogoutUri: `${appOrigin}/auth/oidc/backchannel-logout`,
    });
    const app = await startSample(
      { PORT: String(appPort), OIDC_ISSUER: op.issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET },
      { listenOnConfiguredPort: true },
    );
    try {
      const client = app.client();
      const down = await client.get('/auth/oidc/login');
      expect(down.status).toBe(503);
      expect(down.body.code).toBe('OIDC_UNAVAILABLE');
      const logout = await request(app.url).post('/auth/oidc/backchannel-logout').type('form').send({ logout_token: 'x' });
      expect(logout.status).toBe(503);
      // Password sign-in is unaffected.
      await app.client().login('alice');

      await op.start();
      app.clock.advance(2_000); // past the retry interval
      const up = await client.get('/auth/oidc/login');
      expect(up.status).toBe(303);
      op.nextLogin({ subject: 'op-user-20' });
      const callback = await new OpBrowser(appOrigin).authorize(up.headers.location);

      // Down between the redirect and the callback: the code exchange answers 503, not 500.
      await op.stop();
      const path = callback.pathname + callback.search;
      const failed = await client.get(path);
      expect(failed.status).toBe(503);
      expect(failed.body.code).toBe('OIDC_UNAVAILABLE');

      await op.start();
      const later = app.client();
      const again = await later.get('/auth/oidc/login');
      expect(again.status).toBe(303);
      op.nextLogin({ subject: 'op-user-20' });
      const back = await new OpBrowser(appOrigin).authorize(again.headers.location);
      expect((await later.get(back.pathname + back.search)).status).toBe(303);
      expect((await later.get('/me')).status).toBe(200);
    } finally {
      await app.close();
      await op.stop();
    }
  });

  it('answers 404 on every OIDC route when OIDC_ISSUER is unset, and shows no link', async () => {
    const app = await startSample();
    try {
      expect((await request(app.url).get('/auth/oidc/login')).status).toBe(404);
      expect((await request(app.url).get('/auth/oidc/callback?code=x&state=y')).status).toBe(404);
      expect((await request(app.url).post('/auth/oidc/backchannel-logout').type('form').send({ logout_token: 'x' })).status).toBe(404);
      expect((await request(app.url).get('/login').set('Accept', 'text/html')).text).not.toContain('/auth/oidc/login');
    } finally {
      await app.close();
    }
  });
});

/** An `alg: none` JWT. */
function unsigned(payload: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'logout+jwt' })}.${part(payload)}.`;
}

/**
 * The sample's CSRF defences over HTTP, as an outside client meets them: every unsafe route of the contract is
 * refused without the token (403 CSRF_REJECTED) and does nothing; the login needs the pre-login token; foreign
 * origins and Sec-Fetch-Site cross-site are refused even with a token; CORS-simple bodies get 415; no CORS headers
 * for anyone; refusals are in the security log as `malicious_csrf`; the answers are not cacheable.
 */
import request from 'supertest';
import { NO_CSRF, SampleClient, SampleHarness, settle, startSample } from './sample-helpers';

let sample: SampleHarness;
beforeAll(async () => {
  sample = await startSample();
});
afterAll(() => sample.close());

/** Every unsafe route of the contract (and the passkey routes), with a body that would pass validation where it matters. */
const UNSAFE_ROUTES: ['post' | 'put' | 'delete', string, object?][] = [
  ['post', '/auth/mfa', { code: '123456' }],
  ['post', '/auth/reauth', { password: 'bob-correct-horse-1' }],
  ['post', '/auth/logout'],
  ['post', '/auth/logout-all'],
  ['delete', '/sessions/some-handle'],
  ['post', '/cart/items', { sku: 'FORGED', qty: 1 }],
  ['delete', '/cart/items/FORGED'],
  ['put', '/wizard/steps/1', { name: 'Forged' }],
  ['put', '/preferences', { theme: 'dark', language: 'de' }],
  ['post', '/account/password', { currentPassword: 'bob-correct-horse-1', newPassword: 'forged-password-123', signOutOthers: true }],
  ['post', '/account/mfa/totp'],
  ['post', '/account/mfa/totp/confirm', { code: '123456' }],
  ['delete', '/account/mfa/totp'],
  ['post', '/account/mfa/passkeys/options'],
  ['put', '/admin/users/1/roles', { roles: ['admin'] }],
  ['post', '/admin/users/1/sessions/revoke'],
  ['post', '/admin/users/1/disable'],
  ['post', '/admin/users/1/impersonate'],
  ['post', '/auth/impersonation/stop'],
];

describe('sample app: CSRF', () => {
  it('refuses every unsafe route without the token (403 CSRF_REJECTED, not cacheable), and nothing happens', async () => {
    const bob = sample.client();
    await bob.login('bob');
    const before = await bob.get('/me');
    for (const [method, path, body] of UNSAFE_ROUTES) {
      const res = method === 'delete' ? await bob.delete(path, NO_CSRF, body) : await bob[method](path, body, NO_CSRF);
      expect([method, path, res.status, res.body.code]).toEqual([method, path, 403, 'CSRF_REJECTED']);
      expect(res.body).toEqual({ statusCode: 403, code: 'CSRF_REJECTED', message: expect.any(String) });
      expect(res.headers['cache-control']).toBe('no-store');
    }
    // Still signed in, same session, nothing in the cart, preferences untouched.
    const after = await bob.get('/me');
    expect(after.status).toBe(200);
    expect(after.body.session.handle).toBe(before.body.session.handle);
    expect((await bob.get('/cart')).body.items ?? []).toEqual([]);
    expect((await bob.get('/preferences')).body).not.toMatchObject({ language: 'de' });
  });

  it('protects the login itself: no session without the pre-login token of this browser (login CSRF)', async () => {
    const victim = sample.client();
    const attacker = sample.client();
    const noToken = await victim.post('/auth/login', { username: 'alice', password: 'alice-correct-horse-1' }, NO_CSRF);
    expect(noToken.status).toBe(403);
    const foreign = await victim.post(
      '/auth/login',
      { username: 'alice', password: 'alice-correct-horse-1' },
      { 'x-csrf-token': await attacker.csrf() },
    );
    expect(foreign.status).toBe(403);
    expect(victim.sessionCookie).toBeUndefined();
    await victim.login('alice');
    expect((await victim.get('/me')).status).toBe(200);
  });

  it('refuses a foreign Origin and Sec-Fetch-Site cross-site even with a valid token, and admits its own origin', async () => {
    const alice = sample.client();
    await alice.login('alice');
    const item = { sku: 'ORIGIN', qty: 1 };
    const token = { 'x-csrf-token': await alice.csrf() };
    expect((await alice.post('/cart/items', item, { ...token, Origin: 'https://evil.example' })).status).toBe(403);
    expect((await alice.post('/cart/items', item, { ...token, Origin: 'null' })).status).toBe(403);
    expect((await alice.post('/cart/items', item, { ...token, 'Sec-Fetch-Site': 'cross-site' })).status).toBe(403);
    expect((await alice.post('/cart/items', item, { 'Sec-Fetch-Site': 'same-site', Origin: 'http://sub.127.0.0.1.example' })).status).toBe(
      403,
    );
    expect((await alice.post('/cart/items', item, { ...token, Origin: sample.url, 'Sec-Fetch-Site': 'same-origin' })).status).toBe(200);
    // Without Origin (curl, an old browser), the token decides.
    expect((await alice.post('/cart/items', item)).status).toBe(200);
  });

  it('renews the token at a role change made by an admin: the old one is refused, a new one works', async () => {
    const carol = sample.client();
    sample.clock.advance(30_000); // carol's TOTP: a fresh step
    await carol.login('carol');
    const before = await carol.csrf();
    const bob = sample.client();
    await bob.login('bob');
    const carolId = (await bob.get('/admin/users')).body.find((u: { username: string }) => u.username === 'carol').id;
    try {
      expect((await bob.put(`/admin/users/${carolId}/roles`, { roles: ['user', 'admin'] })).status).toBe(200);
      const stale = await carol.post('/cart/items', { sku: 'ROLE', qty: 1 }, { 'x-csrf-token': before });
      expect([stale.status, stale.body.code]).toEqual([403, 'CSRF_REJECTED']);
      carol.forgetCsrf();
      expect((await carol.post('/cart/items', { sku: 'ROLE', qty: 1 })).status).toBe(200);
    } finally {
      await bob.put(`/admin/users/${carolId}/roles`, { roles: ['user'] });
    }
  });

  it('refuses CORS-simple body types on the JSON routes with 415, even with a valid token', async () => {
    const alice = sample.client();
    await alice.login('alice');
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const res = await alice.post('/cart/items', undefined, { 'Content-Type': type });
      expect([type, res.status, res.body.code]).toEqual([type, 415, 'UNSUPPORTED_MEDIA_TYPE']);
    }
    expect((await alice.get('/cart')).body.items ?? []).toEqual([]);
  });

  it('sends no CORS headers to a foreign origin: credentialed cross-origin reads stay impossible', async () => {
    const alice: SampleClient = sample.client();
    await alice.login('alice');
    const read = await alice.get('/me', { Origin: 'https://evil.example' });
    expect(read.status).toBe(200);
    // The preflight a page on another site would need before a JSON write with the token header.
    const preflight = await request(sample.url)
      .options('/cart/items')
      .set('Origin', 'https://evil.example')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'content-type, x-csrf-token');
    for (const res of [read, preflight]) expect(Object.keys(res.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });

  it('logs each refusal as malicious_csrf with the session, the client and the reason', async () => {
    const alice = sample.client('csrf-log-agent');
    await alice.login('alice');
    // Explicit tokens: the client's own retry with a fresh token would log a second refusal.
    await alice.post('/cart/items', { sku: 'X', qty: 1 }, { Origin: 'https://evil.example', 'x-csrf-token': await alice.csrf() });
    await alice.post('/cart/items', { sku: 'X', qty: 1 }, { 'x-csrf-token': 'A'.repeat(64) });
    const logged = () =>
      sample
        .securityLog()
        .split('\n')
        .filter((line) => line.includes('csrf-log-agent') && line.includes('"malicious_csrf"'))
        .map((line) => JSON.parse(line));
    // The log file is written asynchronously.
    for (let waited = 0; logged().length < 2 && waited < 5000; waited += 50) await settle();
    const events = logged();
    expect(events.map((e) => e.reason)).toEqual(['origin_not_allowed', 'token_invalid']);
    expect(events[0]).toMatchObject({
      level: 'CRITICAL',
      outcome: 'failure',
      userAgent: 'csrf-log-agent',
      sessionHandle: expect.any(String),
    });
    expect(events[0].detail).toMatchObject({ method: 'POST', path: '/cart/items', origin: 'https://evil.example' });
  });

  it('puts the session token in signed-in pages, and the sign-out form works as a plain HTML form post with _csrf', async () => {
    const alice = sample.client();
    await alice.login('alice');
    const page = await alice.get('/account', { Accept: 'text/html' });
    const meta = /<meta name="csrf-token" content="([A-Za-z0-9_-]{64})">/.exec(page.text)?.[1];
    const field = /<input type="hidden" name="_csrf" value="([A-Za-z0-9_-]{64})">/.exec(page.text)?.[1];
    expect(meta).toBeDefined();
    expect(field).toBe(meta);
    expect(page.text).toContain('<form class="inline" method="post" action="/auth/logout"');
    expect((await sample.client().get('/login', { Accept: 'text/html' })).text).not.toContain('csrf-token');

    const form = { 'Content-Type': 'application/x-www-form-urlencoded', ...NO_CSRF };
    // The field is read on the form route only: a JSON route refuses the form body (415) even with a good token.
    const cart = await alice.send('post', '/cart/items', undefined, { ...form });
    expect(cart.status).toBe(403);
    const formToCart = await sample
      .client()
      .send('post', '/cart/items', undefined, { ...form, Cookie: alice.sessionCookie!, 'x-csrf-token': field! });
    expect(formToCart.status).toBe(415);

    const forged = await alice.send('post', '/auth/logout', undefined, { ...form });
    expect(forged.status).toBe(403);
    const wrong = await rawForm(alice, `_csrf=${'A'.repeat(64)}`);
    expect(wrong.status).toBe(403);
    expect((await alice.get('/me')).status).toBe(200);
    const signOut = await rawForm(alice, `_csrf=${field}`);
    expect(signOut.status).toBe(204);
    expect((await alice.get('/me')).status).toBe(401);
  });
});

/** POST /auth/logout as a browser's form submission: a form-encoded body, no CSRF header. */
function rawForm(client: SampleClient, body: string) {
  return request(sample.url)
    .post('/auth/logout')
    .set('Cookie', client.sessionCookie!)
    .set('Content-Type', 'application/x-www-form-urlencoded')
    .send(body);
}

/**
 * The server-rendered pages of the authorization features: `/admin` (admins only), the account page's password,
 * two-step verification and "confirm it is you" parts, and the impersonation banner, with every user-controlled
 * value escaped and scripts only under the response's nonce.
 */
import { DataSource } from 'typeorm';
import { User } from '../../sample/src/users/user.entity';
import { UsersService } from '../../sample/src/users/users.service';
import { SampleHarness, startSample } from './sample-helpers';

const HTML = { Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
const HOSTILE = `<img src=x onerror="alert(1)">'&`;

describe('sample app pages: admin, account security, impersonation banner', () => {
  let sample: SampleHarness;
  let hostileId: string;

  beforeAll(async () => {
    sample = await startSample();
    // An account whose username is hostile markup: every page must show it as text.
    const repo = sample.app.get(DataSource).getRepository(User);
    await repo.insert({ username: HOSTILE, passwordHash: 'x', roles: ['user'], totpSecret: null, disabled: false });
    hostileId = (await repo.findOneByOrFail({ username: HOSTILE })).id;
    await sample.app.get(UsersService).setPassword(hostileId, 'hostile-user-password-1');
  });
  afterAll(() => sample?.close());

  function scriptsCarryNonce(text: string, csp: string): void {
    const nonce = /'nonce-([^']+)'/.exec(csp)![1];
    for (const tag of text.match(/<script[^>]*>/g) ?? []) expect(tag).toContain(`nonce="${nonce}"`);
    // No event-handler attribute anywhere (an escaped one in text reads `onerror=&quot;`, not `onerror="`).
    expect(text).not.toMatch(/\son[a-z]+\s*=\s*["'a-z]/i);
  }

  it('/admin shows the users to an admin, escaped, with the actions', async () => {
    const bob = sample.client();
    await bob.login('bob');
    const res = await bob.get('/admin', HTML);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.text).toContain('<h1>Administration</h1>');
    expect(res.text).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&amp;');
    expect(res.text).not.toContain(HOSTILE);
    expect(res.text).toContain(`data-api="/admin/users/${hostileId}/impersonate"`);
    expect(res.text).toContain(`data-api="/admin/users/${hostileId}/disable"`);
    expect(res.text).toContain('<a href="/admin">Admin</a>');
    expect(res.text).toContain('id="reauth-dialog"');
    scriptsCarryNonce(res.text, res.headers['content-security-policy']);
  });

  it('/admin is a 403 page for a user (layout, nonce, escaped) and sends a visitor without a session to the login page', async () => {
    const alice = sample.client();
    await alice.login('alice');
    const refused = await alice.get('/admin', HTML);
    expect(refused.status).toBe(403);
    expect(refused.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(refused.headers['cache-control']).toBe('no-store');
    expect(refused.text).toMatch(/^<!doctype html>/);
    expect(refused.text).toContain('<h1>Not allowed</h1>');
    expect(refused.text).toContain('<code data-testid="error-code">INSUFFICIENT_ROLE</code>');
    expect(refused.text).toContain('<strong data-testid="username">alice</strong>');
    expect(refused.text).toContain('<a href="/account">Back to your account</a>');
    expect(refused.text).not.toContain('<a href="/admin">');
    scriptsCarryNonce(refused.text, refused.headers['content-security-policy']);
    expect((await alice.get('/account', HTML)).text).not.toContain('href="/admin"');

    // The JSON routes keep their JSON error, whatever the Accept header says.
    for (const headers of [{}, { Accept: 'application/json' }, HTML]) {
      const json = await alice.get('/admin/users', headers);
      expect(json.status).toBe(403);
      expect(json.headers['content-type']).toMatch(/^application\/json/);
      expect(json.body).toEqual({ statusCode: 403, code: 'INSUFFICIENT_ROLE', message: expect.any(String) });
    }
    // fetch() of the page URL (no HTML in Accept) is a page route all the same: a page, never the data.
    expect((await alice.get('/admin', { Accept: 'application/json' })).headers['content-type']).toBe('text/html; charset=utf-8');

    // Who is signed in is user-controlled text on the error page too.
    const hostile = sample.client();
    expect((await hostile.post('/auth/login', { username: HOSTILE, password: 'hostile-user-password-1' })).status).toBe(200);
    const escaped = await hostile.get('/admin', HTML);
    expect(escaped.status).toBe(403);
    expect(escaped.text).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&amp;');
    expect(escaped.text).not.toContain(HOSTILE);
    scriptsCarryNonce(escaped.text, escaped.headers['content-security-policy']);

    const visitor = await sample.client().get('/admin', HTML);
    expect(visitor.status).toBe(303);
    expect(visitor.headers.location).toBe('/login');
  });

  it('/account has the password form, the two-step verification state and the re-authentication prompt', async () => {
    const alice = sample.client();
    await alice.login('alice');
    const page = (await alice.get('/account', HTML)).text;
    expect(page).toContain('data-api="/account/password"');
    expect(page).toContain('name="signOutOthers"');
    expect(page).toContain('data-testid="totp-start"');
    expect(page).toContain('Authenticator app: <strong>off</strong>');
    expect(page).toContain('data-reauth');
    sample.clock.advance(30_000);
    const carol = sample.client();
    await carol.login('carol');
    const carolPage = (await carol.get('/account', HTML)).text;
    expect(carolPage).toContain('Authenticator app: <strong>on</strong>');
    expect(carolPage).toContain('data-testid="totp-remove"');
    expect(carolPage).toContain('AAL2');
  });

  it('keeps a pending sign-in on /login (no redirect loop) and sends it there from the other pages', async () => {
    sample.clock.advance(30_000);
    const client = sample.client();
    expect((await client.post('/auth/login', { username: 'carol', password: 'carol-correct-horse-1' })).body.mfaRequired).toBe(true);
    const login = await client.get('/login', HTML);
    expect(login.status).toBe(200);
    expect(login.text).toContain('data-mfa-form');
    const account = await client.get('/account', HTML);
    expect(account.status).toBe(303);
    expect(account.headers.location).toBe('/login');
  });

  it('allows the enrolment QR code (a data: image) and nothing else new in the CSP', async () => {
    const res = await sample.client().get('/login', HTML);
    const csp = res.headers['content-security-policy'];
    expect(csp).toContain("img-src 'self' data:");
    expect(csp).toContain("script-src 'nonce-");
    expect(csp).not.toContain('unsafe-inline');
  });

  it('shows the impersonation banner, escaped, with the way back, and no re-authentication prompt', async () => {
    const bob = sample.client();
    await bob.login('bob');
    expect((await bob.post(`/admin/users/${hostileId}/impersonate`)).status).toBe(200);
    const page = (await bob.get('/account', HTML)).text;
    expect(page).toContain('data-testid="impersonation-banner"');
    expect(page).toContain(
      'You (<strong>bob</strong>) are impersonating <strong>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&amp;</strong>',
    );
    expect(page).toContain('data-api="/auth/impersonation/stop"');
    expect(page).not.toContain(HOSTILE);
    expect(page).not.toContain('id="reauth-dialog"');
    expect((await bob.get('/sessions', HTML)).text).toContain('data-testid="impersonation-banner"');
    await bob.post('/auth/impersonation/stop');
    expect((await bob.get('/account', HTML)).text).not.toContain('impersonation-banner');
  });

  it('ships the script that turns REAUTH_REQUIRED into a prompt and retries, and shows answers only as text', async () => {
    const js = (await sample.client().get('/assets/app.js')).text;
    expect(js).toContain("payload.code === 'REAUTH_REQUIRED'");
    expect(js).toContain('return callApi(method, url, body, true)');
    expect(js).toContain('textContent = code');
    expect(js).not.toContain('innerHTML');
  });
});

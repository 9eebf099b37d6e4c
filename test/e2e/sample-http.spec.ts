/**
 * The sample app's HTTP surface: health, error format, security headers, caching, the server-rendered pages
 * (CSP nonces, escaping, redirects) and the security log.
 */
import helmet from 'helmet';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { SessionStore } from '../../lib';
import { hashToken } from '../../lib/core/token';
import { helmetOptions } from '../../sample/src/app.factory';
import { securityHeaders } from '../../sample/src/common/security-headers';
import { PASSWORDS, SampleHarness, settle, startSample } from './sample-helpers';

const HTML = { Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

describe('sample app: HTTP surface', () => {
  let sample: SampleHarness;

  beforeAll(async () => {
    sample = await startSample();
  });
  afterAll(() => sample.close());

  describe('GET /health', () => {
    it('is public and answers { status: "ok" }', async () => {
      const res = await sample.client().get('/health');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ok' });
    });

    it('answers 503 degraded when the session store does not answer', async () => {
      // The in-memory store cannot go down by itself: its ping is made to fail (the Redis outage is covered
      // with a real server by the store's own suites).
      const store = sample.app.get(SessionStore);
      const ping = jest.spyOn(store, 'ping').mockRejectedValue(new Error('connection refused'));
      try {
        const res = await sample.client().get('/health');
        expect(res.status).toBe(503);
        expect(res.body).toEqual({ status: 'degraded', checks: { sessionStore: 'down', database: 'up' } });
      } finally {
        ping.mockRestore();
      }
      expect((await sample.client().get('/health')).status).toBe(200);
    });
  });

  describe('errors', () => {
    it('answers an unknown route with 404 NOT_FOUND in the common error shape', async () => {
      const res = await sample.client().get('/no/such/route');
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ statusCode: 404, code: 'NOT_FOUND', message: expect.any(String) });
    });

    it('answers an unknown route the same with or without a session (no route is guessed from the session)', async () => {
      const client = sample.client();
      await client.login('alice');
      expect((await client.delete('/me')).status).toBe(404);
    });
  });

  describe('security headers', () => {
    it('sends CSP (with frame-ancestors none), HSTS, no-referrer, nosniff and COOP on every response', async () => {
      for (const path of ['/health', '/login', '/no/such/route']) {
        const res = await sample.client().get(path);
        const csp = res.headers['content-security-policy'];
        expect(csp).toContain("frame-ancestors 'none'");
        expect(csp).toMatch(/script-src 'nonce-[A-Za-z0-9+/=]{24}'/);
        expect(csp).toContain("default-src 'none'");
        expect(csp).toContain("script-src-attr 'none'");
        expect(csp).not.toContain('unsafe-inline');
        expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
        expect(res.headers['referrer-policy']).toBe('no-referrer');
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        expect(res.headers['cross-origin-opener-policy']).toBe('same-origin');
        expect(res.headers['x-frame-options']).toBe('DENY');
        expect(res.headers['x-powered-by']).toBeUndefined();
      }
    });

    it("sends helmet's headers exactly as helmet writes them per response, with this response's nonce in the policy", async () => {
      // The sample records helmet's output once at start-up (sample/src/common/security-headers.ts); the reference
      // here runs helmet with the same options on every response.
      const reference = createServer((req, res) => {
        (res as unknown as { locals: object }).locals = { cspNonce: 'REFERENCE' };
        res.setHeader('X-Powered-By', 'Express');
        helmet(helmetOptions(sample.config))(req, res, () => res.end());
      });
      await new Promise<void>((resolve) => reference.listen(0, '127.0.0.1', resolve));
      try {
        const expected = await fetch(`http://127.0.0.1:${(reference.address() as AddressInfo).port}/`);
        for (const path of ['/health', '/login', '/no/such/route']) {
          const res = await sample.client().get(path);
          const nonce = /'nonce-([^']+)'/.exec(res.headers['content-security-policy'])![1];
          let compared = 0;
          expected.headers.forEach((value, name) => {
            if (['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'].includes(name)) return;
            expect([name, res.headers[name]]).toEqual([
              name,
              name === 'content-security-policy' ? value.replace('REFERENCE', nonce) : value,
            ]);
            compared++;
          });
          expect(compared).toBeGreaterThanOrEqual(10);
          expect(res.headers['x-powered-by']).toBeUndefined();
        }
      } finally {
        await new Promise((resolve) => reference.close(resolve));
      }
    });

    it('refuses at start-up a policy that does not name the nonce exactly once', () => {
      expect(() => securityHeaders({ contentSecurityPolicy: { directives: { scriptSrc: ["'self'"] } } })).toThrow(
        /must name the nonce exactly once \(scriptSrc: \[cspNonceSource\]\)/,
      );
      expect(() => securityHeaders({ contentSecurityPolicy: false })).toThrow(/wrote no Content-Security-Policy/);
    });

    it('uses a fresh nonce per response', async () => {
      const nonces = new Set<string>();
      for (let i = 0; i < 5; i++)
        nonces.add(/'nonce-([^']+)'/.exec((await sample.client().get('/login')).headers['content-security-policy'])![1]);
      expect(nonces.size).toBe(5);
    });

    it('marks every response that sets or depends on the session Cache-Control: no-store', async () => {
      const client = sample.client();
      const responses = [
        await client.get('/auth/csrf'),
        await client.get('/me'),
        await client.post('/auth/login', { username: 'alice', password: 'wrong' }),
        await client.login('alice'),
        await client.get('/me'),
        await client.get('/sessions'),
        await client.get('/cart'),
        await client.get('/account', HTML),
        await client.get('/cart', HTML),
        await client.post('/auth/logout'),
        await client.get('/account', HTML),
        await client.get('/login', HTML),
      ];
      for (const res of responses) expect(res.headers['cache-control']).toBe('no-store');
    });
  });

  describe('pages', () => {
    it.each(['/account', '/sessions', '/cart', '/wizard', '/'])('redirects %s to /login (303) without a session', async (path) => {
      const res = await sample.client().get(path, HTML);
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/login');
    });

    it('serves the JSON, not a redirect, to API clients on the shared URLs', async () => {
      const anonymous = await sample.client().get('/cart', { Accept: 'application/json' });
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.code).toBe('SESSION_REQUIRED');
      const client = sample.client();
      await client.login('alice');
      for (const accept of ['application/json', '*/*']) {
        const res = await client.get('/sessions', { Accept: accept });
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expect(res.headers.vary).toMatch(/Accept/);
      }
    });

    it('serves the login page publicly, with its script loaded by nonce and no inline handlers', async () => {
      const res = await sample.client().get('/login', HTML);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      const nonce = /'nonce-([^']+)'/.exec(res.headers['content-security-policy'])![1];
      const scripts = res.text.match(/<script[^>]*>/g) ?? [];
      // Only external scripts from /assets/, each under this response's nonce (the passkey script joined app.js).
      expect(scripts).toContain(`<script src="/assets/app.js" nonce="${nonce}" defer>`);
      for (const tag of scripts) {
        expect(tag).toMatch(/^<script src="\/assets\/[a-z-]+\.js" nonce="[^"]+" defer>$/);
        expect(tag).toContain(`nonce="${nonce}"`);
      }
      expect(res.text).not.toMatch(/\son[a-z]+\s*=/i);
      expect(res.text).toContain('data-api="/auth/login"');
    });

    it('sends a signed-in visitor of /login to their account', async () => {
      const client = sample.client();
      await client.login('alice');
      const res = await client.get('/login', HTML);
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/account');
    });

    it.each([
      ['/account', 'Account'],
      ['/sessions', 'Your devices'],
      ['/cart', 'Cart'],
      ['/wizard', 'Wizard'],
    ])('renders %s for a signed-in browser, with a logout button', async (path, title) => {
      const client = sample.client();
      await client.login('alice');
      const res = await client.get(path, HTML);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.text).toContain(`<h1>${title}</h1>`);
      expect(res.text).toContain('data-api="/auth/logout"');
      expect(res.text).toMatch(/Signed in as <strong[^>]*>alice<\/strong>/);
      const nonce = /'nonce-([^']+)'/.exec(res.headers['content-security-policy'])![1];
      for (const tag of res.text.match(/<script[^>]*>/g)!) expect(tag).toContain(`nonce="${nonce}"`);
      expect(res.text).not.toMatch(/\son[a-z]+\s*=/i);
    });

    it('escapes attacker-controlled text: a user agent in the devices list, a SKU in the cart', async () => {
      const evilAgent = '<img src=x onerror="alert(1)">"\'&';
      const attacker = sample.client(evilAgent);
      await attacker.login('alice');
      const viewer = sample.client();
      await viewer.login('alice');
      await viewer.post('/cart/items', { sku: 'a-b.c_d', qty: 1 });
      const page = (await viewer.get('/sessions', HTML)).text;
      expect(page).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&quot;&#39;&amp;');
      expect(page).not.toContain('<img');
      expect((await viewer.get('/cart', HTML)).text).toContain('<td>a-b.c_d</td>');
    });

    it('reflects the saved preferences in the page', async () => {
      const client = sample.client();
      await client.login('alice');
      await client.put('/preferences', { theme: 'dark', language: 'fr' });
      const res = await client.get('/account', HTML);
      expect(res.text).toContain('<html lang="fr" data-theme="dark">');
      expect(res.text).toContain('<option value="dark" selected>dark</option>');
    });

    it('serves the script and stylesheet publicly', async () => {
      const js = await sample.client().get('/assets/app.js');
      expect(js.status).toBe(200);
      expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect(js.text).toContain("'x-csrf-token'");
      const css = await sample.client().get('/assets/app.css');
      expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    });
  });

  describe('audit trail', () => {
    it('records security events in the audit table', async () => {
      // carol: the only user no other test here signs in, so no session-limit eviction mixes in.
      const client = sample.client('audit-agent');
      await client.post('/auth/login', { username: 'carol', password: 'wrong' });
      await client.login('carol');
      await client.post('/auth/logout');
      await settle();
      const events = await sample.auditEvents({ userAgent: 'audit-agent' });
      // carol has TOTP: her pending session is created, then renewed (new id, aal 2) by the second factor.
      expect(events.map((e) => e.type)).toEqual([
        'authn_login_fail',
        'session_created',
        'session_renewed',
        'authn_login_success',
        'session_logout',
      ]);
      expect(events[0]).toMatchObject({ level: 'WARN', outcome: 'failure', reason: 'wrong_password', ip: '127.0.0.1' });
      expect(typeof events[1].time).toBe('number');
    });
  });
});

describe('sample app: security log (SECURITY_LOG file)', () => {
  it('writes one JSON object per line, with handles and never the session token or the password', async () => {
    const sample = await startSample();
    const client = sample.client();
    const tokens: string[] = [];
    try {
      await client.post('/auth/login', { username: 'alice', password: 'wrong-password-123' });
      await client.post('/auth/login', { username: 'nobody', password: 'wrong-password-456' });
      await client.login('alice');
      tokens.push(client.token!);
      await client.get('/me');
      await client.post('/auth/reauth', { password: PASSWORDS.alice });
      tokens.push(client.token!);
      await client.post('/auth/logout');
      await settle();
    } finally {
      await sample.close(); // flushes the log
    }
    const log = sample.securityLog();
    const lines = log.trimEnd().split('\n');
    const events = lines.map(
      (line) => JSON.parse(line) as { type: string; sessionHandle?: string; timestamp: string; userId?: string; reason?: string },
    );
    expect(events.map((e) => e.type)).toEqual([
      'authn_login_fail',
      'authn_login_fail',
      'session_created',
      'authn_login_success',
      'session_renewed',
      'authn_login_success',
      'session_logout',
    ]);
    expect(events[0].userId).toEqual(expect.any(String));
    expect(events[1].userId).toBeUndefined();
    expect(events[1].reason).toBe('unknown_user');
    expect(events[2].sessionHandle).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(events[0].timestamp).toBe(new Date(sample.clock.now()).toISOString());
    for (const secret of [...tokens, ...tokens.map(hashToken), PASSWORDS.alice, 'wrong-password-123', 'wrong-password-456', 'nobody']) {
      expect(log).not.toContain(secret);
    }
  });
});

describe('sample app: a failing audit sink', () => {
  it('never fails the request', async () => {
    const sample = await startSample();
    try {
      await sample.app.get(DataSource).query('DROP TABLE nsk_audit_event');
      const client = sample.client();
      const res = await client.login('alice');
      expect(res.status).toBe(200);
      expect((await client.get('/me')).status).toBe(200);
      await settle();
    } finally {
      await sample.close();
    }
  });
});

/**
 * CsrfGuard over HTTP with the real module, a real Reflector and decorated controllers: the synchronizer token
 * (missing, wrong, another session's, pre-login for the login itself), its lifetime (stable across periodic
 * rotation and its race, new at login and at every privilege change), Fetch Metadata and Origin checks with the
 * missing-Origin policy, @SkipCsrf, bearer requests, form posts and CORS-simple content types, and the
 * `malicious_csrf` event.
 */
import { Body, Controller, Delete, Get, HttpCode, INestApplication, Logger, Post, Put, Req, Res } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { Request, Response } from 'express';
import { urlencoded } from 'express';
import request from 'supertest';
import { bootPlatformApp, HttpPlatform, PLATFORMS } from '../support/session-app';
import {
  AllowPendingSession,
  CsrfFormRoute,
  CsrfGuard,
  CsrfService,
  ManualClock,
  Public,
  SecurityEvent,
  SessionAuthGuard,
  SessionModule,
  SessionModuleOptions,
  SessionService,
  SkipCsrf,
} from '../../lib';

@Controller()
class CsrfTestController {
  constructor(
    private readonly sessions: SessionService,
    private readonly csrf: CsrfService,
  ) {}

  @Public()
  @Get('csrf')
  async token(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    return { token: await this.csrf.token(req, res) };
  }

  @Public()
  @Post('login')
  @HttpCode(200)
  async login(@Req() req: Request, @Res({ passthrough: true }) res: Response, @Body() body: { user: string; pending?: boolean }) {
    const view = await this.sessions.create(req, res, { userId: body.user, stage: body.pending ? 'pending' : 'complete' });
    return { handle: view.handle };
  }

  @Post('reauth')
  @HttpCode(200)
  async reauth(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    await this.sessions.reauthenticate(req, res);
    return {};
  }

  @AllowPendingSession()
  @Post('step-up')
  @HttpCode(200)
  async stepUp(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    await this.sessions.complete(req, res, { aal: 2 });
    return {};
  }

  /** An admin's action, reached without a token on purpose (the test drives it from outside). */
  @Public()
  @SkipCsrf()
  @Post('admin/set-roles')
  @HttpCode(200)
  async setRoles(@Body() body: { user: string; roles: string[] }) {
    return { updated: await this.sessions.setRoles(body.user, body.roles) };
  }

  @Post('cart')
  @HttpCode(200)
  async add(@Req() req: Request, @Body() body: { sku: string }) {
    const view = await this.sessions.update(req, (data) => ({ ...data, cart: [...((data.cart as string[]) ?? []), body.sku] }));
    return { cart: view.data.cart };
  }

  @Put('prefs')
  @HttpCode(200)
  prefs() {
    return { ok: true };
  }

  @Delete('cart')
  @HttpCode(204)
  clear() {}

  @Get('cart')
  cart() {
    return { ok: true };
  }

  @Public()
  @SkipCsrf()
  @Post('webhook')
  @HttpCode(200)
  webhook() {
    return { received: true };
  }

  /** Stands for a bearer-token API route: the app's own bearer guard would check the token. */
  @Public()
  @Post('api/things')
  @HttpCode(200)
  apiWrite() {
    return { ok: true };
  }

  @CsrfFormRoute()
  @Post('form/logout')
  @HttpCode(200)
  formLogout() {
    return { ok: true };
  }
}

interface Harness {
  app: INestApplication;
  clock: ManualClock;
  events: SecurityEvent[];
  origin: string;
}

/** The CSRF app on `platform`, listening on a free port. Form posts: Express gets a urlencoded parser, Nest's Fastify adapter parses forms itself. */
async function boot(extra: Partial<SessionModuleOptions> = {}, platform: HttpPlatform = 'express'): Promise<Harness> {
  const clock = new ManualClock(Date.now());
  const events: SecurityEvent[] = [];
  const moduleRef = await Test.createTestingModule({
    imports: [
      SessionModule.forRoot({
        clock,
        rotationInterval: '15m',
        rotationGrace: '10s',
        eventSinks: [{ handle: (e) => void events.push(e) }],
        csrf: { secret: 'test-secret-of-at-least-32-bytes!!' },
        ...extra,
      }),
    ],
    controllers: [CsrfTestController],
    providers: [
      { provide: APP_GUARD, useClass: SessionAuthGuard },
      { provide: APP_GUARD, useExisting: CsrfGuard },
    ],
  }).compile();
  const app = await bootPlatformApp(moduleRef, platform, {
    configure: (nest) => (platform === 'express' ? void nest.use(urlencoded({ extended: false })) : undefined),
  });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address();
  return { app, clock, events, origin: `http://127.0.0.1:${port}` };
}

/** A browser-like client: keeps cookies (Secure ones too, over this plain-HTTP test connection). */
class Client {
  readonly cookies = new Map<string, string>();
  constructor(private readonly h: Harness) {}

  get sid(): string | undefined {
    return this.cookies.get('__Host-sid');
  }

  async csrf(): Promise<string> {
    const res = await this.send('get', '/csrf');
    expect(res.status).toBe(200);
    return res.body.token;
  }

  async login(user: string, pending = false): Promise<void> {
    const res = await this.send('post', '/login', { user, pending }, { 'x-csrf-token': await this.csrf() });
    expect(res.status).toBe(200);
  }

  async send(method: 'get' | 'post' | 'put' | 'delete', path: string, body?: object | string, headers: Record<string, string> = {}) {
    let req = request(this.h.app.getHttpServer())[method](path);
    if (this.cookies.size > 0) req = req.set('Cookie', [...this.cookies].map(([n, v]) => `${n}=${v}`).join('; '));
    for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
    const res = body === undefined ? await req : await req.send(body);
    for (const line of ([] as string[]).concat(res.headers['set-cookie'] ?? [])) {
      const [pair] = line.split(';');
      const name = pair.slice(0, pair.indexOf('='));
      const value = pair.slice(name.length + 1);
      if (value && !/Max-Age=0/.test(line)) this.cookies.set(name, value);
      else this.cookies.delete(name);
    }
    return res;
  }
}

describe.each(PLATFORMS)('CsrfGuard on %s', (platform) => {
  let h: Harness;
  beforeAll(async () => {
    h = await boot({}, platform);
  });
  afterAll(() => h.app.close());
  beforeEach(() => h.events.splice(0));

  const csrfEvents = () => h.events.filter((e) => e.type === 'malicious_csrf');

  describe('the synchronizer token', () => {
    it('admits an unsafe request with the token of its session, and refuses it without one (403 CSRF_REJECTED, malicious_csrf)', async () => {
      const alice = new Client(h);
      await alice.login('alice');
      const token = await alice.csrf();
      expect((await alice.send('post', '/cart', { sku: 'a' }, { 'x-csrf-token': token })).body).toEqual({ cart: ['a'] });
      expect((await alice.send('put', '/prefs', {}, { 'x-csrf-token': token })).status).toBe(200);
      expect((await alice.send('delete', '/cart', undefined, { 'x-csrf-token': token })).status).toBe(204);

      const refused = await alice.send('post', '/cart', { sku: 'b' });
      expect(refused.status).toBe(403);
      expect(refused.body).toEqual({ statusCode: 403, code: 'CSRF_REJECTED', message: expect.stringContaining('x-csrf-token') });
      const [event] = csrfEvents();
      expect(event).toMatchObject({ type: 'malicious_csrf', outcome: 'failure', reason: 'token_missing', userId: 'alice', level: 'WARN' });
      expect(event.detail).toMatchObject({ method: 'POST', path: '/cart' });
      // Safe methods are never checked.
      expect((await alice.send('get', '/cart')).status).toBe(200);
    });

    it("refuses a wrong token and another session's token, and does not run the handler", async () => {
      const alice = new Client(h);
      const mallory = new Client(h);
      await alice.login('alice');
      await mallory.login('mallory');
      const malloryToken = await mallory.csrf();
      const aliceToken = await alice.csrf();
      const wrong = aliceToken.slice(0, 10) + (aliceToken[10] === 'A' ? 'B' : 'A') + aliceToken.slice(11);
      for (const token of [malloryToken, wrong, 'x'.repeat(64)]) {
        const res = await alice.send('post', '/cart', { sku: 'forged' }, { 'x-csrf-token': token });
        expect(res.status).toBe(403);
        expect(res.body.code).toBe('CSRF_REJECTED');
      }
      expect(csrfEvents().map((e) => [e.reason, e.level])).toEqual([
        ['token_invalid', 'CRITICAL'],
        ['token_invalid', 'CRITICAL'],
        ['token_invalid', 'CRITICAL'],
      ]);
      // The handler never ran: the cart is still empty.
      expect((await alice.send('post', '/cart', { sku: 'real' }, { 'x-csrf-token': aliceToken })).body).toEqual({ cart: ['real'] });
    });

    it('protects the login itself with a token bound to the pre-login nonce cookie (login CSRF)', async () => {
      const visitor = new Client(h);
      const res = await visitor.send('get', '/csrf');
      expect(res.headers['cache-control']).toBe('no-store');
      const nonceCookie = ([] as string[]).concat(res.headers['set-cookie']).find((c) => c.startsWith('__Host-csrf='));
      expect(nonceCookie).toMatch(/^__Host-csrf=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
      // A second visit keeps the nonce: no new cookie, and both tokens stay valid.
      const again = await visitor.send('get', '/csrf');
      expect(again.headers['set-cookie']).toBeUndefined();

      // No token, another visitor's token, or a token without its nonce cookie: refused, and no session is made.
      const attacker = new Client(h);
      const attackerToken = await attacker.csrf();
      expect((await visitor.send('post', '/login', { user: 'mallory' })).status).toBe(403);
      expect((await visitor.send('post', '/login', { user: 'mallory' }, { 'x-csrf-token': attackerToken })).status).toBe(403);
      const cookieless = new Client(h);
      expect((await cookieless.send('post', '/login', { user: 'mallory' }, { 'x-csrf-token': res.body.token })).status).toBe(403);
      expect(visitor.sid).toBeUndefined();

      expect((await visitor.send('post', '/login', { user: 'alice' }, { 'x-csrf-token': res.body.token })).status).toBe(200);
      expect(visitor.sid).toBeDefined();
    });
  });

  describe('token lifetime', () => {
    it('stays valid across periodic rotation, and for a write racing the rotation with the old cookie', async () => {
      const alice = new Client(h);
      await alice.login('alice');
      const token = await alice.csrf();
      const before = alice.sid;
      h.clock.advance(16 * 60_000); // periodic rotation is due
      const oldCookie = `__Host-sid=${before}`;
      // Two writes in parallel, both with the old cookie: one rotates, the other follows the grace pointer.
      const [a, b] = await Promise.all(
        ['r1', 'r2'].map((sku) =>
          request(h.app.getHttpServer()).post('/cart').set('Cookie', oldCookie).set('x-csrf-token', token).send({ sku }),
        ),
      );
      expect([a.status, b.status]).toEqual([200, 200]);
      const fresh = ([] as string[])
        .concat(a.headers['set-cookie'] ?? [], b.headers['set-cookie'] ?? [])
        .find((c) => c.startsWith('__Host-sid='));
      expect(fresh).toBeDefined();
      alice.cookies.set('__Host-sid', fresh!.split(';')[0].slice('__Host-sid='.length));
      expect(alice.sid).not.toBe(before);
      expect((await alice.send('post', '/cart', { sku: 'after' }, { 'x-csrf-token': token })).body.cart).toEqual(
        expect.arrayContaining(['r1', 'r2', 'after']),
      );
    });

    it('changes at login: neither the pre-login token nor an earlier session token works after it', async () => {
      const client = new Client(h);
      const preLogin = await client.csrf();
      await client.login('alice');
      expect((await client.send('post', '/cart', { sku: 'x' }, { 'x-csrf-token': preLogin })).status).toBe(403);
      const first = await client.csrf();
      await client.send('post', '/login', { user: 'alice' }, { 'x-csrf-token': first });
      expect((await client.send('post', '/cart', { sku: 'x' }, { 'x-csrf-token': first })).status).toBe(403);
      expect((await client.send('post', '/cart', { sku: 'x' }, { 'x-csrf-token': await client.csrf() })).status).toBe(200);
    });

    it('changes at privilege change: roles changed, MFA completion and step-up, re-authentication', async () => {
      const carol = new Client(h);
      await carol.login('carol', true); // pending: second factor due
      const pending = await carol.csrf();
      expect((await carol.send('post', '/step-up', {}, { 'x-csrf-token': pending })).status).toBe(200); // completes, aal 2
      expect((await carol.send('post', '/reauth', {}, { 'x-csrf-token': pending })).status).toBe(403);

      const complete = await carol.csrf();
      h.clock.advance(1000);
      expect((await carol.send('post', '/reauth', {}, { 'x-csrf-token': complete })).status).toBe(200);
      expect((await carol.send('put', '/prefs', {}, { 'x-csrf-token': complete })).status).toBe(403);

      const reauthed = await carol.csrf();
      expect((await carol.send('put', '/prefs', {}, { 'x-csrf-token': reauthed })).status).toBe(200);
      await new Client(h).send('post', '/admin/set-roles', { user: 'carol', roles: ['support'] });
      expect((await carol.send('put', '/prefs', {}, { 'x-csrf-token': reauthed })).status).toBe(403);
      expect((await carol.send('put', '/prefs', {}, { 'x-csrf-token': await carol.csrf() })).status).toBe(200);
    });
  });

  describe('origin checks (defence in depth: a valid token is refused from another site)', () => {
    let alice: Client;
    let token: string;
    beforeAll(async () => {
      alice = new Client(h);
      await alice.login('alice');
      token = await alice.csrf();
    });
    const write = (headers: Record<string, string>) => alice.send('post', '/cart', { sku: 'o' }, { 'x-csrf-token': token, ...headers });

    it('refuses Sec-Fetch-Site cross-site and same-site, admits same-origin', async () => {
      expect((await write({ 'Sec-Fetch-Site': 'cross-site' })).status).toBe(403);
      expect((await write({ 'Sec-Fetch-Site': 'same-site', Origin: 'http://blog.127.0.0.1.nip.io' })).status).toBe(403);
      expect((await write({ 'Sec-Fetch-Site': 'same-origin', Origin: h.origin })).status).toBe(200);
      expect(csrfEvents().map((e) => e.reason)).toEqual(['cross_site', 'same_site']);
    });

    it('refuses a foreign or "null" Origin, and admits its own', async () => {
      const res = await write({ Origin: 'http://localhost:1' });
      expect(res.status).toBe(403);
      expect((await write({ Origin: 'null' })).status).toBe(403);
      expect((await write({ Origin: h.origin })).status).toBe(200);
      expect(csrfEvents()[0]).toMatchObject({
        reason: 'origin_not_allowed',
        detail: expect.objectContaining({ origin: 'http://localhost:1' }),
      });
    });

    it('without Origin, checks the Referer when there is one, and lets the token decide when there is none (default policy)', async () => {
      expect((await write({ Referer: 'https://evil.example/page' })).status).toBe(403);
      expect((await write({ Referer: `${h.origin}/cart` })).status).toBe(200);
      expect((await write({})).status).toBe(200);
      expect((await alice.send('post', '/cart', { sku: 'o' })).status).toBe(403); // the token still applies
    });
  });

  describe('what is not checked', () => {
    it('@SkipCsrf routes (webhooks) and bearer-token requests without the session cookie', async () => {
      const server = new Client(h);
      expect((await server.send('post', '/webhook', { event: 'paid' }, { Origin: 'https://payments.example' })).status).toBe(200);
      expect((await server.send('post', '/api/things', {}, { Authorization: 'Bearer abc.def' })).status).toBe(200);
      expect((await server.send('post', '/api/things', {})).status).toBe(403);
      // A bearer header next to the session cookie does not exempt a cookie-authenticated request.
      const alice = new Client(h);
      await alice.login('alice');
      expect((await alice.send('post', '/cart', { sku: 'x' }, { Authorization: 'Bearer abc.def' })).status).toBe(403);
    });
  });

  describe('content types (CS-05)', () => {
    it('refuses CORS-simple body types with 415 on JSON routes, even with a valid token', async () => {
      const alice = new Client(h);
      await alice.login('alice');
      const token = await alice.csrf();
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
        const res = await alice.send('post', '/cart', 'sku=x', { 'x-csrf-token': token, 'Content-Type': type });
        expect(res.status).toBe(415);
        // Fastify parses no multipart body unless the app registers a parser: it refuses it itself, before any guard.
        const body =
          platform === 'fastify' && type.startsWith('multipart/')
            ? { statusCode: 415, message: 'Unsupported Media Type' }
            : { statusCode: 415, code: 'UNSUPPORTED_MEDIA_TYPE' };
        expect({ type, body: res.body }).toMatchObject({ type, body });
      }
      expect((await alice.send('post', '/cart', { sku: 'json' }, { 'x-csrf-token': token })).status).toBe(200);
    });

    it('takes the token from the _csrf field of a form post on a @CsrfFormRoute, and only there', async () => {
      const alice = new Client(h);
      await alice.login('alice');
      const token = await alice.csrf();
      const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
      expect((await alice.send('post', '/form/logout', `_csrf=${encodeURIComponent(token)}`, form)).status).toBe(200);
      expect((await alice.send('post', '/form/logout', '_csrf=wrong', form)).status).toBe(403);
      expect((await alice.send('post', '/form/logout', 'other=1', form)).status).toBe(403);
      // On a JSON route the field is not a token source, and a token in the URL never is.
      expect((await alice.send('post', '/cart', { sku: 'x', _csrf: token })).status).toBe(403);
      expect((await alice.send('post', `/cart?_csrf=${token}`, { sku: 'x' })).status).toBe(403);
      expect((await alice.send('post', `/form/logout?_csrf=${token}`, 'a=1', form)).status).toBe(403);
    });
  });
});

describe.each(PLATFORMS)('CsrfGuard policies on %s', (platform) => {
  it("missingOrigin 'reject' refuses a request without Origin, even with its token; allowedOrigins admit a sibling", async () => {
    const h = await boot(
      { csrf: { secret: 'x'.repeat(32), missingOrigin: 'reject', allowedOrigins: ['https://admin.example.com'] } },
      platform,
    );
    try {
      const alice = new Client(h);
      const token = await alice.csrf();
      expect((await alice.send('post', '/login', { user: 'alice' }, { 'x-csrf-token': token })).status).toBe(403);
      expect(h.events.at(-1)).toMatchObject({ type: 'malicious_csrf', reason: 'origin_missing' });
      const sibling = { 'x-csrf-token': token, Origin: 'https://admin.example.com', 'Sec-Fetch-Site': 'same-site' };
      expect((await alice.send('post', '/login', { user: 'alice' }, sibling)).status).toBe(200);
    } finally {
      await h.app.close();
    }
  });

  it('without csrf.secret, signs with a random key of the process and warns once, naming the option', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const h = await boot({ csrf: {} }, platform);
    try {
      const alice = new Client(h);
      await alice.login('alice');
      expect((await alice.send('post', '/cart', { sku: 'a' }, { 'x-csrf-token': await alice.csrf() })).status).toBe(200);
      const warnings = warn.mock.calls.map(([message]) => String(message)).filter((m) => m.includes('csrf.secret'));
      expect(warnings).toEqual([
        expect.stringContaining('csrf.secret is not set: CSRF tokens are signed with a random key of this process'),
      ]);
    } finally {
      warn.mockRestore();
      await h.app.close();
    }
  });

  it('refuses a bad csrf block at start-up, naming what to fix', async () => {
    await expect(boot({ csrf: { secret: 'too-short' } }, platform)).rejects.toThrow(
      /csrf\.secret is 9 bytes long: give at least 32 random bytes/,
    );
  });
});

/**
 * ApiTokenModule over HTTP with the real SessionModule, a real Reflector and decorated controllers: access tokens
 * verified strictly by BearerAuthGuard (each refusal path), @Roles / @ReAuth / @RequireAal / @Public meaning the same
 * for tokens as for sessions, CSRF not applied to bearer routes, rotating refresh tokens (reuse, 20 parallel
 * refreshes, idle and absolute lifetimes, client binding, scope), revocation, session exchange with its fingerprint
 * cookie dying with the session, key rotation with tokens in flight, and a token-store outage failing closed.
 */
import { Body, Controller, Get, INestApplication, Post, Req, Res } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { Request, Response } from 'express';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import request from 'supertest';
import { bootPlatformApp, HttpPlatform, PLATFORMS } from '../support/session-app';
import {
  AccessCheck,
  AccessRevocation,
  ApiTokenModule,
  ApiTokenModuleOptions,
  ApiTokenService,
  BearerAuth,
  BearerAuthGuard,
  BearerPrincipal,
  CsrfGuard,
  CurrentPrincipal,
  InMemoryTokenStore,
  ManualClock,
  Public,
  ReAuth,
  ReAuthGuard,
  RefreshRotation,
  RefreshRotationResult,
  RequireAal,
  Roles,
  RolesGuard,
  SecurityEvent,
  SessionAuthGuard,
  SessionModule,
  SessionService,
  SkipCsrf,
  TokenStoreUnavailableError,
} from '../../lib';

const ISSUER = 'https://api.test';
const AUDIENCE = 'https://api.test/v1';

@Controller()
class AuthController {
  constructor(
    private readonly sessions: SessionService,
    private readonly tokens: ApiTokenService,
  ) {}

  @Public()
  @SkipCsrf()
  @Post('login')
  async login(@Req() req: Request, @Res({ passthrough: true }) res: Response, @Body() body: { user: string; remember?: boolean }) {
    const view = await this.sessions.create(req, res, { userId: body.user, roles: ['user'], remember: body.remember });
    return { handle: view.handle };
  }

  @Public()
  @SkipCsrf()
  @Post('token')
  token(
    @Req() req: Request,
    @Body() body: { user: string; roles?: string[]; aal?: number; authTime?: number; clientId?: string; scope?: string },
  ) {
    return this.tokens.issue(
      { userId: body.user, roles: body.roles, aal: body.aal, authTime: body.authTime, clientId: body.clientId, scope: body.scope },
      req,
    );
  }

  @Public()
  @SkipCsrf()
  @Post('refresh')
  refresh(@Req() req: Request, @Body() body: { refresh_token: unknown; clientId?: string; scope?: string; roles?: string[] }) {
    return this.tokens.refresh(body.refresh_token, { clientId: body.clientId, scope: body.scope, roles: body.roles }, req);
  }

  @Public()
  @SkipCsrf()
  @Post('revoke')
  async revoke(@Req() req: Request, @Body() body: { token: unknown }) {
    await this.tokens.revoke(body.token, req);
    return {};
  }

  @SkipCsrf()
  @Post('exchange')
  exchange(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    return this.tokens.exchangeSession(req, res);
  }

  @SkipCsrf()
  @Post('logout')
  async logout(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    await this.sessions.destroy(req, res);
    return {};
  }

  @Public()
  @SkipCsrf()
  @Post('logout-all')
  async logoutAll(@Body() body: { user: string }) {
    return { ended: await this.sessions.destroyAllForUser(body.user) };
  }

  @Public()
  @SkipCsrf()
  @Post('revoke-session')
  async revokeSession(@Body() body: { user: string; handle: string }) {
    return { ended: await this.sessions.revoke(body.user, body.handle) };
  }

  /** A cookie-authenticated unsafe route: CsrfGuard checks it. */
  @Post('session-write')
  sessionWrite() {
    return { ok: true };
  }
}

@BearerAuth()
@Controller('api')
class ApiController {
  @Get('me')
  me(@CurrentPrincipal() principal: BearerPrincipal) {
    return principal;
  }

  @Roles('admin')
  @Get('admin')
  admin() {
    return { ok: 'admin' };
  }

  @ReAuth({ maxAge: '5m' })
  @Post('sensitive')
  sensitive() {
    return { ok: 'sensitive' };
  }

  @RequireAal(2)
  @Get('mfa')
  mfa() {
    return { ok: 'mfa' };
  }

  @Post('write')
  write() {
    return { ok: 'written' };
  }

  @Public()
  @Get('open')
  open() {
    return { ok: 'open' };
  }
}

/** The in-memory store with an off switch: a backend outage as the API sees it. */
class SwitchableTokenStore extends InMemoryTokenStore {
  down = false;
  override checkAccess(check: AccessCheck, now: number): Promise<AccessRevocation> {
    return this.down
      ? Promise.reject(new TokenStoreUnavailableError('checkAccess', new Error('ECONNREFUSED')))
      : super.checkAccess(check, now);
  }
  override revokeAllForUser(userId: string, notBefore: number, until: number, now: number): Promise<number> {
    return this.down
      ? Promise.reject(new TokenStoreUnavailableError('revokeAllForUser', new Error('ECONNREFUSED')))
      : super.revokeAllForUser(userId, notBefore, until, now);
  }
  override rotateRefresh(rotation: RefreshRotation): Promise<RefreshRotationResult> {
    return this.down
      ? Promise.reject(new TokenStoreUnavailableError('rotateRefresh', new Error('ECONNREFUSED')))
      : super.rotateRefresh(rotation);
  }
}

interface Booted {
  app: INestApplication;
  clock: ManualClock;
  tokens: ApiTokenService;
  store: SwitchableTokenStore;
  events: SecurityEvent[];
}

async function boot(
  options: Partial<ApiTokenModuleOptions> = {},
  withBearerGuard = true,
  platform: HttpPlatform = 'express',
): Promise<Booted> {
  const clock = new ManualClock(Date.parse('2026-11-30T10:00:00Z'));
  const events: SecurityEvent[] = [];
  const store = new SwitchableTokenStore();
  const moduleRef = await Test.createTestingModule({
    imports: [
      SessionModule.forRoot({
        isGlobal: true,
        clock,
        idleTimeout: '5m',
        eventSinks: [{ handle: (e) => void events.push(e) }],
        csrf: { secret: 'api-tokens-spec-secret-0123456789abcdef' },
      }),
      ApiTokenModule.forRoot({ issuer: ISSUER, audience: AUDIENCE, store, fingerprintCookie: { secure: false }, ...options }),
    ],
    controllers: [AuthController, ApiController],
    providers: [
      ...(withBearerGuard ? [{ provide: APP_GUARD, useExisting: BearerAuthGuard }] : []),
      { provide: APP_GUARD, useClass: SessionAuthGuard },
      { provide: APP_GUARD, useExisting: CsrfGuard },
      { provide: APP_GUARD, useExisting: RolesGuard },
      { provide: APP_GUARD, useExisting: ReAuthGuard },
    ],
  }).compile();
  const app = await bootPlatformApp(moduleRef, platform);
  return { app, clock, tokens: app.get(ApiTokenService), store, events };
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const cookiesOf = (res: request.Response): string[] => ([] as string[]).concat(res.headers['set-cookie'] ?? []);
const cookiePair = (res: request.Response, prefix: string): string => {
  const line = cookiesOf(res).find((c) => c.startsWith(prefix));
  if (!line) throw new Error(`no ${prefix} cookie`);
  return line.split(';')[0];
};

describe.each(PLATFORMS)('ApiTokenModule over HTTP on %s', (platform) => {
  let t: Booted;
  let http: ReturnType<typeof request>;

  beforeEach(async () => {
    t = await boot({}, true, platform);
    http = request(t.app.getHttpServer());
  });
  afterEach(async () => {
    await t.app.close();
  });

  const issue = async (body: Record<string, unknown> = {}) => {
    const res = await http.post('/token').send({ user: 'u1', ...body });
    expect(res.status).toBe(201);
    return res.body as { access_token: string; refresh_token: string; expires_in: number; token_type: string };
  };

  describe('access tokens', () => {
    it('issues an RFC 9068 token (EdDSA, typ at+jwt, kid) that BearerAuthGuard accepts, with the principal it names', async () => {
      const pair = await issue({ roles: ['user'], aal: 2, scope: 'read write', clientId: 'cli' });
      expect(pair).toMatchObject({ token_type: 'Bearer', expires_in: 600 });
      expect(pair.refresh_token).toMatch(/^nsk_rt_[A-Za-z0-9_-]{43}$/);
      const header = decodeProtectedHeader(pair.access_token);
      expect(header).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: t.tokens.keys.current.kid });
      const claims = decodeJwt(pair.access_token);
      expect(claims).toMatchObject({
        iss: ISSUER,
        sub: 'u1',
        aud: AUDIENCE,
        client_id: 'cli',
        scope: 'read write',
        roles: ['user'],
        aal: 2,
      });
      expect(claims.exp! - claims.iat!).toBe(600);
      expect(claims.iat_ms).toBe(t.clock.now());
      expect(typeof claims.jti).toBe('string');
      const me = await http.get('/api/me').set(bearer(pair.access_token));
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ credential: 'bearer', userId: 'u1', roles: ['user'], aal: 2, clientId: 'cli', scope: 'read write' });
    });

    it('refuses a request without a bearer token (a session cookie does not authenticate a bearer route)', async () => {
      const login = await http.post('/login').send({ user: 'u1' });
      const res = await http.get('/api/me').set('Cookie', cookiePair(login, '__Host-sid='));
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('INVALID_TOKEN');
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect((await http.get('/api/me').set('Authorization', 'Basic dTE6cHc=')).status).toBe(401);
    });

    it('refuses alg none, HS256 signed with the public key, an unknown kid, wrong aud, iss and typ, and expiry: each 401 INVALID_TOKEN', async () => {
      const key = t.tokens.keys.current;
      const now = Math.floor(t.clock.now() / 1000);
      const claims = { iss: ISSUER, aud: AUDIENCE, sub: 'u1', jti: 'j', iat: now, exp: now + 600, client_id: 'default' };
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const none = `${b64({ alg: 'none', typ: 'at+jwt', kid: key.kid })}.${b64(claims)}.`;
      const hsInput = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: key.kid })}.${b64(claims)}`;
      // HS/RS confusion: the public key (as the JWKS publishes it, and as PEM) used as an HMAC secret.
      const hsJwk = `${hsInput}.${createHmac('sha256', JSON.stringify(key.publicJwk)).update(hsInput).digest('base64url')}`;
      const pem = key.publicKey.export({ type: 'spki', format: 'pem' });
      const hsPem = `${hsInput}.${createHmac('sha256', pem).update(hsInput).digest('base64url')}`;
      const sign = (over: object, header: object = {}, signer = key.privateKey) =>
        new SignJWT({ ...claims, ...over }).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: key.kid, ...header }).sign(signer);
      const stranger = generateKeyPairSync('ed25519').privateKey;
      const cases: Array<[string, string, string]> = [
        ['alg none', none, 'algorithm'],
        ['HS256 with the public JWK', hsJwk, 'algorithm'],
        ['HS256 with the public PEM', hsPem, 'algorithm'],
        ['unknown kid', await sign({}, { kid: 'not-ours' }, stranger), 'unknown_kid'],
        ['a known kid, another key', await sign({}, {}, stranger), 'signature'],
        ['wrong aud', await sign({ aud: 'https://other.test' }), 'claims'],
        ['wrong iss', await sign({ iss: 'https://evil.test' }), 'claims'],
        ['typ JWT (an ID token, say)', await sign({}, { typ: 'JWT' }), 'type'],
        ['expired', await sign({ exp: now - 1 }), 'expired'],
        ['not yet valid', await sign({ nbf: now + 60 }), 'claims'],
        ['garbage', 'a.b', 'malformed'],
      ];
      for (const [name, token] of cases) {
        const res = await http.get('/api/me').set(bearer(token));
        expect({ name, status: res.status, code: res.body.code }).toEqual({ name, status: 401, code: 'INVALID_TOKEN' });
        expect({ name, header: res.headers['www-authenticate'] }).toEqual({ name, header: 'Bearer error="invalid_token"' });
      }
      // The same shapes, verified directly, fail for the reason named above (not by accident).
      for (const [name, token, reason] of cases.filter(([, tk]) => tk.split('.').length === 3)) {
        await expect(t.tokens.authenticate(token, { headers: {} }).catch((e) => ({ name, reason: e.reason }))).resolves.toEqual({
          name,
          reason,
        });
      }
    });

    it('expires with the clock: valid until exp, 401 from exp on', async () => {
      const { access_token } = await issue();
      t.clock.advance(600_000 - 1000);
      expect((await http.get('/api/me').set(bearer(access_token))).status).toBe(200);
      t.clock.advance(1000);
      const res = await http.get('/api/me').set(bearer(access_token));
      expect([res.status, res.body.code]).toEqual([401, 'INVALID_TOKEN']);
    });

    it('revokes an access token by jti (RFC 7009), and answers 201 for unknown tokens too', async () => {
      const { access_token } = await issue();
      const other = await issue();
      expect((await http.post('/revoke').send({ token: access_token })).status).toBe(201);
      expect((await http.get('/api/me').set(bearer(access_token))).status).toBe(401);
      expect((await http.get('/api/me').set(bearer(other.access_token))).status).toBe(200);
      for (const token of ['nope', 'nsk_rt_' + 'x'.repeat(43), 'a.b.c', '', 42])
        expect((await http.post('/revoke').send({ token })).status).toBe(201);
    });

    it('public routes under a @BearerAuth controller need no token', async () => {
      expect((await http.get('/api/open')).status).toBe(200);
    });
  });

  describe('the session semantics, for tokens', () => {
    it('@Roles reads the roles claim', async () => {
      const admin = await issue({ roles: ['admin'] });
      const user = await issue({ roles: ['user'] });
      expect((await http.get('/api/admin').set(bearer(admin.access_token))).status).toBe(200);
      const refused = await http.get('/api/admin').set(bearer(user.access_token));
      expect([refused.status, refused.body.code]).toEqual([403, 'INSUFFICIENT_ROLE']);
      expect(t.events.find((e) => e.type === 'authz_fail')).toMatchObject({ userId: 'u1', reason: 'insufficient_role' });
    });

    it('@ReAuth reads auth_time', async () => {
      const fresh = await issue({ authTime: t.clock.now() - 60_000 });
      const stale = await issue({ authTime: t.clock.now() - 6 * 60_000 });
      expect((await http.post('/api/sensitive').set(bearer(fresh.access_token))).status).toBe(201);
      const refused = await http.post('/api/sensitive').set(bearer(stale.access_token));
      expect([refused.status, refused.body.code]).toEqual([401, 'REAUTH_REQUIRED']);
    });

    it('@RequireAal reads the aal claim', async () => {
      const one = await issue({ aal: 1 });
      const two = await issue({ aal: 2 });
      const refused = await http.get('/api/mfa').set(bearer(one.access_token));
      expect([refused.status, refused.body.code]).toEqual([403, 'MFA_REQUIRED']);
      expect((await http.get('/api/mfa').set(bearer(two.access_token))).status).toBe(200);
    });

    it('CsrfGuard does not check bearer routes, even with a session cookie along, and still checks cookie routes', async () => {
      const login = await http.post('/login').send({ user: 'u1' });
      const cookie = cookiePair(login, '__Host-sid=');
      const { access_token } = await issue();
      const api = await http.post('/api/write').set(bearer(access_token)).set('Cookie', cookie).set('Origin', 'https://evil.test');
      expect(api.status).toBe(201);
      const session = await http.post('/session-write').set('Cookie', cookie);
      expect([session.status, session.body.code]).toEqual([403, 'CSRF_REJECTED']);
    });

    it('SessionAuthGuard refuses a @BearerAuth route when no BearerAuthGuard verified a token (fail closed)', async () => {
      const bare = await boot({}, false, platform);
      try {
        const { access_token } = await bare.tokens.issue({ userId: 'u1' });
        const res = await request(bare.app.getHttpServer()).get('/api/me').set(bearer(access_token));
        expect([res.status, res.body.code]).toEqual([401, 'SESSION_REQUIRED']);
        expect(res.body.message).toMatch(/register BearerAuthGuard/);
      } finally {
        await bare.app.close();
      }
    });
  });

  describe('refresh tokens', () => {
    it('rotate on every use: the used token dies, reusing it revokes the family (401 REFRESH_TOKEN_REUSED, CRITICAL event)', async () => {
      const first = await issue();
      const second = await http.post('/refresh').send({ refresh_token: first.refresh_token });
      expect(second.status).toBe(201);
      expect(second.body.refresh_token).not.toBe(first.refresh_token);
      expect((await http.get('/api/me').set(bearer(second.body.access_token))).status).toBe(200);
      t.clock.advance(10_000); // past the grace window
      const reuse = await http.post('/refresh').send({ refresh_token: first.refresh_token });
      expect([reuse.status, reuse.body.code]).toEqual([401, 'REFRESH_TOKEN_REUSED']);
      expect(t.events.find((e) => e.type === 'authn_token_reuse')).toMatchObject({ level: 'CRITICAL', userId: 'u1' });
      // The whole family: the successor the thief or the client holds is dead too.
      const successor = await http.post('/refresh').send({ refresh_token: second.body.refresh_token });
      expect([successor.status, successor.body.code]).toEqual([401, 'INVALID_REFRESH_TOKEN']);
    });

    it('20 parallel refreshes with one token: all answer the same new refresh token, one family, no fork', async () => {
      const first = await issue();
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => http.post('/refresh').send({ refresh_token: first.refresh_token })),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(201));
      expect(new Set(answers.map((a) => a.body.refresh_token)).size).toBe(1);
      expect(await t.store.listFamilies('u1', t.clock.now())).toHaveLength(1);
      const next = await http.post('/refresh').send({ refresh_token: answers[0].body.refresh_token });
      expect(next.status).toBe(201);
    });

    it('expire after the idle timeout (1d) and at the absolute timeout (30d) however active', async () => {
      const idle = await issue();
      t.clock.advance(86_400_000);
      expect((await http.post('/refresh').send({ refresh_token: idle.refresh_token })).body.code).toBe('INVALID_REFRESH_TOKEN');
      let current = (await issue()).refresh_token;
      const start = t.clock.now();
      while (t.clock.now() + 12 * 3_600_000 < start + 30 * 86_400_000) {
        t.clock.advance(12 * 3_600_000);
        const res = await http.post('/refresh').send({ refresh_token: current });
        expect(res.status).toBe(201);
        current = res.body.refresh_token;
      }
      t.clock.set(start + 30 * 86_400_000);
      expect((await http.post('/refresh').send({ refresh_token: current })).body.code).toBe('INVALID_REFRESH_TOKEN');
    });

    it('are bound to their client (another client is refused and the leaked family revoked) and never widen scope', async () => {
      const pair = await issue({ clientId: 'mobile', scope: 'read write' });
      const narrowed = await http.post('/refresh').send({ refresh_token: pair.refresh_token, clientId: 'mobile', scope: 'read' });
      expect(narrowed.status).toBe(201);
      expect(decodeJwt(narrowed.body.access_token).scope).toBe('read');
      const widened = await http
        .post('/refresh')
        .send({ refresh_token: narrowed.body.refresh_token, clientId: 'mobile', scope: 'read admin' });
      expect([widened.status, widened.body.code]).toEqual([400, 'INVALID_SCOPE']);
      const other = await issue({ clientId: 'mobile' });
      const stolen = await http.post('/refresh').send({ refresh_token: other.refresh_token, clientId: 'web' });
      expect([stolen.status, stolen.body.code]).toEqual([401, 'INVALID_REFRESH_TOKEN']);
      expect(await t.store.listFamilies('u1', t.clock.now())).toHaveLength(1);
    });

    it('refuse malformed and unknown tokens with 401, and revoke (RFC 7009) ends the family', async () => {
      for (const refresh_token of [undefined, 42, 'nsk_rt_short', 'nsk_rt_' + 'A'.repeat(43)]) {
        const res = await http.post('/refresh').send({ refresh_token });
        expect([res.status, res.body.code]).toEqual([401, 'INVALID_REFRESH_TOKEN']);
      }
      const pair = await issue();
      await http.post('/revoke').send({ token: pair.refresh_token }).expect(201);
      expect((await http.post('/refresh').send({ refresh_token: pair.refresh_token })).body.code).toBe('INVALID_REFRESH_TOKEN');
      expect(t.events.some((e) => e.type === 'authn_token_revoked' && e.reason === 'revoked')).toBe(true);
    });
  });

  describe('revocation with sessions', () => {
    it('logout everywhere ends the user\u2019s refresh families and refuses access tokens issued before it, not after', async () => {
      const before = await issue();
      const otherUser = await issue({ user: 'u2' });
      await http.post('/logout-all').send({ user: 'u1' }).expect(201);
      expect(t.events.find((e) => e.type === 'authn_token_revoked' && e.reason === 'logout_everywhere')).toMatchObject({
        userId: 'u1',
        detail: { families: 1, allTokens: true },
      });
      expect((await http.get('/api/me').set(bearer(before.access_token))).body.code).toBe('INVALID_TOKEN');
      expect((await http.post('/refresh').send({ refresh_token: before.refresh_token })).body.code).toBe('INVALID_REFRESH_TOKEN');
      expect((await http.get('/api/me').set(bearer(otherUser.access_token))).status).toBe(200);
      t.clock.advance(1);
      const after = await issue();
      expect((await http.get('/api/me').set(bearer(after.access_token))).status).toBe(200);
    });

    it('session exchange: a token naming the session, capped at its idle deadline, bound to the fingerprint cookie', async () => {
      const login = await http.post('/login').send({ user: 'u1' });
      const cookie = cookiePair(login, '__Host-sid=');
      const exchanged = await http.post('/exchange').set('Cookie', cookie);
      expect(exchanged.status).toBe(201);
      expect(exchanged.headers['cache-control']).toBe('no-store');
      // The session's idle timeout (5m) is shorter than the token TTL (10m): the token ends with it.
      expect(exchanged.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 300 });
      const claims = decodeJwt(exchanged.body.access_token);
      expect(claims.sid).toBe(login.body.handle);
      const fpLine = cookiesOf(exchanged).find((c) => c.startsWith('nsk_atfp='))!;
      expect(fpLine).toMatch(/; HttpOnly/);
      expect(fpLine).toMatch(/; SameSite=Strict/);
      expect(fpLine).toMatch(/; Max-Age=300/);
      const fp = fpLine.split(';')[0];
      const token = exchanged.body.access_token;
      expect((await http.get('/api/me').set(bearer(token)).set('Cookie', fp)).status).toBe(200);
      const stolen = await http.get('/api/me').set(bearer(token));
      expect([stolen.status, stolen.body.code]).toEqual([401, 'INVALID_TOKEN']);
      expect(
        (
          await http
            .get('/api/me')
            .set(bearer(token))
            .set('Cookie', 'nsk_atfp=' + 'x'.repeat(43))
        ).status,
      ).toBe(401);
      // It dies with the session.
      await http.post('/logout').set('Cookie', cookie).expect(201);
      const dead = await http.get('/api/me').set(bearer(token)).set('Cookie', fp);
      expect([dead.status, dead.body.code]).toEqual([401, 'INVALID_TOKEN']);
    });

    it('a remembered session (not re-authenticated) exchanges for a token @ReAuth refuses, as it refuses the session', async () => {
      const login = await http.post('/login').send({ user: 'u1', remember: true });
      const exchanged = await http.post('/exchange').set('Cookie', cookiePair(login, '__Host-sid='));
      expect(decodeJwt(exchanged.body.access_token).auth_time).toBeUndefined();
      const res = await http
        .post('/api/sensitive')
        .set(bearer(exchanged.body.access_token))
        .set('Cookie', cookiePair(exchanged, 'nsk_atfp='));
      expect([res.status, res.body.code]).toEqual([401, 'REAUTH_REQUIRED']);
      const fresh = await http.post('/login').send({ user: 'u1' });
      const ok = await http.post('/exchange').set('Cookie', cookiePair(fresh, '__Host-sid='));
      await http.post('/api/sensitive').set(bearer(ok.body.access_token)).set('Cookie', cookiePair(ok, 'nsk_atfp=')).expect(201);
    });

    it('an exchanged token dies when its session is revoked by handle, and needs a session to be made', async () => {
      const login = await http.post('/login').send({ user: 'u1' });
      const exchanged = await http.post('/exchange').set('Cookie', cookiePair(login, '__Host-sid='));
      const fp = cookiePair(exchanged, 'nsk_atfp=');
      expect((await http.get('/api/me').set(bearer(exchanged.body.access_token)).set('Cookie', fp)).status).toBe(200);
      await http.post('/revoke-session').send({ user: 'u1', handle: login.body.handle }).expect(201);
      expect((await http.get('/api/me').set(bearer(exchanged.body.access_token)).set('Cookie', fp)).status).toBe(401);
      expect((await http.post('/exchange')).status).toBe(401);
    });
  });

  describe('keys', () => {
    it('rotation with tokens in flight: the next key is published before it signs, old tokens verify until they expire', async () => {
      const before = await issue();
      const jwks1 = await http.get('/.well-known/jwks.json');
      expect(jwks1.status).toBe(200);
      expect(jwks1.headers['cache-control']).toMatch(/max-age=\d+/);
      const oldKid = t.tokens.keys.current.kid;
      const nextKid = t.tokens.keys.next.kid;
      expect(jwks1.body.keys.map((k: { kid: string }) => k.kid)).toEqual([oldKid, nextKid]);
      for (const key of jwks1.body.keys) {
        expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
        expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
      }
      t.clock.advance(60_000);
      t.tokens.keys.rotate();
      const after = await issue();
      expect(decodeProtectedHeader(after.access_token).kid).toBe(nextKid);
      expect((await http.get('/api/me').set(bearer(before.access_token))).status).toBe(200);
      expect((await http.get('/api/me').set(bearer(after.access_token))).status).toBe(200);
      const jwks2 = await http.get('/.well-known/jwks.json');
      expect(jwks2.body.keys.map((k: { kid: string }) => k.kid)).toEqual([nextKid, t.tokens.keys.next.kid, oldKid]);
      // One access-token lifetime after its retirement the old key is gone (every token it signed has expired).
      t.clock.advance(600_000);
      const jwks3 = await http.get('/.well-known/jwks.json');
      expect(jwks3.body.keys.map((k: { kid: string }) => k.kid)).not.toContain(oldKid);
      expect(t.tokens.keys.verificationKey(oldKid)).toBeUndefined();
    });

    it('ES256 keys given as private JWKs sign and verify; the JWKS has y', async () => {
      const jwk = (kid: string) => ({ ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }), kid });
      const es = await boot({ keys: [jwk('k1'), jwk('k2')] }, true, platform);
      try {
        const pair = await es.tokens.issue({ userId: 'u1' });
        expect(decodeProtectedHeader(pair.access_token)).toMatchObject({ alg: 'ES256', kid: 'k1' });
        const h = request(es.app.getHttpServer());
        expect((await h.get('/api/me').set(bearer(pair.access_token))).status).toBe(200);
        const jwks = await h.get('/.well-known/jwks.json');
        expect(jwks.body.keys.map((k: { kid: string }) => k.kid)).toEqual(['k1', 'k2']);
        expect(jwks.body.keys[0]).not.toHaveProperty('d');
        expect(jwks.body.keys[0]).toHaveProperty('y');
      } finally {
        await es.app.close();
      }
    });
  });

  it('fails closed with 503 when the token store is down, and recovers by itself', async () => {
    const pair = await issue();
    t.store.down = true;
    const me = await http.get('/api/me').set(bearer(pair.access_token));
    expect([me.status, me.body.code]).toEqual([503, 'TOKEN_STORE_UNAVAILABLE']);
    const refresh = await http.post('/refresh').send({ refresh_token: pair.refresh_token });
    expect(refresh.status).toBe(503);
    // Logout everywhere cannot promise the tokens are dead: it answers 503 rather than a success.
    const logoutAll = await http.post('/logout-all').send({ user: 'u1' });
    expect([logoutAll.status, logoutAll.body.code]).toEqual([503, 'TOKEN_STORE_UNAVAILABLE']);
    t.store.down = false;
    expect((await http.post('/refresh').send({ refresh_token: pair.refresh_token })).status).toBe(201);
    await http.post('/logout-all').send({ user: 'u1' }).expect(201);
    expect((await http.get('/api/me').set(bearer(pair.access_token))).status).toBe(401);
  });

  it('forRootAsync: options from a factory, the JWKS route left out with jwks: false', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ApiTokenModule.forRootAsync({
          jwks: false,
          useFactory: async () => ({ issuer: ISSUER, audience: [AUDIENCE, 'https://other.test'], accessTokenTtl: 60_000 }),
        }),
      ],
      controllers: [ApiController],
      providers: [{ provide: APP_GUARD, useExisting: BearerAuthGuard }],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      const pair = await app.get(ApiTokenService).issue({ userId: 'u1' });
      expect(pair.expires_in).toBe(60);
      expect(decodeJwt(pair.access_token).aud).toEqual([AUDIENCE, 'https://other.test']);
      const h = request(app.getHttpServer());
      expect((await h.get('/api/me').set(bearer(pair.access_token))).status).toBe(200);
      expect((await h.get('/.well-known/jwks.json')).status).toBe(404);
    } finally {
      await app.close();
    }
  });

  it('stops start-up on bad options, naming each', async () => {
    await expect(boot({ issuer: '', accessTokenTtl: '2h', refreshGrace: 'soon', keys: [{ kty: 'RSA', kid: 'r' }] })).rejects.toThrow(
      /issuer is required[\s\S]*accessTokenTtl is 2h[\s\S]*refreshGrace is "soon"[\s\S]*keys\[0\] \(kid r\) is not an Ed25519/,
    );
  });
});

/**
 * Authorization over HTTP with the real module, a real Reflector and decorated controllers: @Roles and
 * @Permissions through RolesGuard (hierarchy, deny by default, client hints ignored, events), @ReAuth through
 * ReAuthGuard (max age, per-route override, remember-me and impersonation never fresh), and role changes reaching
 * live sessions (a demotion at once, an elevation by rotation).
 */
import { Body, Controller, Get, INestApplication, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import request from 'supertest';
import { bootSessionApp, cookieOf, cookiesOf, PLATFORMS } from '../support/session-app';
import {
  CurrentSession,
  ManualClock,
  Permissions,
  Public,
  ReAuth,
  ReAuthGuard,
  Roles,
  RolesGuard,
  SecurityEvent,
  SessionService,
  SessionView,
} from '../../lib';

interface LoginBody {
  user: string;
  roles?: string[];
  remember?: boolean;
  impersonatedBy?: string;
}

@Controller()
class AuthzAuthController {
  constructor(private readonly sessions: SessionService) {}

  @Public()
  @Post('login')
  async login(@Req() req: Request, @Res({ passthrough: true }) res: Response, @Body() body: LoginBody) {
    const view = await this.sessions.create(req, res, {
      userId: body.user,
      roles: body.roles,
      remember: body.remember,
      impersonatedBy: body.impersonatedBy,
    });
    return { handle: view.handle };
  }

  @Post('reauth')
  async reauth(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const view = await this.sessions.reauthenticate(req, res);
    return { authenticatedAt: view.authenticatedAt };
  }

  @Public()
  @Post('set-roles')
  async setRoles(@Body() body: { user: string; roles: string[] }) {
    return { updated: await this.sessions.setRoles(body.user, body.roles) };
  }

  @Get('me')
  me(@CurrentSession() session: SessionView) {
    return { roles: session.roles, tier: session.tier, impersonatedBy: session.impersonatedBy };
  }
}

@Roles('admin')
@Controller('admin')
class AdminController {
  @Get('users')
  users() {
    return { ok: 'admin' };
  }

  // A handler's @Roles overrides its controller's.
  @Roles('support', 'admin')
  @Get('tickets')
  tickets() {
    return { ok: 'tickets' };
  }

  @Permissions('users:manage')
  @Get('manage')
  manage() {
    return { ok: 'manage' };
  }
}

@Controller('shop')
class ShopController {
  @Roles('user')
  @Get('cart')
  cart() {
    return { ok: 'cart' };
  }

  @Permissions('cart:write', 'cart:read')
  @Post('cart')
  write() {
    return { ok: 'written' };
  }

  @Get('open')
  open() {
    return { ok: 'any session' };
  }
}

@Controller('account')
class SensitiveController {
  @ReAuth()
  @Post('password')
  password() {
    return { ok: 'changed' };
  }

  @ReAuth({ maxAge: '1m' })
  @Post('disable')
  disable() {
    return { ok: 'disabled' };
  }
}

const MIN = 60_000;

describe.each(PLATFORMS)('authorization: @Roles, @Permissions, @ReAuth on %s', (platform) => {
  let app: INestApplication;
  let clock: ManualClock;
  let events: SecurityEvent[];

  beforeEach(async () => {
    clock = new ManualClock(Date.parse('2026-11-30T08:00:00Z'));
    events = [];
    app = await bootSessionApp(
      {
        clock,
        rotationInterval: 0,
        roles: { hierarchy: { admin: ['user'] }, permissions: { user: ['cart:read', 'cart:write'], admin: ['users:manage'] } },
        reauth: { maxAge: '5m' },
        eventSinks: [{ handle: (e) => void events.push(e) }],
      },
      [AuthzAuthController, AdminController, ShopController, SensitiveController],
      [RolesGuard, ReAuthGuard],
      platform,
    );
  });
  afterEach(() => app.close());

  const login = async (body: LoginBody): Promise<string> =>
    cookieOf(await request(app.getHttpServer()).post('/login').send(body).expect(201));
  const get = (path: string, cookie?: string) => {
    const r = request(app.getHttpServer()).get(path);
    return cookie ? r.set('Cookie', cookie) : r;
  };
  const post = (path: string, cookie: string) => request(app.getHttpServer()).post(path).set('Cookie', cookie);

  describe('roles and permissions', () => {
    it('admits a role, its included roles through the hierarchy, and a handler override', async () => {
      const admin = await login({ user: 'bob', roles: ['admin'] });
      await get('/admin/users', admin).expect(200, { ok: 'admin' });
      await get('/shop/cart', admin).expect(200); // admin includes user
      await get('/admin/tickets', admin).expect(200);
      const support = await login({ user: 'sam', roles: ['support'] });
      await get('/admin/tickets', support).expect(200, { ok: 'tickets' });
      await get('/admin/users', support).expect(403);
    });

    it('refuses with 403 INSUFFICIENT_ROLE and an authz_fail event, whatever role hints the client sends', async () => {
      const user = await login({ user: 'alice', roles: ['user'] });
      const res = await get('/admin/users?roles=admin&role=admin', user).set('x-roles', 'admin').set('x-user-role', 'admin').expect(403);
      expect(res.body).toMatchObject({ statusCode: 403, code: 'INSUFFICIENT_ROLE' });
      const fail = events.find((e) => e.type === 'authz_fail');
      expect(fail).toMatchObject({ userId: 'alice', outcome: 'failure', reason: 'insufficient_role' });
      expect(fail?.detail).toMatchObject({ required: 'admin', held: 'user', method: 'GET', path: '/admin/users' });
    });

    it('maps permissions from roles, requiring every one, and including those of included roles', async () => {
      const user = await login({ user: 'alice', roles: ['user'] });
      await post('/shop/cart', user).expect(201, { ok: 'written' });
      await get('/admin/manage', user).expect(403);
      const admin = await login({ user: 'bob', roles: ['admin'] });
      await get('/admin/manage', admin).expect(200);
      await post('/shop/cart', admin).expect(201); // admin includes user's permissions
    });

    it('denies a session without roles on a role route, admits it where no role is asked, and 401 without a session', async () => {
      const none = await login({ user: 'nobody' });
      await get('/shop/cart', none).expect(403);
      await get('/shop/open', none).expect(200);
      await get('/admin/users').expect(401);
    });

    it('applies a demotion at once, and rotates the session on an elevation', async () => {
      const admin = await login({ user: 'bob', roles: ['admin'] });
      const second = await login({ user: 'bob', roles: ['admin'] });
      await get('/admin/users', admin).expect(200);

      await request(app.getHttpServer())
        .post('/set-roles')
        .send({ user: 'bob', roles: ['user'] })
        .expect(201, { updated: 2 });
      // Applies at once. (Replacing 'admin' by 'user' also rotates: the store compares role names, and 'user' is a
      // name the session did not hold; an extra rotation, never a missing one.)
      const demoted = await get('/admin/users', admin).expect(403);
      await get('/admin/users', second).expect(403);
      const current = cookiesOf(demoted).some((c) => c.startsWith('__Host-sid=') && !c.includes('Max-Age=0')) ? cookieOf(demoted) : admin;
      await get('/shop/cart', current).expect(200);

      // A pure demotion (a role removed, none added) applies at once without a new id.
      await request(app.getHttpServer())
        .post('/set-roles')
        .send({ user: 'bob', roles: ['user', 'support'] })
        .expect(201);
      const withSupport = await get('/me', current).expect(200);
      const supportCookie = cookiesOf(withSupport).length > 0 ? cookieOf(withSupport) : current;
      await request(app.getHttpServer())
        .post('/set-roles')
        .send({ user: 'bob', roles: ['user'] })
        .expect(201);
      const dropped = await get('/admin/tickets', supportCookie).expect(403);
      expect(cookiesOf(dropped)).toEqual([]);

      await request(app.getHttpServer())
        .post('/set-roles')
        .send({ user: 'bob', roles: ['admin'] })
        .expect(201);
      const elevated = await get('/admin/users', supportCookie).expect(200);
      const rotated = cookieOf(elevated); // a new id on the elevation (RO-01)
      expect(rotated).not.toEqual(supportCookie);
      await get('/admin/users', rotated).expect(200);
      await get('/me', supportCookie).expect(401); // the old id died with the privilege change
    });
  });

  describe('re-authentication', () => {
    it('passes right after login, refuses past maxAge with where to re-authenticate, and passes after re-authentication', async () => {
      const cookie = await login({ user: 'alice', roles: ['user'] });
      await post('/account/password', cookie).expect(201);
      clock.advance(5 * MIN + 1);
      const res = await post('/account/password', cookie).expect(401);
      expect(res.body).toEqual({
        statusCode: 401,
        code: 'REAUTH_REQUIRED',
        message: expect.stringContaining('Confirm it is you'),
        reauth: { path: '/auth/reauth', method: 'POST', maxAgeMs: 5 * MIN, reason: 'stale' },
      });
      const renewed = cookieOf(await post('/reauth', cookie).expect(201));
      await post('/account/password', renewed).expect(201);
    });

    it('uses a route maxAge over the module default', async () => {
      const cookie = await login({ user: 'alice' });
      clock.advance(MIN + 1);
      await post('/account/password', cookie).expect(201);
      const res = await post('/account/disable', cookie).expect(401);
      expect(res.body.reauth).toMatchObject({ maxAgeMs: MIN, reason: 'stale' });
    });

    it('never counts a remember-me login as fresh: only a re-authentication is', async () => {
      const cookie = await login({ user: 'alice', remember: true });
      const res = await post('/account/password', cookie).expect(401);
      expect(res.body.reauth.reason).toBe('remembered');
      clock.advance(1000);
      const renewed = cookieOf(await post('/reauth', cookie).expect(201));
      await post('/account/password', renewed).expect(201);
    });

    it('never lets an impersonation session pass', async () => {
      const cookie = await login({ user: 'alice', impersonatedBy: 'bob' });
      expect((await get('/me', cookie).expect(200)).body).toMatchObject({ impersonatedBy: 'bob' });
      const res = await post('/account/password', cookie).expect(401);
      expect(res.body.reauth.reason).toBe('impersonation');
    });
  });
});

describe('@Roles, @Permissions and @ReAuth refuse mistakes at decoration time', () => {
  it('names what to write', () => {
    expect(() => Roles()).toThrow("@Roles() needs at least one non-empty name, e.g. @Roles('admin')");
    expect(() => Permissions('')).toThrow('@Permissions() needs at least one non-empty name');
    expect(() => ReAuth({ maxAge: 'soon' })).toThrow('@ReAuth({ maxAge: "soon" }): give a duration of at least 1s');
    expect(() => ReAuth({ maxAge: 10 })).toThrow('(got 10ms)');
  });
});

/**
 * Roles, tiers, impersonation and session limits over HTTP, with the real module and guard, on the in-memory and
 * the Redis store: the "remember me" cookie and its Max-Age across rotations, the 409 of `deny-new` with the list of
 * devices, role changes reaching live sessions (an elevation rotates, a demotion does not), and the capped, listed
 * impersonation session.
 */
import { Body, Controller, Get, INestApplication, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import request from 'supertest';
import { CurrentSession, ManualClock, Public, SessionModuleOptions, SessionService, SessionView } from '../../lib';
import { httpBackends } from '../support/http-backends';
import { acrossPlatforms, bootSessionApp, cookieOf, cookiesOf } from '../support/session-app';

const MIN = 60_000;
const DAY = 86_400_000;

interface LoginBody {
  user?: string;
  roles?: string[];
  remember?: boolean;
  impersonatedBy?: string;
}

@Controller()
class TiersController {
  constructor(private readonly sessions: SessionService) {}

  @Public()
  @Post('login')
  login(@Req() req: Request, @Res({ passthrough: true }) res: Response, @Body() body: LoginBody) {
    return this.sessions.create(req, res, {
      userId: body.user ?? 'alice',
      roles: body.roles,
      remember: body.remember,
      impersonatedBy: body.impersonatedBy,
    });
  }

  @Get('me')
  me(@CurrentSession() session: SessionView) {
    return session;
  }

  @Get('sessions')
  list(@CurrentSession() session: SessionView, @Req() req: Request) {
    return this.sessions.list(session.userId, req);
  }

  @Post('reauth')
  reauth(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    return this.sessions.reauthenticate(req, res);
  }

  /** Stands in for the application's user administration (its own guards are not what this spec is about). */
  @Public()
  @Post('admin/roles')
  async setRoles(@Body() body: { user: string; roles: string[] }) {
    return { changed: await this.sessions.setRoles(body.user, body.roles) };
  }
}

/** The `Max-Age` of the session cookie an answer set, in seconds, or undefined for a session cookie. */
function maxAgeOf(res: request.Response): number | undefined {
  const ours = cookiesOf(res).find((c) => c.startsWith('__Host-sid='));
  if (!ours) throw new Error('no session cookie set');
  const match = /;\s*Max-Age=(\d+)/i.exec(ours);
  return match ? Number(match[1]) : undefined;
}

const backends = httpBackends('tiers');

describe.each(acrossPlatforms(backends))('roles, tiers, impersonation and limits over HTTP ($name store on $platform)', (backend) => {
  let app: INestApplication | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  let clock: ManualClock;

  async function boot(options: SessionModuleOptions = {}): Promise<INestApplication> {
    clock = new ManualClock(Date.now());
    const made = backend.store();
    cleanup = made.cleanup;
    app = await bootSessionApp({ store: made.store, clock, ...options }, [TiersController], [], backend.platform);
    return app;
  }

  afterEach(async () => {
    await app?.close();
    await cleanup?.();
    app = undefined;
    cleanup = undefined;
  });

  it('"remember me" sets a persistent cookie for the whole absolute lifetime and keeps Max-Age on every rotation; a standard login does not', async () => {
    const server = (await boot({ rememberMe: { idleTimeout: '30d', absoluteTimeout: '90d' } })).getHttpServer();
    const standard = await request(server).post('/login').send({ user: 'bob' }).expect(201);
    expect(maxAgeOf(standard)).toBeUndefined();
    const login = await request(server).post('/login').send({ remember: true }).expect(201);
    expect(maxAgeOf(login)).toBe((90 * DAY) / 1000);
    expect(login.body).toMatchObject({ tier: 'remember', absoluteExpiresAt: clock.now() + 90 * DAY });

    // Past a standard idle period and the rotation interval: the session is alive and rotates, with the rest of
    // its lifetime as the new cookie's Max-Age.
    clock.advance(2 * DAY);
    const rotated = await request(server).get('/me').set('Cookie', cookieOf(login)).expect(200);
    expect(maxAgeOf(rotated)).toBe((88 * DAY) / 1000);
    // A role elevation rotates it again at the next request: still persistent.
    await request(server)
      .post('/admin/roles')
      .send({ user: 'alice', roles: ['admin'] })
      .expect(201, { changed: 1 });
    clock.advance(1000);
    const elevated = await request(server).get('/me').set('Cookie', cookieOf(rotated)).expect(200);
    expect(maxAgeOf(elevated)).toBe((88 * DAY - 1000) / 1000);
    // Re-authentication restarts the lifetime of its tier.
    const reauth = await request(server).post('/reauth').set('Cookie', cookieOf(elevated)).expect(201);
    expect(maxAgeOf(reauth)).toBe((90 * DAY) / 1000);
    expect(reauth.body).toMatchObject({ tier: 'remember', absoluteExpiresAt: clock.now() + 90 * DAY, roles: ['admin'] });
  });

  it("'deny-new' answers 409 TOO_MANY_SESSIONS with the devices to choose from, and sets no cookie", async () => {
    const server = (await boot({ maxConcurrentSessions: 2, concurrentSessionPolicy: 'deny-new' })).getHttpServer();
    const laptop = await request(server).post('/login').set('User-Agent', 'Laptop/1').send({}).expect(201);
    clock.advance(1000);
    const phone = await request(server).post('/login').set('User-Agent', 'Phone/2').send({}).expect(201);
    clock.advance(1000);
    const refused = await request(server).post('/login').set('User-Agent', 'Tablet/3').send({}).expect(409);
    expect(cookiesOf(refused).filter((c) => c.startsWith('__Host-sid='))).toEqual([]);
    expect(refused.body).toEqual({
      statusCode: 409,
      code: 'TOO_MANY_SESSIONS',
      message: expect.stringMatching(/too many devices \(at most 2\)/),
      limit: 2,
      sessions: [laptop.body, phone.body].map((v: SessionView) => ({
        handle: v.handle,
        createdAt: v.createdAt,
        lastSeenAt: v.lastSeenAt,
        ip: v.ip,
        userAgent: v.userAgent,
      })),
    });
    expect(refused.body.sessions.map((s: { userAgent: string }) => s.userAgent)).toEqual(['Laptop/1', 'Phone/2']);
    // Nothing was created: the user still has exactly the two sessions.
    const listed = await request(server).get('/sessions').set('Cookie', cookieOf(laptop)).expect(200);
    expect(listed.body.map((s: { handle: string }) => s.handle)).toEqual([laptop.body.handle, phone.body.handle]);
  });

  it('a role elevation makes the next request rotate (new cookie, old id dead); a demotion shows at once without rotation', async () => {
    const server = (await boot()).getHttpServer();
    const login = await request(server)
      .post('/login')
      .send({ roles: ['user'] })
      .expect(201);
    expect(login.body.roles).toEqual(['user']);
    const quiet = await request(server).get('/me').set('Cookie', cookieOf(login)).expect(200);
    expect(cookiesOf(quiet)).toEqual([]);

    await request(server)
      .post('/admin/roles')
      .send({ user: 'alice', roles: ['user', 'admin'] })
      .expect(201, { changed: 1 });
    const elevated = await request(server).get('/me').set('Cookie', cookieOf(login)).expect(200);
    expect(cookieOf(elevated)).not.toBe(cookieOf(login));
    expect(elevated.body).toMatchObject({ roles: ['user', 'admin'], rolesVersion: 1 });
    const stale = await request(server).get('/me').set('Cookie', cookieOf(login)).expect(401);
    expect(stale.body.code).toBe('SESSION_ROTATED');

    await request(server)
      .post('/admin/roles')
      .send({ user: 'alice', roles: ['user'] })
      .expect(201, { changed: 1 });
    const demoted = await request(server).get('/me').set('Cookie', cookieOf(elevated)).expect(200);
    expect(cookiesOf(demoted)).toEqual([]);
    expect(demoted.body).toMatchObject({ roles: ['user'], rolesVersion: 2 });
    // Setting the same roles again changes nothing.
    await request(server)
      .post('/admin/roles')
      .send({ user: 'alice', roles: ['user'] })
      .expect(201, { changed: 0 });
  });

  it('an impersonation session is exempt from the limit, listed with the user, capped at impersonation.maxAge, and never persistent', async () => {
    const server = (
      await boot({
        maxConcurrentSessions: 1,
        concurrentSessionPolicy: 'deny-new',
        impersonation: { maxAge: '1h' },
        cookie: { maxAge: '8h' },
      })
    ).getHttpServer();
    const own = await request(server)
      .post('/login')
      .set('User-Agent', 'Laptop/1')
      .send({ roles: ['user'] })
      .expect(201);
    clock.advance(1000);
    const imp = await request(server)
      .post('/login')
      .send({ impersonatedBy: 'admin-1', roles: ['user'] })
      .expect(201);
    expect(imp.body).toMatchObject({
      userId: 'alice',
      impersonatedBy: 'admin-1',
      tier: 'standard',
      absoluteExpiresAt: clock.now() + 60 * MIN,
    });
    // Its cookie never outlives it, whatever cookie.maxAge says.
    expect(maxAgeOf(imp)).toBe(3600);
    const listed = await request(server).get('/sessions').set('Cookie', cookieOf(own)).expect(200);
    expect(listed.body.map((s: { impersonatedBy: string | null; current: boolean }) => [s.impersonatedBy, s.current])).toEqual([
      [null, true],
      ['admin-1', false],
    ]);
    // Role changes reach it like any session of the user.
    await request(server).post('/admin/roles').send({ user: 'alice', roles: [] }).expect(201, { changed: 2 });

    let cookie = cookieOf(imp);
    for (let i = 0; i < 2; i++) {
      clock.advance(25 * MIN);
      const res = await request(server).get('/me').set('Cookie', cookie).expect(200);
      expect(res.body.roles).toEqual([]);
      if (cookiesOf(res).length > 0) cookie = cookieOf(res);
    }
    // Re-authentication 50 minutes in does not extend it past one hour from its creation.
    const reauth = await request(server).post('/reauth').set('Cookie', cookie).expect(201);
    expect(reauth.body.absoluteExpiresAt).toBe(imp.body.createdAt + 60 * MIN);
    clock.advance(10 * MIN);
    const over = await request(server).get('/me').set('Cookie', cookieOf(reauth)).expect(401);
    expect(over.body.code).toBe('SESSION_EXPIRED');
  });
});

import { Body, Controller, Delete, Get, Injectable, INestApplication, Module, Param, Post, Put, Req, Res } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Request, Response } from 'express';
import request from 'supertest';
import { bootSessionApp, cookieOf, HttpPlatform, PLATFORMS } from '../support/session-app';
import {
  BearerAuth,
  CurrentSession,
  CurrentUser,
  ManualClock,
  Public,
  ReadOptions,
  ReadResult,
  SecurityEvent,
  SessionModule,
  SessionModuleOptions,
  SessionOptionsError,
  SessionService,
  SessionView,
  InMemorySessionStore,
  SessionStore,
  SessionStoreConnectionError,
  SESSION_MODULE_OPTIONS,
  SessionModuleAsyncOptions,
  SessionOptionsFactory,
} from '../../lib';

/** A real in-memory store that can be switched off, to see the module fail closed and recover. */
class SwitchableStore extends InMemorySessionStore {
  down = false;
  override async read(id: string, options: ReadOptions): Promise<ReadResult> {
    if (this.down) throw new SessionStoreConnectionError('connect ECONNREFUSED 127.0.0.1:6379');
    return super.read(id, options);
  }
}

@Controller()
class DemoController {
  constructor(private readonly sessions: SessionService) {}

  @Public()
  @Post('login')
  async login(@Req() req: Request, @Res({ passthrough: true }) res: Response, @Body() body: { user?: string }) {
    return this.sessions.create(req, res, { userId: body.user ?? 'alice', carryOver: ['cart'] });
  }

  @Get('me')
  me(@CurrentUser() userId: string, @CurrentSession() session: SessionView) {
    return { userId, handle: session.handle, data: session.data };
  }

  @Put('data')
  async put(@Req() req: Request, @Body() body: Record<string, unknown>) {
    return (await this.sessions.update(req, (d) => ({ ...d, ...body }))).data;
  }

  @Post('reauth')
  async reauth(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    return this.sessions.reauthenticate(req, res, { aal: 2 });
  }

  @Post('logout')
  async logout(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    await this.sessions.destroy(req, res);
  }

  @Get('sessions')
  list(@Req() req: Request, @CurrentUser() userId: string) {
    return this.sessions.list(userId, req);
  }

  @Delete('sessions/:handle')
  async revoke(@CurrentUser() userId: string, @Param('handle') handle: string) {
    return { revoked: await this.sessions.revoke(userId, handle) };
  }

  @Post('logout-all')
  async logoutAll(@Req() req: Request, @CurrentUser() userId: string) {
    return { ended: await this.sessions.destroyAllForUser(userId, { exceptCurrentOf: req }) };
  }

  @Public()
  @Get('public')
  pub() {
    return { ok: true };
  }

  /** An access-token route in an app that registered no BearerAuthGuard: the session guard refuses it (fail closed). */
  @BearerAuth()
  @Get('token-only')
  tokenOnly() {
    return { reached: true };
  }

  @Public()
  @Get('optional')
  async optional(@Req() req: Request) {
    return { user: (await this.sessions.current(req))?.userId ?? null };
  }
}

@Public()
@Controller('open')
class OpenController {
  @Get()
  open() {
    return { open: true };
  }
}

const boot = (options: SessionModuleOptions, platform: HttpPlatform) =>
  bootSessionApp(options, [DemoController, OpenController], [], platform);

describe.each(PLATFORMS)('SessionModule over HTTP on %s', (platform) => {
  let app: INestApplication;
  let clock: ManualClock;
  let store: SwitchableStore;
  let events: SecurityEvent[];
  const http = () => request(app.getHttpServer());
  /** GET /me following rotations, as a browser would. */
  const follow = async (jar: { cookie: string }, status: number) => {
    const res = await http().get('/me').set('Cookie', jar.cookie).expect(status);
    if (res.headers['set-cookie'] && status === 200) jar.cookie = cookieOf(res);
    return res;
  };
  const login = async (user = 'alice', cookie?: string) => {
    const r = http().post('/login').send({ user });
    return cookieOf(await (cookie ? r.set('Cookie', cookie) : r).expect(201));
  };

  beforeEach(async () => {
    clock = new ManualClock(Date.parse('2026-11-26T08:00:00Z'));
    store = new SwitchableStore();
    events = [];
    app = await boot(
      {
        clock,
        store,
        idleTimeout: '30m',
        absoluteTimeout: '2h',
        rotationInterval: '15m',
        rotationGrace: '10s',
        maxConcurrentSessions: 3,
        eventSinks: [{ handle: (e) => void events.push(e) }],
      },
      platform,
    );
  });
  afterEach(() => app.close());

  it('sets the hardened cookie on login, no-store, and the token appears nowhere else', async () => {
    const res = await http().post('/login').send({ user: 'alice' }).expect(201);
    const set = ([] as string[]).concat(res.headers['set-cookie']);
    expect(set).toHaveLength(1);
    expect(set[0]).toMatch(/^__Host-sid=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    expect(res.headers['cache-control']).toBe('no-store');
    const token = cookieOf(res).split('=')[1];
    expect(JSON.stringify(res.body)).not.toContain(token);
    expect(JSON.stringify(events)).not.toContain(token);
  });

  it('denies by default: 401 SESSION_REQUIRED with a stable body', async () => {
    const res = await http().get('/me').expect(401);
    expect(res.body).toEqual({ statusCode: 401, code: 'SESSION_REQUIRED', message: expect.any(String) });
  });

  it('marks every refusal no-store (no cookie, an empty one, a malformed, an expired one, no verified token, store down)', async () => {
    const noStore = (res: request.Response) => expect(res.headers['cache-control']).toBe('no-store');
    noStore(await http().get('/me').expect(401));
    noStore(await http().get('/me').set('Cookie', '__Host-sid=').expect(401));
    noStore(await http().get('/me').set('Cookie', '__Host-sid=garbage').expect(401));
    noStore(await http().get('/token-only').expect(401));
    const cookie = await login();
    clock.advance(30 * 60_000 + 1);
    noStore(await http().get('/me').set('Cookie', cookie).expect(401));
    const live = await login();
    store.down = true;
    noStore(await http().get('/me').set('Cookie', live).expect(503));
    // A public route is not the guard's to mark.
    expect((await http().get('/public').expect(200)).headers['cache-control']).toBeUndefined();
  });

  it('honours @Public on a method and on a controller, without reading the store', async () => {
    const read = jest.spyOn(store, 'read');
    const cookie = await login();
    await http().get('/public').set('Cookie', cookie).expect(200);
    await http().get('/open').set('Cookie', cookie).expect(200, { open: true });
    expect(read).not.toHaveBeenCalled();
    expect((await http().get('/optional').set('Cookie', cookie).expect(200)).body).toEqual({ user: 'alice' });
    expect(read).toHaveBeenCalledTimes(1);
  });

  it('serves an authenticated request with one store read and no Set-Cookie', async () => {
    const cookie = await login();
    const read = jest.spyOn(store, 'read');
    const update = jest.spyOn(store, 'update');
    const res = await http().get('/me').set('Cookie', cookie).expect(200);
    expect(res.body.userId).toBe('alice');
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(res.headers['cache-control']).toBe('no-store');
    expect(read).toHaveBeenCalledTimes(1);
    expect(update).not.toHaveBeenCalled();
  });

  it.each([
    ['garbage', '__Host-sid=garbage'],
    ['too long', `__Host-sid=${'A'.repeat(5000)}`],
    ['percent-encoded', `__Host-sid=%41%41${'A'.repeat(41)}`],
    ['well-formed but unknown', `__Host-sid=${'A'.repeat(43)}`],
    ['duplicated (tossed)', 'X'],
  ])('treats a %s cookie as anonymous: 401, cookie cleared, never a 500', async (_, cookie) => {
    const real = await login();
    const header = cookie === 'X' ? `${real}; __Host-sid=${'B'.repeat(43)}` : cookie;
    const res = await http().get('/me').set('Cookie', header).expect(401);
    expect(res.body.code).toBe('SESSION_REQUIRED');
    expect(([] as string[]).concat(res.headers['set-cookie'])[0]).toMatch(/^__Host-sid=; .*Max-Age=0/);
  });

  it('accepts the id only from the cookie (not query, header or body)', async () => {
    const cookie = await login();
    const token = cookie.split('=')[1];
    await http().get(`/me?sid=${token}&__Host-sid=${token}`).expect(401);
    await http().get('/me').set('Authorization', `Bearer ${token}`).set('X-Session-Id', token).expect(401);
    await http().put('/data').send({ '__Host-sid': token, sid: token }).expect(401);
  });

  it('never adopts a client-chosen id: login with a planted cookie issues a new one and kills the old', async () => {
    const first = await login('alice');
    await http()
      .put('/data')
      .set('Cookie', first)
      .send({ cart: ['book'], secret: 'x' })
      .expect(200);
    const second = await login('alice', first);
    expect(second).not.toBe(first);
    await http().get('/me').set('Cookie', first).expect(401);
    expect((await http().get('/me').set('Cookie', second).expect(200)).body.data).toEqual({ cart: ['book'] });
  });

  it('times out when idle (SESSION_EXPIRED) and activity resets the idle timer', async () => {
    const jar = { cookie: await login() };
    clock.advance(10 * 60_000);
    await follow(jar, 200);
    clock.advance(14 * 60_000);
    await follow(jar, 200);
    clock.advance(29 * 60_000);
    await follow(jar, 200);
    clock.advance(30 * 60_000);
    const res = await follow(jar, 401);
    expect(res.body.code).toBe('SESSION_EXPIRED');
    expect(events.map((e) => e.type)).toContain('session_expired');
  });

  it('rotates periodically: new cookie, old one valid within grace only', async () => {
    const cookie = await login();
    clock.advance(15 * 60_000);
    const res = await http().get('/me').set('Cookie', cookie).expect(200);
    const fresh = cookieOf(res);
    expect(fresh).not.toBe(cookie);
    await http().get('/me').set('Cookie', cookie).expect(200);
    clock.advance(10_001);
    await http().get('/me').set('Cookie', cookie).expect(401);
    await http().get('/me').set('Cookie', fresh).expect(200);
  });

  it('20 parallel requests at the moment of rotation: none logged out, one new cookie', async () => {
    const cookie = await login();
    clock.advance(15 * 60_000);
    const results = await Promise.all(Array.from({ length: 20 }, () => http().get('/me').set('Cookie', cookie)));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    const issued = results.filter((r) => r.headers['set-cookie']).map(cookieOf);
    expect(issued).toHaveLength(1);
    expect(new Set(results.map((r) => r.body.handle)).size).toBe(1);
    expect(await store.countByUser('alice', clock.now())).toBe(1);
  });

  it('re-authentication rotates at once and resets both timeouts', async () => {
    const before = { cookie: await login() };
    clock.advance(25 * 60_000);
    await follow(before, 200);
    clock.advance(10 * 60_000);
    const cookie = before.cookie;
    const res = await http().post('/reauth').set('Cookie', cookie).expect(201);
    const fresh = cookieOf(res);
    expect(res.body).toMatchObject({ aal: 2, authenticatedAt: clock.now(), absoluteExpiresAt: clock.now() + 2 * 3_600_000 });
    await http().get('/me').set('Cookie', cookie).expect(401);
    const jar = { cookie: fresh };
    // 35m + 4 x 25m = 135m: past the original 2h absolute deadline, inside the new one.
    for (let i = 0; i < 4; i++) {
      clock.advance(25 * 60_000);
      await follow(jar, 200);
    }
    clock.advance(25 * 60_000);
    await follow(jar, 401);
  });

  it('never outlives the absolute timeout, whatever the activity', async () => {
    let cookie = await login();
    for (let i = 0; i < 11; i++) {
      clock.advance(10 * 60_000);
      const res = await http().get('/me').set('Cookie', cookie).expect(200);
      if (res.headers['set-cookie']) cookie = cookieOf(res);
    }
    clock.advance(10 * 60_000);
    expect((await http().get('/me').set('Cookie', cookie).expect(401)).body.code).toBe('SESSION_EXPIRED');
  });

  it('logout destroys server-side, clears the cookie and site data', async () => {
    const cookie = await login();
    const res = await http().post('/logout').set('Cookie', cookie).expect(201);
    expect(([] as string[]).concat(res.headers['set-cookie'])[0]).toMatch(
      /^__Host-sid=; Path=\/; HttpOnly; Secure; SameSite=Lax; Max-Age=0/,
    );
    expect(res.headers['clear-site-data']).toBe('"cache", "storage"');
    await http().get('/me').set('Cookie', cookie).expect(401);
    expect(events.map((e) => e.type)).toContain('session_logout');
  });

  it('lists, revokes by handle (own only) and logs out everywhere else', async () => {
    const a = await login('alice');
    const b = await login('alice');
    const bob = await login('bob');
    const list = (await http().get('/sessions').set('Cookie', a).expect(200)).body as Array<{
      handle: string;
      current: boolean;
      ip: string;
      userAgent: string;
    }>;
    expect(list).toHaveLength(2);
    expect(list.filter((s) => s.current)).toHaveLength(1);
    const bobHandle = (await http().get('/me').set('Cookie', bob).expect(200)).body.handle;
    expect((await http().delete(`/sessions/${bobHandle}`).set('Cookie', a).expect(200)).body).toEqual({ revoked: false });
    await http().get('/me').set('Cookie', bob).expect(200);
    const other = list.find((s) => !s.current)!.handle;
    expect((await http().delete(`/sessions/${other}`).set('Cookie', a).expect(200)).body).toEqual({ revoked: true });
    await http().get('/me').set('Cookie', b).expect(401);
    const c = await login('alice');
    expect((await http().post('/logout-all').set('Cookie', a).expect(201)).body).toEqual({ ended: 1 });
    await http().get('/me').set('Cookie', c).expect(401);
    await http().get('/me').set('Cookie', a).expect(200);
  });

  it('keeps 50 parallel data updates', async () => {
    const cookie = await login();
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        http()
          .put('/data')
          .set('Cookie', cookie)
          .send({ [`k${i}`]: i })
          .expect(200),
      ),
    );
    const data = (await http().get('/me').set('Cookie', cookie).expect(200)).body.data;
    expect(Object.keys(data)).toHaveLength(50);
  });

  it('fails closed with 503 while the store is down, and recovers by itself', async () => {
    const cookie = await login();
    store.down = true;
    const res = await http().get('/me').set('Cookie', cookie).expect(503);
    expect(res.body).toEqual({ statusCode: 503, code: 'SESSION_STORE_UNAVAILABLE', message: expect.any(String) });
    expect(events.some((e) => e.type === 'session_store_unavailable')).toBe(true);
    await http().get('/public').expect(200);
    store.down = false;
    await http().get('/me').set('Cookie', cookie).expect(200);
  });

  it('enforces the concurrent-session limit (3): the oldest is revoked', async () => {
    const first = await login();
    await login();
    await login();
    await login();
    await http().get('/me').set('Cookie', first).expect(401);
    expect(events.filter((e) => e.type === 'excess_sessions_exceeded')).toHaveLength(1);
  });
});

describe('SessionModule configuration', () => {
  @Injectable()
  class OptionsFactory implements SessionOptionsFactory {
    createSessionOptions(): SessionModuleOptions {
      return { idleTimeout: '5m', absoluteTimeout: '1h' };
    }
  }

  @Module({ providers: [OptionsFactory, { provide: 'IDLE', useValue: '7m' }], exports: [OptionsFactory, 'IDLE'] })
  class ConfigModule {}

  const idleOf = async (imports: unknown[]) => {
    const ref = await Test.createTestingModule({ imports: imports as never[] }).compile();
    const sessions = ref.get(SessionService);
    return (sessions as unknown as { options: { idleTimeoutMs: number } }).options.idleTimeoutMs;
  };

  it('forRootAsync with useFactory, inject and imports', async () => {
    // Typed with the exported SessionModuleAsyncOptions, as an app's config module would build it.
    const asyncOptions: SessionModuleAsyncOptions = {
      imports: [ConfigModule],
      inject: ['IDLE'],
      useFactory: (idle: string) => ({ idleTimeout: idle }),
    };
    expect(await idleOf([SessionModule.forRootAsync(asyncOptions)])).toBe(420_000);
  });

  it('exposes the raw options under the one public token, SESSION_MODULE_OPTIONS', async () => {
    const ref = await Test.createTestingModule({ imports: [SessionModule.forRoot({ idleTimeout: '9m' })] }).compile();
    expect(SESSION_MODULE_OPTIONS).toBe('SESSION_MODULE_OPTIONS');
    expect(ref.get(SESSION_MODULE_OPTIONS)).toMatchObject({ idleTimeout: '9m' });
  });

  it('forRootAsync with useClass', async () => {
    expect(await idleOf([SessionModule.forRootAsync({ useClass: OptionsFactory })])).toBe(300_000);
  });

  it('forRootAsync with useExisting', async () => {
    expect(await idleOf([SessionModule.forRootAsync({ imports: [ConfigModule], useExisting: OptionsFactory })])).toBe(300_000);
  });

  it('isGlobal exposes SessionService to every module', async () => {
    @Injectable()
    class Consumer {
      constructor(readonly sessions: SessionService) {}
    }
    @Module({ providers: [Consumer] })
    class FeatureModule {}
    const ref = await Test.createTestingModule({ imports: [SessionModule.forRoot({ isGlobal: true }), FeatureModule] }).compile();
    expect(ref.get(Consumer).sessions).toBeInstanceOf(SessionService);
  });

  it('stops start-up on bad options with a message naming the option and the fix', async () => {
    const compile = Test.createTestingModule({ imports: [SessionModule.forRoot({ idleTimeout: '1h', absoluteTimeout: '30m' })] }).compile();
    await expect(compile).rejects.toBeInstanceOf(SessionOptionsError);
    await expect(
      Test.createTestingModule({ imports: [SessionModule.forRoot({ idleTimeout: '1h', absoluteTimeout: '30m' })] }).compile(),
    ).rejects.toThrow(/absoluteTimeout \(30m\) is shorter than idleTimeout \(1h\)/);
  });

  it('closes the store at shutdown (closeStoreOnShutdown, default true), and not when told not to', async () => {
    const closing = async (options: SessionModuleOptions) => {
      const ref = await Test.createTestingModule({ imports: [SessionModule.forRoot(options)] }).compile();
      const app = ref.createNestApplication({ logger: false });
      await app.init();
      const close = jest.spyOn(ref.get(SessionStore), 'close');
      await app.close();
      return close.mock.calls.length;
    };
    expect(await closing({})).toBe(1);
    expect(await closing({ store: new InMemorySessionStore() })).toBe(1);
    expect(await closing({ store: new InMemorySessionStore(), closeStoreOnShutdown: false })).toBe(0);
  });
});

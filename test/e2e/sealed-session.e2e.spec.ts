/**
 * Sealed-cookie sessions over HTTP with the real module: the same guards, decorators and SessionService calls as the
 * server-side mode (SessionAuthGuard, CsrfGuard, RolesGuard, ReAuthGuard, @CurrentUser, @CurrentSession,
 * @AllowPendingSession, update, rotate, reauthenticate, complete, logout, logout everywhere, admin revoke), with the
 * session in a `__Host-` HttpOnly cookie sealed as JWE dir + A256GCM, and logouts kept in a TokenStore: the in-memory
 * one, Redis (the shared server, under a prefix of this run) and TypeORM on PostgreSQL (a schema of this run). A
 * missing server fails the spec with a message; it never skips.
 */
import { randomBytes } from 'node:crypto';
import { Body, Controller, Get, HttpCode, INestApplication, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { decodeProtectedHeader } from 'jose';
import { createClient } from 'redis';
import request from 'supertest';
import { DataSource } from 'typeorm';
import {
  AllowPendingSession,
  CsrfGuard,
  CsrfService,
  CurrentSession,
  CurrentUser,
  ManualClock,
  Public,
  ReAuth,
  ReAuthGuard,
  Roles,
  RolesGuard,
  SealedSessionsUnlistedError,
  SecurityEvent,
  SessionService,
  SessionView,
  SkipCsrf,
  TokenStore,
} from '../../lib';
import { RedisTokenStore } from '../../lib/stores/redis';
import { TOKEN_ENTITIES, TOKEN_MIGRATIONS, TypeOrmTokenStore } from '../../lib/stores/typeorm';
import { acrossPlatforms, bootSessionApp, cookiesOf } from '../support/session-app';

jest.setTimeout(60_000);

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PG_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const KEY = randomBytes(32).toString('base64url');
const IDLE = 30 * 60_000;
const TOUCH = 60_000;

@Controller()
class SealedController {
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
  async login(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Body() body: { user: string; roles?: string[]; pending?: boolean },
  ) {
    const view = await this.sessions.create(req, res, {
      userId: body.user,
      roles: body.roles,
      stage: body.pending ? 'pending' : 'complete',
    });
    return { handle: view.handle };
  }

  @Get('me')
  me(@CurrentUser() user: string, @CurrentSession() session: SessionView) {
    return { user, roles: session.roles, stage: session.stage, aal: session.aal, data: session.data };
  }

  @Roles('admin')
  @Get('admin')
  admin() {
    return { ok: 'admin' };
  }

  @ReAuth()
  @Post('sensitive')
  @HttpCode(200)
  sensitive() {
    return { ok: 'sensitive' };
  }

  @Post('cart')
  @HttpCode(200)
  async cart(@Req() req: Request, @Body() body: { item: string }) {
    const view = await this.sessions.update(req, (data) => ({ ...data, cart: [...((data.cart as string[]) ?? []), body.item] }));
    return { cart: view.data.cart };
  }

  @Post('big')
  @HttpCode(200)
  async big(@Req() req: Request, @Body() body: { bytes: number }) {
    await this.sessions.update(req, (data) => ({ ...data, blob: 'x'.repeat(body.bytes) }));
    return { ok: true };
  }

  @Post('reauth')
  @HttpCode(200)
  async reauth(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    return { authenticatedAt: (await this.sessions.reauthenticate(req, res)).authenticatedAt };
  }

  @AllowPendingSession()
  @Post('mfa')
  @HttpCode(200)
  async mfa(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const view = await this.sessions.complete(req, res, { aal: 2 });
    return { stage: view.stage, aal: view.aal };
  }

  @AllowPendingSession()
  @Get('pending')
  pendingPage(@CurrentSession() session: SessionView) {
    return { stage: session.stage };
  }

  @Post('logout')
  @HttpCode(204)
  async logout(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    await this.sessions.destroy(req, res);
  }

  @Post('logout-others')
  @HttpCode(200)
  async logoutOthers(@Req() req: Request, @CurrentUser() user: string) {
    return { ended: await this.sessions.destroyAllForUser(user, { exceptCurrentOf: req }) };
  }

  // An administrator's call in this test (no browser): no CSRF token to send.
  @SkipCsrf()
  @Public()
  @Post('admin/revoke')
  @HttpCode(200)
  async revoke(@Body() body: { user: string; handle: string }) {
    return { revoked: await this.sessions.revoke(body.user, body.handle) };
  }

  // An administrator's call in this test (no browser): no CSRF token to send.
  @SkipCsrf()
  @Public()
  @Post('admin/logout-all')
  @HttpCode(200)
  async logoutAll(@Body() body: { user: string }) {
    return { ended: await this.sessions.destroyAllForUser(body.user) };
  }

  // An administrator's call in this test (no browser): no CSRF token to send.
  @SkipCsrf()
  @Public()
  @Post('admin/roles')
  @HttpCode(200)
  async roles(@Body() body: { user: string; roles: string[] }) {
    return { changed: await this.sessions.setRoles(body.user, body.roles) };
  }

  @Get('sessions')
  async list(@CurrentUser() user: string, @Req() req: Request) {
    return this.sessions.list(user, req);
  }
}

/** A browser of one user: its cookie jar holds the session cookie as the answers set it. */
class Browser {
  /** The session cookie (`__Host-sid=...`). */
  cookie: string | undefined;
  /** Other cookies (the pre-login CSRF nonce). */
  private readonly others = new Map<string, string>();
  csrfToken: string | undefined;

  constructor(private readonly app: INestApplication) {}

  async send(method: 'get' | 'post', path: string, body?: object, headers: Record<string, string> = {}): Promise<request.Response> {
    let req = request(this.app.getHttpServer())[method](path);
    const jar = [...this.others.entries()].map(([name, value]) => `${name}=${value}`);
    if (this.cookie) jar.push(this.cookie);
    if (jar.length > 0) req = req.set('Cookie', jar.join('; '));
    if (method === 'post' && this.csrfToken) req = req.set('x-csrf-token', this.csrfToken);
    for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
    const res = await (body ? req.send(body) : req);
    const set = cookiesOf(res).find((c) => c.startsWith('__Host-sid='));
    if (set) this.cookie = /Max-Age=0/.test(set) ? undefined : set.split(';')[0];
    for (const other of cookiesOf(res).filter((c) => !c.startsWith('__Host-sid='))) {
      const [pair] = other.split(';');
      const at = pair.indexOf('=');
      if (/Max-Age=0/.test(other)) this.others.delete(pair.slice(0, at));
      else this.others.set(pair.slice(0, at), pair.slice(at + 1));
    }
    return res;
  }

  /** A fresh CSRF token for the current session (tokens change at login and privilege changes, by design). */
  async refreshCsrf(): Promise<void> {
    this.csrfToken = undefined;
    this.csrfToken = (await this.send('get', '/csrf')).body.token;
  }

  async login(user: string, extra: { roles?: string[]; pending?: boolean } = {}): Promise<string> {
    await this.refreshCsrf();
    const res = await this.send('post', '/login', { user, ...extra });
    expect(res.status).toBe(200);
    await this.refreshCsrf();
    return res.body.handle as string;
  }
}

interface Backend {
  name: string;
  open(): Promise<{ revocations: TokenStore | 'memory'; cleanup(): Promise<void> }>;
}

const backends: Backend[] = [
  { name: 'memory', open: async () => ({ revocations: 'memory', cleanup: async () => undefined }) },
  {
    name: 'redis',
    open: async () => {
      const prefix = `{nsk-sealed-${randomBytes(6).toString('hex')}}:`;
      const client = createClient({ url: REDIS_URL, disableOfflineQueue: true, socket: { reconnectStrategy: false } });
      client.on('error', () => undefined);
      await client.connect().catch((error: Error) => {
        throw new Error(`Redis is not reachable at ${REDIS_URL} (${error.message}); start it with scripts/ensure-services.sh`);
      });
      const store = new RedisTokenStore({ client, prefix });
      return {
        revocations: store,
        cleanup: async () => {
          for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length > 0) await client.del(keys);
          client.destroy();
        },
      };
    },
  },
  {
    name: 'typeorm (PostgreSQL)',
    open: async () => {
      const schema = `nsk_sealed_${process.pid}_${randomBytes(3).toString('hex')}`;
      const admin = new DataSource({ type: 'postgres', url: PG_URL });
      await admin.initialize().catch((error: Error) => {
        throw new Error(`PostgreSQL is not reachable at ${PG_URL} (${error.message}); start it with scripts/ensure-services.sh`);
      });
      await admin.query(`CREATE SCHEMA "${schema}"`);
      const dataSource = new DataSource({
        type: 'postgres',
        url: PG_URL,
        schema,
        entities: TOKEN_ENTITIES,
        migrations: TOKEN_MIGRATIONS,
      });
      await dataSource.initialize();
      await dataSource.runMigrations();
      return {
        revocations: new TypeOrmTokenStore({ dataSource }),
        cleanup: async () => {
          await dataSource.destroy();
          await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
          await admin.destroy();
        },
      };
    },
  },
];

describe.each(acrossPlatforms(backends))('sealed-cookie sessions, revocations in $name on $platform', (backend) => {
  let app: INestApplication;
  let clock: ManualClock;
  let cleanup: () => Promise<void>;
  const events: SecurityEvent[] = [];

  beforeAll(async () => {
    const opened = await backend.open();
    cleanup = opened.cleanup;
    clock = new ManualClock(Date.parse('2026-11-30T10:00:00Z'));
    app = await bootSessionApp(
      {
        sealed: { keys: [{ kid: 'k1', key: KEY }], revocations: opened.revocations },
        clock,
        idleTimeout: IDLE,
        absoluteTimeout: '2h',
        touchInterval: TOUCH,
        rotationInterval: 0,
        csrf: { secret: randomBytes(32) },
        eventSinks: [{ handle: (event) => void events.push(event) }],
      },
      [SealedController],
      [CsrfGuard, RolesGuard, ReAuthGuard],
      backend.platform,
    );
  });

  afterAll(async () => {
    await app?.close();
    await cleanup?.();
  });

  /** Moves time on past any denylist boundary of the previous test (cut-offs compare to the ms). */
  beforeEach(() => clock.advance(1000));

  it('seals the session into a __Host- HttpOnly cookie (JWE dir + A256GCM with a kid) that the guards and decorators read', async () => {
    const alice = new Browser(app);
    await alice.login(`alice-${backend.name}`, { roles: ['user'] });
    const setCookie = cookiesOf(await alice.send('post', '/login', { user: `alice-${backend.name}`, roles: ['user'] })).find((c) =>
      c.startsWith('__Host-sid='),
    )!;
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; Secure/);
    expect(setCookie).toMatch(/; Path=\//);
    const value = alice.cookie!.slice('__Host-sid='.length);
    expect(value.split('.')).toHaveLength(5);
    expect(decodeProtectedHeader(value)).toEqual({ alg: 'dir', enc: 'A256GCM', kid: 'k1' });
    // Nothing of the record is readable in the cookie.
    expect(value).not.toContain(Buffer.from(`alice-${backend.name}`).toString('base64url').slice(0, 8));
    const me = await alice.send('get', '/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ user: `alice-${backend.name}`, roles: ['user'], stage: 'complete', aal: 1 });
    expect((await alice.send('get', '/admin')).status).toBe(403);
    expect((await new Browser(app).send('get', '/me')).status).toBe(401);
  });

  it('RolesGuard admits an admin; CSRF refuses a write without the token', async () => {
    const admin = new Browser(app);
    await admin.login(`root-${backend.name}`, { roles: ['admin'] });
    expect((await admin.send('get', '/admin')).body).toEqual({ ok: 'admin' });
    const token = admin.csrfToken;
    admin.csrfToken = undefined;
    const refused = await admin.send('post', '/cart', { item: 'a' });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('CSRF_REJECTED');
    admin.csrfToken = token;
    expect((await admin.send('post', '/cart', { item: 'a' })).status).toBe(200);
  });

  it('a data update re-seals the cookie; the next request sees the data', async () => {
    const bob = new Browser(app);
    await bob.login(`bob-${backend.name}`);
    const before = bob.cookie;
    const res = await bob.send('post', '/cart', { item: 'apple' });
    expect(res.body).toEqual({ cart: ['apple'] });
    expect(bob.cookie).not.toBe(before);
    await bob.send('post', '/cart', { item: 'pear' });
    expect((await bob.send('get', '/me')).body.data).toEqual({ cart: ['apple', 'pear'] });
  });

  it('idle touch re-seals at the touch interval only; idle and absolute timeouts end the session from the sealed claims', async () => {
    const carol = new Browser(app);
    await carol.login(`carol-${backend.name}`);
    const first = carol.cookie;
    clock.advance(TOUCH - 1000);
    const early = await carol.send('get', '/me');
    expect(early.status).toBe(200);
    expect(cookiesOf(early)).toEqual([]);
    clock.advance(1000);
    const touched = await carol.send('get', '/me');
    expect(touched.status).toBe(200);
    expect(carol.cookie).not.toBe(first);
    // Idle: past 30 minutes without a request.
    const stale = carol.cookie;
    clock.advance(IDLE);
    const idle = await carol.send('get', '/me');
    expect(idle.status).toBe(401);
    expect(cookiesOf(idle).some((c) => c.startsWith('__Host-sid=;'))).toBe(true);
    expect(events.some((e) => e.type === 'session_expired' && e.reason === 'idle_timeout' && e.userId === `carol-${backend.name}`)).toBe(
      true,
    );
    // Absolute: active every 20 minutes, the session still ends 2 h after login.
    carol.cookie = stale;
    const dave = new Browser(app);
    await dave.login(`dave-${backend.name}`);
    for (let t = 0; t < 5; t++) {
      clock.advance(20 * 60_000);
      expect((await dave.send('get', '/me')).status).toBe(200);
    }
    clock.advance(20 * 60_000);
    expect((await dave.send('get', '/me')).status).toBe(401);
    expect(events.some((e) => e.type === 'session_expired' && e.reason === 'absolute_timeout' && e.userId === `dave-${backend.name}`)).toBe(
      true,
    );
  });

  it('logout refuses the cookie at the next request, an old copy of it included', async () => {
    const erin = new Browser(app);
    await erin.login(`erin-${backend.name}`);
    await erin.send('post', '/cart', { item: 'a' });
    const older = erin.cookie;
    await erin.send('post', '/cart', { item: 'b' });
    const copy = erin.cookie;
    expect((await erin.send('post', '/logout')).status).toBe(204);
    for (const stolen of [copy, older]) {
      const thief = new Browser(app);
      thief.cookie = stolen;
      expect((await thief.send('get', '/me')).status).toBe(401);
    }
  });

  it('logout everywhere but here: the other sessions are refused at their next request, this one goes on', async () => {
    const user = `frank-${backend.name}`;
    const laptop = new Browser(app);
    const phone = new Browser(app);
    await laptop.login(user);
    await phone.login(user);
    clock.advance(1000);
    const res = await laptop.send('post', '/logout-others');
    expect(res.status).toBe(200);
    // The server cannot count sealed sessions: it says 0, as documented.
    expect(res.body).toEqual({ ended: 0 });
    expect((await phone.send('get', '/me')).status).toBe(401);
    expect((await laptop.send('get', '/me')).status).toBe(200);
    // A later login of the user is not caught by the cut-off.
    clock.advance(1000);
    const tablet = new Browser(app);
    await tablet.login(user);
    expect((await tablet.send('get', '/me')).status).toBe(200);
    // An administrator's logout everywhere (no session kept) ends all of them.
    clock.advance(1000);
    await request(app.getHttpServer()).post('/admin/logout-all').send({ user }).expect(200);
    expect((await laptop.send('get', '/me')).status).toBe(401);
    expect((await tablet.send('get', '/me')).status).toBe(401);
  });

  it('admin revoke by handle ends that session only, and only for the user it belongs to', async () => {
    const user = `gina-${backend.name}`;
    const one = new Browser(app);
    const two = new Browser(app);
    const handle = await one.login(user);
    await two.login(user);
    // Another user naming this handle ends nothing.
    await request(app.getHttpServer()).post('/admin/revoke').send({ user: 'mallory', handle }).expect(200);
    expect((await one.send('get', '/me')).status).toBe(200);
    const res = await request(app.getHttpServer()).post('/admin/revoke').send({ user, handle });
    expect(res.body).toEqual({ revoked: true });
    expect((await one.send('get', '/me')).status).toBe(401);
    expect((await two.send('get', '/me')).status).toBe(200);
  });

  it('a role change applies at the next request by ending the sealed sessions (the roles are sealed in the cookie)', async () => {
    const user = `hank-${backend.name}`;
    const b = new Browser(app);
    await b.login(user, { roles: ['admin'] });
    expect((await b.send('get', '/admin')).status).toBe(200);
    clock.advance(1000);
    await request(app.getHttpServer())
      .post('/admin/roles')
      .send({ user, roles: ['user'] })
      .expect(200);
    expect((await b.send('get', '/admin')).status).toBe(401);
  });

  it('MFA: a pending session reaches only @AllowPendingSession routes; completing it re-seals, and the pending cookie dies', async () => {
    const ivy = new Browser(app);
    await ivy.login(`ivy-${backend.name}`, { pending: true });
    const pending = ivy.cookie;
    expect((await ivy.send('get', '/me')).status).toBe(401);
    expect((await ivy.send('get', '/pending')).body).toEqual({ stage: 'pending' });
    expect((await ivy.send('post', '/mfa')).body).toEqual({ stage: 'complete', aal: 2 });
    expect(ivy.cookie).not.toBe(pending);
    expect((await ivy.send('get', '/me')).body).toMatchObject({ stage: 'complete', aal: 2 });
    const replay = new Browser(app);
    replay.cookie = pending;
    expect((await replay.send('get', '/pending')).status).toBe(401);
  });

  it('@ReAuth asks for a recent authentication; re-authenticating rotates the cookie and the old one dies', async () => {
    const jack = new Browser(app);
    await jack.login(`jack-${backend.name}`);
    expect((await jack.send('post', '/sensitive')).status).toBe(200);
    clock.advance(6 * 60_000);
    const stale = await jack.send('post', '/sensitive');
    expect(stale.status).toBe(401);
    expect(stale.body.code).toBe('REAUTH_REQUIRED');
    const old = jack.cookie;
    expect((await jack.send('post', '/reauth')).status).toBe(200);
    expect(jack.cookie).not.toBe(old);
    await jack.refreshCsrf();
    expect((await jack.send('post', '/sensitive')).status).toBe(200);
    const replay = new Browser(app);
    replay.cookie = old;
    expect((await replay.send('get', '/me')).status).toBe(401);
  });

  it('a malformed, tampered or truncated cookie is an anonymous request (401 on guarded routes, public ones served), never a 500', async () => {
    const kate = new Browser(app);
    await kate.login(`kate-${backend.name}`);
    const value = kate.cookie!.slice('__Host-sid='.length);
    const parts = value.split('.');
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    const bad = [
      'garbage',
      value.slice(0, -5),
      [parts[0], parts[1], parts[2], flip(parts[3]), parts[4]].join('.'),
      [parts[0], parts[1], parts[2], parts[4], parts[3]].join('.'),
      'x'.repeat(5000),
    ];
    for (const cookie of bad) {
      const res = await request(app.getHttpServer()).get('/me').set('Cookie', `__Host-sid=${cookie}`);
      expect(res.status).toBe(401);
      const pub = await request(app.getHttpServer()).get('/csrf').set('Cookie', `__Host-sid=${cookie}`);
      expect(pub.status).toBe(200);
    }
  });

  it('too much session data is a clear error at write time, and the cookie the browser holds stays good', async () => {
    const liam = new Browser(app);
    await liam.login(`liam-${backend.name}`);
    const before = liam.cookie;
    const res = await liam.send('post', '/big', { bytes: 4000 });
    expect(res.status).toBe(500);
    expect(cookiesOf(res).filter((c) => c.startsWith('__Host-sid='))).toEqual([]);
    expect(liam.cookie).toBe(before);
    expect((await liam.send('get', '/me')).status).toBe(200);
    expect((await liam.send('post', '/big', { bytes: 1000 })).status).toBe(200);
  });

  it("listing a user's sessions has no honest answer in this mode: SessionService.list refuses with a message", async () => {
    const mia = new Browser(app);
    await mia.login(`mia-${backend.name}`);
    const sessions = app.get(SessionService);
    await expect(sessions.list(`mia-${backend.name}`)).rejects.toThrow(SealedSessionsUnlistedError);
    await expect(sessions.list(`mia-${backend.name}`)).rejects.toThrow(/cannot be listed/);
  });
});

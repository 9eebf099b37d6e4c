/**
 * The core's second pass, over HTTP with the real module and guard: tombstoned ids after a privilege change,
 * rotation cookies that must not be dropped, stages and assurance levels, request-time checks, deny-by-default
 * outside HTTP, start-up that connects the store, and errors that keep their meaning (503 only for outages).
 */
import { Body, Controller, ExecutionContext, Get, INestApplication, Post, Req, Res } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import type { Request, Response } from 'express';
import request from 'supertest';
import { bootSessionApp, cookieOf, cookiesOf, HttpPlatform, PLATFORMS } from '../support/session-app';
import {
  AllowPendingSession,
  CurrentSession,
  InMemorySessionStore,
  ManualClock,
  Public,
  RequireAal,
  SecurityEvent,
  SessionAuthGuard,
  SessionCheck,
  SessionModuleOptions,
  SessionService,
  SessionStoreConnectionError,
  SessionView,
} from '../../lib';
import { RedisSessionStore } from '../../lib/stores/redis';

@Controller()
class SeamsController {
  constructor(private readonly sessions: SessionService) {}

  @Public()
  @Post('login')
  login(@Req() req: Request, @Res({ passthrough: true }) res: Response, @Body() body: { user?: string; pending?: boolean }) {
    return this.sessions.create(req, res, { userId: body.user ?? 'alice', stage: body.pending ? 'pending' : 'complete' });
  }

  @AllowPendingSession()
  @Post('mfa')
  mfa(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    return this.sessions.complete(req, res, { aal: 2 });
  }

  @AllowPendingSession()
  @Get('pending-ok')
  pendingOk(@CurrentSession() session: SessionView) {
    return { stage: session.stage };
  }

  @Get('me')
  me(@CurrentSession() session: SessionView) {
    return session;
  }

  @RequireAal(2)
  @Get('security')
  security() {
    return { ok: true };
  }

  @Post('promote')
  async promote(@CurrentSession() session: SessionView) {
    return { marked: await this.sessions.bumpPrivileges(session.userId) };
  }

  /** A public route that writes without passing `res` and without the guard having loaded the session. */
  @Public()
  @Post('public-write')
  async publicWrite(@Req() req: Request) {
    return (await this.sessions.update(req, (d) => ({ ...d, visits: Number(d.visits ?? 0) + 1 }))).data;
  }

  /** Loads without a response first (as a service deep in the call chain might), then with one. */
  @Public()
  @Get('late-response')
  async lateResponse(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    // Hide Express's req.res for the first load, as a platform without it would.
    const expressRes = req.res;
    req.res = undefined;
    await this.sessions.current(req);
    req.res = expressRes;
    return { user: (await this.sessions.current(req, res))?.userId ?? null };
  }

  @Public()
  @Post('logout-others')
  async logoutOthers(@Req() req: Request, @Body() body: { user: string }) {
    return { ended: await this.sessions.destroyAllForUser(body.user, { exceptCurrentOf: req }) };
  }

  @Public()
  @Get('list')
  async list(@Req() req: Request) {
    return this.sessions.list('alice', req);
  }

  @Post('bigint')
  async bigint(@Req() req: Request) {
    return (await this.sessions.update(req, (d) => ({ ...d, n: BigInt(1) }))).data;
  }
}

const bootOn = (platform: HttpPlatform) => (options: SessionModuleOptions) => bootSessionApp(options, [SeamsController], [], platform);

describe.each(PLATFORMS)('SessionModule seams on %s', (platform) => {
  const boot = bootOn(platform);
  let app: INestApplication;
  let clock: ManualClock;
  let store: InMemorySessionStore;
  let events: SecurityEvent[];
  const http = () => request(app.getHttpServer());
  const login = async (body: { user?: string; pending?: boolean } = {}) => cookieOf(await http().post('/login').send(body).expect(201));
  const start = async (extra: SessionModuleOptions = {}) => {
    clock = new ManualClock(Date.parse('2026-11-30T08:00:00Z'));
    store = new InMemorySessionStore();
    events = [];
    app = await boot({
      clock,
      store,
      rotationInterval: '15m',
      rotationGrace: '10s',
      eventSinks: [{ handle: (e) => void events.push(e) }],
      ...extra,
    });
  };
  afterEach(async () => {
    await app?.close();
  });

  describe('privilege change under parallel requests', () => {
    beforeEach(() => start());

    it('20 parallel requests: one gets the new cookie, the rest 401 SESSION_ROTATED with no Set-Cookie; the old id never works again', async () => {
      const cookie = await login();
      await http().post('/promote').set('Cookie', cookie).expect(201);
      const responses = await Promise.all(Array.from({ length: 20 }, () => http().get('/me').set('Cookie', cookie)));
      const winners = responses.filter((r) => r.status === 200);
      const losers = responses.filter((r) => r.status !== 200);
      expect(winners).toHaveLength(1);
      expect(cookiesOf(winners[0]).filter((c) => c.startsWith('__Host-sid='))).toHaveLength(1);
      for (const r of losers) {
        expect(r.status).toBe(401);
        expect(r.body.code).toBe('SESSION_ROTATED');
        // The fix: a loser must not clear the cookie the winner just set.
        expect(r.headers['set-cookie']).toBeUndefined();
      }
      const fresh = cookieOf(winners[0]);
      await http().get('/me').set('Cookie', fresh).expect(200);
      const again = await http().get('/me').set('Cookie', cookie).expect(401);
      expect(again.body.code).toBe('SESSION_ROTATED');
      expect(again.headers['set-cookie']).toBeUndefined();
      // Past the tombstone window the old id is simply unknown, and its cookie is cleared.
      clock.advance(61_000);
      const late = await http().get('/me').set('Cookie', cookie).expect(401);
      expect(late.body.code).toBe('SESSION_REQUIRED');
      expect(cookiesOf(late).some((c) => c.startsWith('__Host-sid=;'))).toBe(true);
      await http().get('/me').set('Cookie', fresh).expect(200);
    });
  });

  describe('rotation cookies are never dropped', () => {
    beforeEach(() => start());

    it('a write on a public route (no res passed, session not loaded by the guard) still sends the rotated cookie', async () => {
      const cookie = await login();
      clock.advance(16 * 60_000); // periodic rotation due
      const res = await http().post('/public-write').set('Cookie', cookie).expect(201);
      expect(res.body).toEqual({ visits: 1 });
      const rotated = cookieOf(res);
      expect(rotated).not.toBe(cookie);
      clock.advance(11_000); // past the grace window: only the new cookie works
      const me = await http().get('/me').set('Cookie', rotated).expect(200);
      expect(me.body.data).toEqual({ visits: 1 });
    });

    it('a load without any response, then one with it: the pending cookie is written', async () => {
      const cookie = await login();
      clock.advance(16 * 60_000);
      const res = await http().get('/late-response').set('Cookie', cookie).expect(200);
      expect(res.body.user).toBe('alice');
      const rotated = cookieOf(res);
      expect(rotated).not.toBe(cookie);
      clock.advance(11_000);
      await http().get('/me').set('Cookie', rotated).expect(200);
    });

    it('destroyAllForUser({ exceptCurrentOf }) and list() load the current session first', async () => {
      const keep = await login();
      const other = await login();
      const listing = await http().get('/list').set('Cookie', keep).expect(200);
      expect(listing.body.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
      const ended = await http().post('/logout-others').set('Cookie', keep).send({ user: 'alice' }).expect(201);
      expect(ended.body.ended).toBe(1);
      await http().get('/me').set('Cookie', keep).expect(200);
      await http().get('/me').set('Cookie', other).expect(401);
    });
  });

  describe('stages and assurance', () => {
    beforeEach(() => start());

    it('a pending session reaches only @AllowPendingSession routes until completed, then rotates to aal 2', async () => {
      const pending = await login({ pending: true });
      const refused = await http().get('/me').set('Cookie', pending).expect(401);
      expect(refused.body.code).toBe('SESSION_REQUIRED');
      expect(refused.body.message).toMatch(/second factor/);
      await http().get('/security').set('Cookie', pending).expect(401);
      expect((await http().get('/pending-ok').set('Cookie', pending).expect(200)).body).toEqual({ stage: 'pending' });
      const done = await http().post('/mfa').set('Cookie', pending).expect(201);
      expect(done.body).toMatchObject({ stage: 'complete', aal: 2 });
      const complete = cookieOf(done);
      expect(complete).not.toBe(pending);
      await http().get('/me').set('Cookie', pending).expect(401);
      await http().get('/security').set('Cookie', complete).expect(200);
    });

    it('@RequireAal(2) answers 403 MFA_REQUIRED to a one-factor session', async () => {
      const cookie = await login();
      const res = await http().get('/security').set('Cookie', cookie).expect(403);
      expect(res.body).toEqual({ statusCode: 403, code: 'MFA_REQUIRED', message: expect.any(String) });
    });

    it('@RequireAal refuses a level that cannot exist, at decoration time', () => {
      expect(() => {
        class Misconfigured {
          @RequireAal(5) route() {}
        }
        return Misconfigured;
      }).toThrow(/@RequireAal\(5\): give an assurance level of 1, 2 or 3/);
    });

    it('the view exposes client info, stage, roles, tier and impersonation, never the token or id', async () => {
      const cookie = await login();
      const view = (await http().get('/me').set('Cookie', cookie).set('User-Agent', 'SeamsTest/1').expect(200)).body;
      expect(view).toMatchObject({
        stage: 'complete',
        roles: [],
        rolesVersion: 0,
        tier: 'standard',
        impersonatedBy: null,
        ip: expect.any(String),
        userAgent: expect.any(String),
      });
      expect(JSON.stringify(view)).not.toContain(cookie.split('=')[1]);
      expect(Object.keys(view)).not.toEqual(expect.arrayContaining(['id', 'token', 'version']));
    });
  });

  describe('request-time checks', () => {
    it('allow, record an event, or end the session (401, cookie cleared)', async () => {
      const seen: string[] = [];
      const checks: SessionCheck[] = [
        { name: 'observe', check: ({ session }) => void seen.push(session.userId) },
        {
          name: 'ua-watch',
          check: ({ client }) =>
            client.userAgent === 'Changed/1'
              ? { action: 'record', event: { type: 'authn_impossible_travel', reason: 'user_agent_changed' } }
              : undefined,
        },
        {
          name: 'kill-switch',
          check: async ({ client }) =>
            client.userAgent === 'Evil/1' ? { action: 'end', reason: 'binding_mismatch' } : { action: 'allow' },
        },
      ];
      await start({ checks });
      const cookie = await login();
      await http().get('/me').set('Cookie', cookie).set('User-Agent', 'Same/1').expect(200);
      await http().get('/me').set('Cookie', cookie).set('User-Agent', 'Changed/1').expect(200);
      const recorded = events.find((e) => e.type === 'authn_impossible_travel');
      expect(recorded).toMatchObject({ userId: 'alice', reason: 'user_agent_changed', detail: { check: 'ua-watch' }, level: 'WARN' });
      const ended = await http().get('/me').set('Cookie', cookie).set('User-Agent', 'Evil/1').expect(401);
      expect(cookiesOf(ended).some((c) => c.startsWith('__Host-sid=;'))).toBe(true);
      expect(events.find((e) => e.type === 'session_expired' && e.reason === 'binding_mismatch')).toBeDefined();
      // Ended for good, whatever the user agent now.
      await http().get('/me').set('Cookie', cookie).set('User-Agent', 'Same/1').expect(401);
      expect(seen.length).toBeGreaterThanOrEqual(3);
    });

    it('options refuse a check without a check() method', async () => {
      await expect(boot({ checks: [{ name: 'x' } as unknown as SessionCheck] })).rejects.toThrow(/checks must be an array/);
    });
  });

  describe('errors keep their meaning', () => {
    it('data that cannot be serialised is a 500 with a clear message, not a 503 outage', async () => {
      await start();
      const cookie = await login();
      const res = await http().post('/bigint').set('Cookie', cookie).expect(500);
      expect(res.body.code).toBeUndefined();
      expect(events.some((e) => e.type === 'session_store_unavailable')).toBe(false);
    });

    it('a store bug is a 500; only a connectivity error is a 503', async () => {
      await start();
      const cookie = await login();
      const read = jest.spyOn(store, 'read');
      read.mockRejectedValueOnce(new TypeError("Cannot read properties of undefined (reading 'userId')"));
      await http().get('/me').set('Cookie', cookie).expect(500);
      read.mockRejectedValueOnce(new SessionStoreConnectionError('connect ECONNREFUSED 10.0.0.1:6379'));
      const down = await http().get('/me').set('Cookie', cookie).expect(503);
      expect(down.body.code).toBe('SESSION_STORE_UNAVAILABLE');
      await http().get('/me').set('Cookie', cookie).expect(200);
    });
  });

  describe('start-up', () => {
    it('connects the store before serving: the README quick start needs no connect() call', async () => {
      const redis = new RedisSessionStore({ url: 'redis://127.0.0.1:6379', prefix: `{nsk-seams-${process.pid}}:` });
      app = await boot({ store: redis });
      const cookie = cookieOf(await request(app.getHttpServer()).post('/login').send({}).expect(201));
      await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(200);
    });

    it('an unreachable store stops start-up with a message naming it, without credentials', async () => {
      const redis = new RedisSessionStore({ url: 'redis://app:s3cret@127.0.0.1:1', connectTimeoutMs: 300 });
      const failing = boot({ store: redis });
      await expect(failing).rejects.toThrow(/SessionModule cannot start: the session store \(RedisSessionStore\) is not reachable/);
      await expect(failing).rejects.toThrow(/127\.0\.0\.1:1/);
      await expect(failing.catch((e: Error) => e.message)).resolves.not.toContain('s3cret');
      await redis.close();
    });

    it('a store that is not a connection failure at start-up fails start-up as itself', async () => {
      const broken = new InMemorySessionStore();
      jest.spyOn(broken, 'connect').mockRejectedValue(new RangeError('bad store configuration: maxSessions'));
      await expect(boot({ store: broken })).rejects.toThrow(RangeError);
    });
  });
});

describe('SessionAuthGuard outside HTTP', () => {
  class Gateway {
    handle() {}
    @Public() open() {}
  }
  const guard = () => new SessionAuthGuard(new Reflector(), {} as SessionService);
  const contextOf = (type: string, method: 'handle' | 'open'): ExecutionContext => {
    const ctx = new ExecutionContextHost([{}, {}, {}], Gateway, Gateway.prototype[method]);
    ctx.setType(type);
    return ctx;
  };

  it.each(['rpc', 'ws', 'graphql'])('refuses a %s handler unless @Public()', async (type) => {
    await expect(guard().canActivate(contextOf(type, 'handle'))).rejects.toMatchObject({
      response: { code: 'SESSION_REQUIRED', message: expect.stringContaining('getRequestResponse') },
    });
    // Admitted at once: a @Public() handler needs no session, so no promise either.
    expect(guard().canActivate(contextOf(type, 'open'))).toBe(true);
  });

  it('a subclass can read the session from another context through getRequestResponse()', async () => {
    const loadNow = jest.fn().mockResolvedValue({ kind: 'active', session: { id: 'x', record: { stage: 'complete', aal: 1 } } });
    class WsGuard extends SessionAuthGuard {
      protected override getRequestResponse(context: ExecutionContext) {
        return { req: context.switchToWs().getClient<{ handshake: { headers: Record<string, string> } }>().handshake };
      }
    }
    const ctx = new ExecutionContextHost(
      [{ handshake: { headers: { cookie: '__Host-sid=abc' } } }, {}, 'event'],
      Gateway,
      Gateway.prototype.handle,
    );
    ctx.setType('ws');
    const ws = new WsGuard(new Reflector(), { loadNow } as unknown as SessionService);
    await expect(ws.canActivate(ctx)).resolves.toBe(true);
    expect(loadNow).toHaveBeenCalledWith({ headers: { cookie: '__Host-sid=abc' } }, undefined);
  });
});

/**
 * Pending sign-ins over HTTP, with the real module and guard, on the in-memory and the Redis store: `pendingTimeout`
 * checked at start-up, the short life of a pending session (401 `SESSION_EXPIRED` past it, as for any timed-out
 * session), the full life of the session once completed, and the concurrent-session limit, which a pending sign-in
 * escapes until its completion meets it (`evict-oldest` ends the oldest device; `deny-new` answers 409
 * `TOO_MANY_SESSIONS` and leaves the sign-in pending). Time moves with the module's ManualClock.
 */
import { Body, Controller, Get, INestApplication, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import request from 'supertest';
import {
  AllowPendingSession,
  CurrentSession,
  ManualClock,
  Public,
  SessionModuleOptions,
  SessionOptionsError,
  SessionService,
  SessionView,
} from '../../lib';
import { httpBackends } from '../support/http-backends';
import { acrossPlatforms, bootSessionApp, cookieOf, cookiesOf } from '../support/session-app';

const MIN = 60_000;
const HOUR = 60 * MIN;

@Controller()
class SignInController {
  constructor(private readonly sessions: SessionService) {}

  /** Stands in for a password check: `pending` when the account has a second factor. */
  @Public()
  @Post('login')
  login(@Req() req: Request, @Res({ passthrough: true }) res: Response, @Body() body: { pending?: boolean }) {
    return this.sessions.create(req, res, { userId: 'alice', stage: body.pending === true ? 'pending' : 'complete' });
  }

  /** The second-factor step: here the code is taken as proven. */
  @AllowPendingSession()
  @Post('mfa')
  mfa(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    return this.sessions.complete(req, res, { aal: 2 });
  }

  @AllowPendingSession()
  @Get('mfa')
  status(@CurrentSession() session: SessionView) {
    return session;
  }

  @Get('me')
  me(@CurrentSession() session: SessionView) {
    return session;
  }

  /** Stands in for signing a device out from elsewhere (the application's own checks are not what this spec is about). */
  @Public()
  @Post('revoke')
  async revoke(@Body() body: { handle: string }) {
    return { revoked: await this.sessions.revoke('alice', body.handle) };
  }
}

const backends = httpBackends('pending');

describe('pendingTimeout at start-up', () => {
  it('refuses a pendingTimeout longer than absoluteTimeout, saying how to fix it', async () => {
    const error = await bootSessionApp({ absoluteTimeout: '1h', pendingTimeout: '2h' }, [SignInController]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionOptionsError);
    expect((error as Error).message).toContain(
      'pendingTimeout (2h) is longer than absoluteTimeout (1h): set pendingTimeout <= absoluteTimeout (e.g. 5m)',
    );
  });
});

describe.each(acrossPlatforms(backends))('pending sign-ins over HTTP ($name store on $platform)', (backend) => {
  let app: INestApplication | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  let clock: ManualClock;

  async function boot(options: SessionModuleOptions = {}) {
    clock = new ManualClock(Date.now());
    const made = backend.store();
    cleanup = made.cleanup;
    app = await bootSessionApp({ store: made.store, clock, rotationInterval: 0, ...options }, [SignInController], [], backend.platform);
    return app.getHttpServer();
  }

  afterEach(async () => {
    await app?.close();
    await cleanup?.();
    app = undefined;
    cleanup = undefined;
  });

  it('a pending session lives pendingTimeout from its creation, then answers 401 SESSION_EXPIRED like any timed-out session', async () => {
    const server = await boot({ pendingTimeout: '2m' });
    const login = await request(server).post('/login').send({ pending: true }).expect(201);
    expect(login.body).toMatchObject({ stage: 'pending', absoluteExpiresAt: login.body.createdAt + 2 * MIN });
    clock.advance(2 * MIN - 1000);
    await request(server).get('/mfa').set('Cookie', cookieOf(login)).expect(200);
    clock.advance(1000);
    const expired = await request(server).get('/mfa').set('Cookie', cookieOf(login)).expect(401);
    expect(expired.body).toMatchObject({ code: 'SESSION_EXPIRED' });
    // The cookie is cleared, as for any session that timed out.
    expect(cookiesOf(expired).some((c) => c.startsWith('__Host-sid=;') && /Max-Age=0/.test(c))).toBe(true);
    // Too late to complete it.
    await request(server).post('/mfa').set('Cookie', cookieOf(login)).expect(401);
  });

  it('the default is 5 minutes; a completed sign-in gets the full timeouts from its completion', async () => {
    const server = await boot({ idleTimeout: '30m', absoluteTimeout: '12h' });
    const login = await request(server).post('/login').send({ pending: true }).expect(201);
    expect(login.body.absoluteExpiresAt).toBe(login.body.createdAt + 5 * MIN);
    clock.advance(4 * MIN);
    const done = await request(server).post('/mfa').set('Cookie', cookieOf(login)).expect(201);
    expect(done.body).toMatchObject({
      stage: 'complete',
      aal: 2,
      absoluteExpiresAt: clock.now() + 12 * HOUR,
      idleExpiresAt: clock.now() + 30 * MIN,
    });
    // Well past the pending cap.
    clock.advance(20 * MIN);
    const me = await request(server).get('/me').set('Cookie', cookieOf(done)).expect(200);
    expect(me.body).toMatchObject({ stage: 'complete', handle: login.body.handle });
  });

  it("'evict-oldest': a pending sign-in evicts nothing; its completion ends the oldest device", async () => {
    const server = await boot({ maxConcurrentSessions: 1 });
    const laptop = await request(server).post('/login').send({}).expect(201);
    clock.advance(1000);
    const phone = await request(server).post('/login').send({ pending: true }).expect(201);
    // The password alone did not push the laptop out.
    await request(server).get('/me').set('Cookie', cookieOf(laptop)).expect(200);
    await request(server).post('/mfa').set('Cookie', cookieOf(phone)).expect(201);
    await request(server).get('/me').set('Cookie', cookieOf(laptop)).expect(401);
  });

  it("'deny-new': a pending sign-in is let in at the limit; its completion answers 409 TOO_MANY_SESSIONS and stays pending", async () => {
    const server = await boot({ maxConcurrentSessions: 1, concurrentSessionPolicy: 'deny-new' });
    const laptop = await request(server).post('/login').set('User-Agent', 'Laptop/1').send({}).expect(201);
    clock.advance(1000);
    // A complete login is refused at the limit; a pending one is not (it does not count).
    await request(server).post('/login').send({}).expect(409);
    const phone = await request(server).post('/login').set('User-Agent', 'Phone/2').send({ pending: true }).expect(201);
    const refused = await request(server).post('/mfa').set('Cookie', cookieOf(phone)).expect(409);
    expect(refused.body).toMatchObject({
      statusCode: 409,
      code: 'TOO_MANY_SESSIONS',
      limit: 1,
      sessions: [{ handle: laptop.body.handle, userAgent: 'Laptop/1' }],
    });
    expect(cookiesOf(refused).filter((c) => c.startsWith('__Host-sid='))).toEqual([]);
    // The sign-in is still pending under the same cookie; the laptop is untouched.
    const waiting = await request(server).get('/mfa').set('Cookie', cookieOf(phone)).expect(200);
    expect(waiting.body).toMatchObject({ stage: 'pending', aal: 1, handle: phone.body.handle });
    await request(server).get('/me').set('Cookie', cookieOf(laptop)).expect(200);
    // Signing the laptop out makes room: the same sign-in completes.
    await request(server).post('/revoke').send({ handle: laptop.body.handle }).expect(201, { revoked: true });
    const done = await request(server).post('/mfa').set('Cookie', cookieOf(phone)).expect(201);
    expect(done.body).toMatchObject({ stage: 'complete', aal: 2, handle: phone.body.handle });
    await request(server).get('/me').set('Cookie', cookieOf(done)).expect(200);
  });
});

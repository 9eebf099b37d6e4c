/**
 * SessionAnomalyDetector with its SessionAnomalyInterceptor in a real Nest app (SessionModule, SessionAuthGuard,
 * ReAuthGuard, on Express and Fastify, each trusting the loopback proxy so each request names its client in X-Forwarded-For):
 * what only the Nest half does (adopting a re-authenticated network, attaching the failed-sign-in counter to the
 * bus), and that nothing in detection fails a request.
 */
import { Controller, Get, HttpCode, Inject, INestApplication, Post, Req, Res } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { Request, Response } from 'express';
import request from 'supertest';
import { bootPlatformApp, PLATFORMS } from '../support/session-app';
import {
  Clock,
  CurrentSession,
  ManualClock,
  Public,
  ReAuth,
  ReAuthGuard,
  SecurityEvent,
  SecurityEventBus,
  SessionAnomalyDetector,
  SessionAnomalyInterceptor,
  SessionAnomalyOptions,
  SessionAuthGuard,
  SessionModule,
  SessionService,
  SessionView,
} from '../../lib';
import { cookieOf } from '../support/session-app';

const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36';
const HOME = '192.0.2.10';
const AWAY = '198.51.100.7';
const MIN = 60_000;

@Controller()
class AnomalyTestController {
  constructor(
    private readonly sessions: SessionService,
    private readonly bus: SecurityEventBus,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  @Public()
  @Post('login')
  @HttpCode(200)
  async login(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const view = await this.sessions.create(req, res, { userId: 'alice' });
    this.bus.emit({
      type: 'authn_login_success',
      time: view.createdAt,
      level: 'INFO',
      outcome: 'success',
      userId: 'alice',
      sessionHandle: view.handle,
    });
    return { handle: view.handle };
  }

  @Public()
  @Post('login-fail')
  @HttpCode(401)
  fail() {
    this.bus.emit({ type: 'authn_login_fail', time: this.clock.now(), level: 'WARN', outcome: 'failure', userId: 'alice' });
  }

  @Get('me')
  me(@CurrentSession() session: SessionView) {
    return { authenticatedAt: session.authenticatedAt };
  }

  @Post('reauth')
  @HttpCode(200)
  async reauth(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const view = await this.sessions.reauthenticate(req, res);
    return { authenticatedAt: view.authenticatedAt };
  }

  @ReAuth()
  @Post('sensitive')
  @HttpCode(204)
  sensitive() {}
}

describe.each(PLATFORMS)('SessionAnomalyInterceptor with SessionAnomalyDetector on %s', (platform) => {
  let app: INestApplication | undefined;
  let events: SecurityEvent[];
  let errors: string[];
  let clock: ManualClock;

  async function start(
    options: SessionAnomalyOptions,
    { interceptor = true as boolean | 'global', throwingSink = false, Detector = SessionAnomalyDetector } = {},
  ): Promise<void> {
    events = [];
    errors = [];
    clock = new ManualClock(Date.parse('2026-11-30T08:00:00Z'));
    const detector = new Detector({ onError: (error, where) => void errors.push(`${where}: ${String(error)}`), ...options });
    const sinks = [{ handle: (e: SecurityEvent) => void events.push(e) }];
    if (throwingSink) sinks.unshift({ handle: () => Promise.reject(new Error('audit table gone')) } as never);
    const moduleRef = await Test.createTestingModule({
      // No periodic rotation: each scenario follows one cookie across hours.
      imports: [SessionModule.forRoot({ clock, checks: [detector], eventSinks: sinks, rotationInterval: 0 })],
      controllers: [AnomalyTestController],
      providers: [
        { provide: APP_GUARD, useClass: SessionAuthGuard },
        { provide: APP_GUARD, useClass: ReAuthGuard },
        ...(interceptor ? SessionAnomalyInterceptor.providers(detector, { global: interceptor === 'global' }) : []),
      ],
    }).compile();
    app = await bootPlatformApp(moduleRef, platform, { trustProxy: 'loopback' });
  }

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  const http = () => request(app!.getHttpServer());
  const from = (ip: string, afterMs = 0) => {
    clock.advance(afterMs);
    return { 'X-Forwarded-For': ip, 'User-Agent': UA };
  };
  const login = async (): Promise<string> => cookieOf(await http().post('/login').set(from(HOME)).expect(200));

  /** Challenged away from home, proven there, then home and back hours apart: is the away network the session's own? */
  async function roam(): Promise<number> {
    let cookie = await login();
    expect((await http().get('/me').set('Cookie', cookie).set(from(AWAY, MIN)).expect(200)).body.authenticatedAt).toBe(0);
    await http().post('/sensitive').set('Cookie', cookie).set(from(AWAY)).expect(401);
    const proof = await http().post('/reauth').set('Cookie', cookie).set(from(AWAY)).expect(200);
    cookie = cookieOf(proof);
    await http().post('/sensitive').set('Cookie', cookie).set(from(AWAY)).expect(204);
    await http()
      .get('/me')
      .set('Cookie', cookie)
      .set(from(HOME, 20 * MIN))
      .expect(200);
    return (
      await http()
        .get('/me')
        .set('Cookie', cookie)
        .set(from(AWAY, 20 * MIN))
        .expect(200)
    ).body.authenticatedAt;
  }

  it('adopts the network of a re-authentication that answered a challenge (learned on the event bus, global interceptor or not)', async () => {
    await start({ policy: 'strict', strictAction: 'reauth' });
    expect(await roam()).toBeGreaterThan(0);
    expect(events.filter((e) => e.type === 'session_binding_mismatch')).toHaveLength(1);
    await app!.close();

    await start({ policy: 'strict', strictAction: 'reauth' }, { interceptor: 'global' });
    expect(await roam()).toBeGreaterThan(0);
    expect(events.filter((e) => e.type === 'session_binding_mismatch')).toHaveLength(1);
    await app!.close();

    // Without its providers the detector is not on the bus and nobody sees the proof: the away network is
    // challenged again on the way back.
    await start({ policy: 'strict', strictAction: 'reauth' }, { interceptor: false });
    expect(await roam()).toBe(0);
    expect(events.filter((e) => e.type === 'session_binding_mismatch')).toHaveLength(2);
  });

  it('attaches the failed sign-in counter to the event bus: authn_login_successafterfail', async () => {
    await start({ policy: 'monitor', loginFailures: { failures: 3 } });
    for (let i = 0; i < 3; i++) await http().post('/login-fail').expect(401);
    await login();
    expect(events.filter((e) => e.type === 'authn_login_successafterfail')).toEqual([
      expect.objectContaining({ userId: 'alice', detail: { failures: 3, windowMs: 15 * MIN } }),
    ]);
  });

  it('never fails a request when learning after the handler breaks: reported to onError', async () => {
    class BrokenDetector extends SessionAnomalyDetector {
      override acceptProof(): void {
        throw new Error('history corrupted');
      }
    }
    await start({ policy: 'strict', strictAction: 'reauth' }, { Detector: BrokenDetector });
    let cookie = await login();
    await http().get('/me').set('Cookie', cookie).set(from(AWAY, MIN)).expect(200);
    cookie = cookieOf(await http().post('/reauth').set('Cookie', cookie).set(from(AWAY)).expect(200));
    // The re-authentication was learned from the bus: the failure is reported, and the request was served.
    expect(errors).toEqual(['acceptProof: Error: history corrupted']);
    await app!.close();

    // As a global interceptor it also learns after each handler of the challenged session: reported there too.
    await start({ policy: 'strict', strictAction: 'reauth' }, { Detector: BrokenDetector, interceptor: 'global' });
    cookie = await login();
    await http().get('/me').set('Cookie', cookie).set(from(AWAY, MIN)).expect(200);
    await http().post('/reauth').set('Cookie', cookie).set(from(AWAY)).expect(200);
    expect(errors).toEqual([
      'SessionAnomalyInterceptor: Error: history corrupted', // after GET /me
      'acceptProof: Error: history corrupted', // during POST /reauth
      'SessionAnomalyInterceptor: Error: history corrupted', // after it
    ]);
  });

  it('never fails a request when the resolver throws and a sink rejects', async () => {
    await start(
      {
        policy: 'strict',
        impossibleTravel: {
          resolver: {
            locate: () => {
              throw new Error('GeoIP database missing');
            },
          },
        },
      },
      { throwingSink: true },
    );
    const cookie = await login();
    await http().get('/me').set('Cookie', cookie).set(from(HOME, MIN)).expect(200);
    await http().get('/me').set('Cookie', cookie).set(from('192.0.2.99', MIN)).expect(200);
    // Another network: the resolver is asked (and fails), the binding still ends the session.
    await http().get('/me').set('Cookie', cookie).set(from(AWAY, MIN)).expect(401);
    expect(errors).toContain('impossibleTravel.resolver: Error: GeoIP database missing');
  });
});

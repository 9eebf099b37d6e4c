/**
 * OpenTelemetry spans through @opentelemetry/api: with an SDK registered (sdk-trace-base, an in-memory exporter, the
 * async-hooks context manager) the guards and the store operations emit spans, store spans are children of the
 * guard's, and no attribute carries a token, session id or user; with no SDK, or `tracing: false`, nothing is
 * wrapped and nothing is emitted.
 */
import { Controller, Get, INestApplication, Post, Req, Res } from '@nestjs/common';
import { context, trace } from '@opentelemetry/api';
import { AsyncHooksContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Request, Response } from 'express';
import request from 'supertest';
import {
  CsrfGuard,
  CurrentSession,
  InMemorySessionStore,
  Public,
  ReAuthGuard,
  Roles,
  RolesGuard,
  SessionService,
  SessionView,
  SkipCsrf,
} from '../../lib';
import { SessionStore } from '../../lib/stores/session-store';
import { bootSessionApp, cookieOf } from '../support/session-app';

@Controller()
class TracedController {
  constructor(private readonly sessions: SessionService) {}

  @Public()
  @SkipCsrf()
  @Post('login')
  login(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    return this.sessions.create(req, res, { userId: 'alice', roles: ['user'] });
  }

  @Get('me')
  me(@CurrentSession() session: SessionView) {
    return session;
  }

  /** An unsafe request CsrfGuard checks. */
  @Post('touch')
  touch() {
    return { ok: true };
  }

  @Roles('admin')
  @Get('admin')
  admin() {
    return { ok: true };
  }
}

describe('OpenTelemetry spans with an SDK registered', () => {
  const exporter = new InMemorySpanExporter();
  const contextManager = new AsyncHooksContextManager();
  let app: INestApplication;

  beforeAll(() => {
    context.setGlobalContextManager(contextManager.enable());
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  });
  afterAll(() => {
    trace.disable();
    context.disable();
  });
  beforeEach(async () => {
    exporter.reset();
    app = await bootSessionApp({}, [TracedController], [RolesGuard]);
  });
  afterEach(() => app.close());

  it('emits a span per guard and per store operation, the store span a child of the guard span', async () => {
    const login = await request(app.getHttpServer()).post('/login').expect(201);
    const cookie = cookieOf(login);
    exporter.reset();
    await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(200);
    const spans = exporter.getFinishedSpans();
    const guard = spans.find((s) => s.name === 'SessionAuthGuard.canActivate');
    const read = spans.find((s) => s.name === 'session_kit.session_store read');
    expect(guard?.attributes).toMatchObject({ 'session_kit.guard': 'SessionAuthGuard', 'session_kit.guard.result': 'allow' });
    expect(read?.attributes).toEqual({
      'db.operation.name': 'read',
      'session_kit.store.backend': 'memory',
      'session_kit.store': 'session',
    });
    expect(read?.parentSpanContext?.spanId).toBe(guard?.spanContext().spanId);
    expect(spans.map((s) => s.name)).toContain('RolesGuard.canActivate');

    // Nothing secret or personal in any attribute: not the token, the session id, nor the user.
    const token = cookie.split('=')[1];
    const all = JSON.stringify(spans.map((s) => s.attributes));
    expect(all).not.toContain(token);
    expect(all).not.toContain('alice');
    expect(all).not.toContain(login.body.handle);
  });

  it('traces CsrfGuard and ReAuthGuard too, and a CSRF refusal with its code', async () => {
    await app.close();
    app = await bootSessionApp({ csrf: { secret: 'y'.repeat(32) } }, [TracedController], [CsrfGuard, ReAuthGuard]);
    const cookie = cookieOf(await request(app.getHttpServer()).post('/login').expect(201));
    exporter.reset();
    await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(200);
    const names = exporter.getFinishedSpans().map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['SessionAuthGuard.canActivate', 'CsrfGuard.canActivate', 'ReAuthGuard.canActivate']));
    exporter.reset();
    await request(app.getHttpServer()).post('/touch').set('Cookie', cookie).set('Sec-Fetch-Site', 'cross-site').expect(403);
    const csrf = exporter.getFinishedSpans().filter((s) => s.name === 'CsrfGuard.canActivate');
    expect(csrf.at(-1)?.attributes).toMatchObject({ 'session_kit.guard.result': 'deny', 'http.response.status_code': 403 });
  });

  it('records a refusal on the guard span with its stable code, without marking it an error', async () => {
    const cookie = cookieOf(await request(app.getHttpServer()).post('/login').expect(201));
    exporter.reset();
    await request(app.getHttpServer()).get('/admin').set('Cookie', cookie).expect(403);
    await request(app.getHttpServer()).get('/me').expect(401);
    const roles = exporter.getFinishedSpans().find((s) => s.name === 'RolesGuard.canActivate');
    expect(roles?.attributes).toMatchObject({
      'session_kit.guard.result': 'deny',
      'session_kit.guard.code': 'INSUFFICIENT_ROLE',
      'http.response.status_code': 403,
    });
    expect(roles?.status.code).toBe(0);
    const auth = exporter.getFinishedSpans().filter((s) => s.name === 'SessionAuthGuard.canActivate');
    expect(auth.at(-1)?.attributes).toMatchObject({ 'session_kit.guard.code': 'SESSION_REQUIRED', 'http.response.status_code': 401 });
  });

  it('marks a failing store operation as an error, with error.type', async () => {
    const store = new InMemorySessionStore();
    await app.close();
    app = await bootSessionApp({ store }, [TracedController]);
    const cookie = cookieOf(await request(app.getHttpServer()).post('/login').expect(201));
    jest.spyOn(store, 'read').mockRejectedValueOnce(new TypeError('a bug (test)'));
    exporter.reset();
    await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(500);
    const read = exporter.getFinishedSpans().find((s) => s.name === 'session_kit.session_store read');
    expect(read?.status.code).toBe(2);
    expect(read?.attributes['error.type']).toBe('TypeError');
  });

  it('emits nothing with tracing: false, and leaves the store unwrapped', async () => {
    const store = new InMemorySessionStore();
    await app.close();
    app = await bootSessionApp({ store, tracing: false }, [TracedController]);
    const cookie = cookieOf(await request(app.getHttpServer()).post('/login').expect(201));
    await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(200);
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(app.get(SessionStore)).toBe(store);
  });
});

describe('OpenTelemetry API installed, no SDK registered', () => {
  it('wraps nothing: the store is the one given, and the guards take their plain path', async () => {
    const store = new InMemorySessionStore();
    const app = await bootSessionApp({ store }, [TracedController]);
    try {
      expect(app.get(SessionStore)).toBe(store);
      const spy = jest.spyOn(trace, 'getTracer');
      const cookie = cookieOf(await request(app.getHttpServer()).post('/login').expect(201));
      await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(200);
      expect(spy).not.toHaveBeenCalled();
    } finally {
      await app.close();
    }
  });
});

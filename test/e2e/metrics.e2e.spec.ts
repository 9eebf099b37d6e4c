/**
 * Prometheus metrics (`SessionModule.forRoot({ metrics })`), read from the application's own registry after real
 * flows over HTTP: sessions created and ended by reason, rotations by cause, revocations, sign-ins by outcome, CSRF
 * rejections, the store latency histogram per operation with its backend label, store errors counted when the store
 * throws, label values kept bounded, and two apps with two registries that never see each other's counts nor touch
 * prom-client's global registry.
 */
import { Body, Controller, Get, INestApplication, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Registry, register as globalRegistry } from 'prom-client';
import request from 'supertest';
import {
  CsrfGuard,
  CurrentSession,
  InMemorySessionStore,
  ManualClock,
  Public,
  SecurityEventBus,
  SessionOptionsError,
  SessionService,
  SessionStoreConnectionError,
  SessionView,
  SkipCsrf,
} from '../../lib';
import { httpBackends } from '../support/http-backends';
import { bootSessionApp, cookieOf } from '../support/session-app';

const MIN = 60_000;

@Controller()
class MetricsTestController {
  constructor(
    private readonly sessions: SessionService,
    private readonly events: SecurityEventBus,
  ) {}

  /** Stands in for a password check: the app emits the sign-in events, as the sample does. */
  @Public()
  @SkipCsrf()
  @Post('login')
  async login(@Req() req: Request, @Res({ passthrough: true }) res: Response, @Body() body: { password?: string; remember?: boolean }) {
    const base = { time: Date.now(), userId: 'alice', ip: req.ip };
    if (body.password !== 'right') {
      this.events.emit({ ...base, type: 'authn_login_fail', level: 'WARN', outcome: 'failure', reason: 'bad_password' });
      return { ok: false };
    }
    this.events.emit({ ...base, type: 'authn_login_success', level: 'INFO', outcome: 'success' });
    return this.sessions.create(req, res, { userId: 'alice', remember: body.remember === true });
  }

  @Get('me')
  me(@CurrentSession() session: SessionView) {
    return session;
  }

  @Post('logout')
  async logout(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    await this.sessions.destroy(req, res);
    return { ok: true };
  }

  @Public()
  @Post('revoke')
  async revoke(@Body() body: { handle: string }) {
    return { revoked: await this.sessions.revoke('alice', body.handle) };
  }

  /** An app's own end reason, free text: it must not become a label value. */
  @Public()
  @Post('end-all')
  async endAll(@Body() body: { reason: string }) {
    return { ended: await this.sessions.destroyAllForUser('alice', { reason: body.reason }) };
  }
}

/** A histogram's values carry the series name (`_bucket`, `_sum`, `_count`); a counter's do not. */
const nameOf = (v: object): string | undefined => (v as { metricName?: string }).metricName;

async function value(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name} in the registry`);
  const { values } = await metric.get();
  const found = values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l) && nameOf(v) !== `${name}_sum`);
  return found?.value ?? 0;
}

async function histogramCount(registry: Registry, labels: Record<string, string>): Promise<number> {
  const { values } = await registry.getSingleMetric('session_kit_store_operation_duration_seconds')!.get();
  const count = values.find(
    (v) =>
      nameOf(v) === 'session_kit_store_operation_duration_seconds_count' && Object.entries(labels).every(([k, l]) => v.labels[k] === l),
  );
  return count?.value ?? 0;
}

describe('Prometheus metrics over HTTP (in-memory store)', () => {
  let app: INestApplication;
  let registry: Registry;
  let clock: ManualClock;

  beforeEach(async () => {
    registry = new Registry();
    clock = new ManualClock(Date.UTC(2026, 0, 1));
    app = await bootSessionApp({ clock, metrics: { registry }, rotationInterval: '10m', idleTimeout: '30m' }, [MetricsTestController]);
  });
  afterEach(() => app.close());

  const login = async (body: Record<string, unknown> = { password: 'right' }) => request(app.getHttpServer()).post('/login').send(body);

  it('counts sessions created by tier and sign-ins by outcome', async () => {
    await login();
    await login({ password: 'right', remember: true });
    await login({ password: 'wrong' });
    expect(await value(registry, 'session_kit_sessions_created_total', { tier: 'standard' })).toBe(1);
    expect(await value(registry, 'session_kit_sessions_created_total', { tier: 'remember' })).toBe(1);
    expect(await value(registry, 'session_kit_logins_total', { outcome: 'success' })).toBe(2);
    expect(await value(registry, 'session_kit_logins_total', { outcome: 'failure' })).toBe(1);
  });

  it('counts sessions ended by reason: logout, revoked (also a revocation), idle timeout, and an app reason as other', async () => {
    const server = app.getHttpServer();
    const a = cookieOf(await login());
    await request(server).post('/logout').set('Cookie', a).expect(201);
    const b = await login();
    await request(server).post('/revoke').send({ handle: b.body.handle }).expect(201, { revoked: true });
    const c = cookieOf(await login());
    clock.advance(31 * MIN);
    await request(server).get('/me').set('Cookie', c).expect(401);
    await login();
    await request(server).post('/end-all').send({ reason: 'user 42 clicked at 10.0.0.1' }).expect(201, { ended: 1 });

    expect(await value(registry, 'session_kit_sessions_ended_total', { reason: 'logout' })).toBe(1);
    expect(await value(registry, 'session_kit_sessions_ended_total', { reason: 'revoked' })).toBe(1);
    expect(await value(registry, 'session_kit_revocations_total', { kind: 'session', reason: 'revoked' })).toBe(1);
    expect(await value(registry, 'session_kit_sessions_ended_total', { reason: 'idle_timeout' })).toBe(1);
    expect(await value(registry, 'session_kit_sessions_ended_total', { reason: 'other' })).toBe(1);
    // No request data became a label value.
    expect(await registry.metrics()).not.toMatch(/user 42|10\.0\.0\.1|alice/);
  });

  it('counts rotations by cause', async () => {
    const cookie = cookieOf(await login());
    clock.advance(11 * MIN);
    await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(200);
    expect(await value(registry, 'session_kit_session_rotations_total', { cause: 'periodic' })).toBe(1);
  });

  it('observes every store operation in the latency histogram, labelled with the operation and the backend', async () => {
    const cookie = cookieOf(await login());
    await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(200);
    await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(200);
    expect(await histogramCount(registry, { store: 'session', operation: 'create', backend: 'memory' })).toBe(1);
    expect(await histogramCount(registry, { store: 'session', operation: 'read', backend: 'memory' })).toBe(2);
    expect(await registry.metrics()).toContain('# TYPE session_kit_store_operation_duration_seconds histogram');
  });
});

describe.each([
  ...httpBackends('metrics').map((b) => ({ name: b.name, backend: b.name, make: b.store })),
  {
    name: 'sealed',
    backend: 'sealed',
    make: () => ({ store: undefined, cleanup: async () => undefined }),
  },
])('store latency on the $name store', ({ backend, make }) => {
  it('labels the histogram with the backend, for each operation the flow ran', async () => {
    const registry = new Registry();
    const { store, cleanup } = make();
    const sealed =
      backend === 'sealed'
        ? { keys: [{ kid: 'k1', key: Buffer.alloc(32, 3).toString('base64url') }], revocations: 'memory' as const }
        : undefined;
    const app = await bootSessionApp(
      { ...(store ? { store } : {}), ...(sealed ? { sealed, maxConcurrentSessions: 0 } : {}), metrics: { registry } },
      [MetricsTestController],
    );
    try {
      const cookie = cookieOf(await request(app.getHttpServer()).post('/login').send({ password: 'right' }).expect(201));
      await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(200);
      await request(app.getHttpServer()).post('/logout').set('Cookie', cookie).expect(201);
      for (const operation of ['create', 'read', 'destroy']) {
        expect(await histogramCount(registry, { store: 'session', operation, backend })).toBeGreaterThanOrEqual(1);
      }
      expect(await value(registry, 'session_kit_sessions_ended_total', { reason: 'logout' })).toBe(1);
    } finally {
      await app.close();
      await cleanup();
    }
  });
});

/** A store whose reads fail the way an unreachable backend does, or with a bug. */
class FailingStore extends InMemorySessionStore {
  mode: 'ok' | 'down' | 'bug' = 'ok';
  override async read(...args: Parameters<InMemorySessionStore['read']>) {
    if (this.mode === 'down') throw new SessionStoreConnectionError('backend down (test)');
    if (this.mode === 'bug') throw new TypeError('a bug (test)');
    return super.read(...args);
  }
}

describe('store errors', () => {
  it('counts a store operation that throws, by operation, backend and kind, and times it too', async () => {
    const registry = new Registry();
    const store = new FailingStore();
    const app = await bootSessionApp({ store, metrics: { registry } }, [MetricsTestController]);
    try {
      const cookie = cookieOf(await request(app.getHttpServer()).post('/login').send({ password: 'right' }));
      store.mode = 'down';
      await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(503);
      store.mode = 'bug';
      await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(500);
      const labels = { store: 'session', operation: 'read', backend: 'failing' };
      expect(await value(registry, 'session_kit_store_errors_total', { ...labels, kind: 'unavailable' })).toBe(1);
      expect(await value(registry, 'session_kit_store_errors_total', { ...labels, kind: 'error' })).toBe(1);
      expect(await histogramCount(registry, labels)).toBe(2);
    } finally {
      await app.close();
    }
  });
});

describe('registry isolation', () => {
  it('keeps two apps with two registries apart, and never writes to the global registry', async () => {
    globalRegistry.clear();
    const first = new Registry();
    const second = new Registry();
    const app1 = await bootSessionApp({ metrics: { registry: first } }, [MetricsTestController]);
    const app2 = await bootSessionApp({ metrics: { registry: second, prefix: 'other_' } }, [MetricsTestController]);
    try {
      await request(app1.getHttpServer()).post('/login').send({ password: 'right' }).expect(201);
      await request(app1.getHttpServer()).post('/login').send({ password: 'right' }).expect(201);
      await request(app2.getHttpServer()).post('/login').send({ password: 'right' }).expect(201);
      expect(await value(first, 'session_kit_sessions_created_total', { tier: 'standard' })).toBe(2);
      expect(await value(second, 'other_sessions_created_total', { tier: 'standard' })).toBe(1);
      expect(first.getSingleMetric('other_sessions_created_total')).toBeUndefined();
      expect(await globalRegistry.getMetricsAsJSON()).toEqual([]);
    } finally {
      await app1.close();
      await app2.close();
    }
  });

  it('shares the metrics when two modules are given the same registry (their counts add up)', async () => {
    const shared = new Registry();
    const app1 = await bootSessionApp({ metrics: { registry: shared } }, [MetricsTestController]);
    const app2 = await bootSessionApp({ metrics: { registry: shared } }, [MetricsTestController]);
    try {
      await request(app1.getHttpServer()).post('/login').send({ password: 'right' }).expect(201);
      await request(app2.getHttpServer()).post('/login').send({ password: 'right' }).expect(201);
      expect(await value(shared, 'session_kit_sessions_created_total', { tier: 'standard' })).toBe(2);
    } finally {
      await app1.close();
      await app2.close();
    }
  });

  it('without metrics, registers nothing and leaves the store unwrapped', async () => {
    globalRegistry.clear();
    const store = new InMemorySessionStore();
    const app = await bootSessionApp({ store }, [MetricsTestController]);
    try {
      const { SessionStore } = await import('../../lib/stores/session-store');
      expect(app.get(SessionStore)).toBe(store);
      expect(await globalRegistry.getMetricsAsJSON()).toEqual([]);
    } finally {
      await app.close();
    }
  });
});

describe('metrics options at start-up', () => {
  it('refuses a registry that is not one, a bad prefix and bad buckets, saying what to fix', async () => {
    const error = await bootSessionApp({ metrics: { registry: {} as Registry, prefix: '9bad-', storeLatencyBucketsMs: [5, 1] } }, [
      MetricsTestController,
    ]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionOptionsError);
    const message = (error as Error).message;
    expect(message).toContain('metrics.registry must be a prom-client Registry');
    expect(message).toContain('metrics.prefix "9bad-" is not a Prometheus name prefix');
    expect(message).toContain('metrics.storeLatencyBucketsMs must be a non-empty list of ascending positive milliseconds');
  });
});

describe('CSRF rejections', () => {
  it('counts a cross-site request refused by CsrfGuard, by reason', async () => {
    const registry = new Registry();
    const app = await bootSessionApp({ metrics: { registry }, csrf: { secret: 'x'.repeat(32) } }, [MetricsTestController], [CsrfGuard]);
    try {
      const cookie = cookieOf(await request(app.getHttpServer()).post('/login').send({ password: 'right' }));
      await request(app.getHttpServer()).post('/logout').set('Cookie', cookie).set('Sec-Fetch-Site', 'cross-site').expect(403);
      expect(await value(registry, 'session_kit_csrf_rejections_total', { reason: 'cross_site' })).toBe(1);
    } finally {
      await app.close();
    }
  });
});

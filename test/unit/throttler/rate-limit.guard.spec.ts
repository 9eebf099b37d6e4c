import { Controller, ExecutionContext, Get, INestApplication, Injectable, Module, Post } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { SkipThrottle, Throttle, ThrottlerModule, ThrottlerModuleOptions } from '@nestjs/throttler';
import request from 'supertest';
import { bootPlatformApp, HttpPlatform, PLATFORMS } from '../../support/session-app';
import {
  AttemptCounterStore,
  AttemptCounterStoreUnavailableError,
  AttemptHit,
  Clock,
  InMemoryAttemptCounterStore,
  ManualClock,
  SecurityEvent,
  SecurityEventBus,
} from '../../../lib';
import { CounterThrottlerStorage, RateLimitGuard } from '../../../lib/throttler';

/** The in-memory store, with a switch that makes it fail like an unreachable backend. */
class SwitchableStore extends InMemoryAttemptCounterStore {
  down = false;
  override hit(hit: AttemptHit, now: number) {
    if (this.down) return Promise.reject(new AttemptCounterStoreUnavailableError('hit', new Error('connect ECONNREFUSED')));
    return super.hit(hit, now);
  }
}

@Controller('limited')
class LimitedController {
  @Post('a')
  @Throttle({ default: { limit: 3, ttl: 60_000 } })
  a(): { ok: true } {
    return { ok: true };
  }

  @Post('b')
  @Throttle({ default: { limit: 3, ttl: 60_000 } })
  b(): { ok: true } {
    return { ok: true };
  }

  @Get('free')
  @SkipThrottle()
  free(): { ok: true } {
    return { ok: true };
  }

  @Get('default')
  byDefault(): { ok: true } {
    return { ok: true };
  }

  @Post('blocking')
  @Throttle({ default: { limit: 1, ttl: 10_000, blockDuration: 120_000 } })
  blocking(): { ok: true } {
    return { ok: true };
  }
}

interface Harness {
  app: INestApplication;
  clock: ManualClock;
  store: SwitchableStore;
  events: SecurityEvent[];
}

/** Limits the `POST /limited/*` routes only: `GET /limited/default` is never throttled. */
@Injectable()
class PostsOnlyGuard extends RateLimitGuard {
  protected override limitsRoute(context: ExecutionContext): boolean {
    return context.getHandler().name !== 'byDefault';
  }
}

/** The app on `platform`, trusting the loopback proxy so each request names its client in X-Forwarded-For. */
async function setupOn(
  platform: HttpPlatform,
  throttlers: ThrottlerModuleOptions = [{ limit: 100, ttl: 60_000 }],
  guard: typeof RateLimitGuard = RateLimitGuard,
): Promise<Harness> {
  const clock = new ManualClock(Date.now());
  const store = new SwitchableStore();
  const events: SecurityEvent[] = [];
  const bus = new SecurityEventBus([{ handle: (e) => void events.push(e) }]);
  const options = Array.isArray(throttlers) ? { throttlers } : throttlers;
  @Module({
    imports: [ThrottlerModule.forRoot({ ...options, storage: new CounterThrottlerStorage({ store, clock }) })],
    controllers: [LimitedController],
    providers: [
      { provide: Clock, useValue: clock },
      { provide: SecurityEventBus, useValue: bus },
      { provide: APP_GUARD, useClass: guard },
    ],
  })
  class TestModule {}
  const moduleRef = await Test.createTestingModule({ imports: [TestModule] }).compile();
  const app = await bootPlatformApp(moduleRef, platform, { trustProxy: 'loopback' });
  return { app, clock, store, events };
}

describe.each(PLATFORMS)('RateLimitGuard over CounterThrottlerStorage on %s', (platform) => {
  const setup = (throttlers?: ThrottlerModuleOptions, guard?: typeof RateLimitGuard) => setupOn(platform, throttlers, guard);
  let h: Harness;
  afterEach(async () => {
    await h?.app.close();
  });

  const post = (path: string, ip = '203.0.113.7') => request(h.app.getHttpServer()).post(path).set('X-Forwarded-For', ip);

  it('lets `limit` requests through with the draft-06 headers, then answers 429 TOO_MANY_REQUESTS with Retry-After', async () => {
    h = await setup();
    for (let i = 1; i <= 3; i++) {
      const ok = await post('/limited/a').expect(201);
      expect(ok.headers['ratelimit-limit']).toBe('3');
      expect(ok.headers['ratelimit-remaining']).toBe(String(3 - i));
      expect(ok.headers['ratelimit-reset']).toBe('60');
      expect(ok.headers['ratelimit-policy']).toBe('3;w=60');
      expect(ok.headers['x-ratelimit-limit']).toBeUndefined();
    }
    h.clock.advance(15_000);
    // throttler's default blockDuration is the ttl: refused for 60 s from the first refusal (later than the window's end).
    const refused = await post('/limited/a').expect(429);
    expect(refused.body).toEqual({
      statusCode: 429,
      code: 'TOO_MANY_REQUESTS',
      message: 'Too many requests. Try again in 60 seconds.',
      retryAfter: 60,
    });
    expect(refused.headers['retry-after']).toBe('60');
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    expect(refused.headers['ratelimit-reset']).toBe('60');
    expect(h.events).toEqual([
      expect.objectContaining({
        type: 'excess_rate_limit_exceeded',
        level: 'WARN',
        outcome: 'failure',
        ip: '203.0.113.7',
        time: h.clock.now(),
        reason: 'rate_limit',
        detail: { route: 'LimitedController.a', throttler: 'default', limit: 3, windowMs: 60_000, retryAfterMs: 60_000 },
      }),
    ]);
  });

  it('gives each route and each client (req.ip behind a trusted proxy) a budget of its own', async () => {
    h = await setup();
    for (let i = 0; i < 3; i++) await post('/limited/a').expect(201);
    await post('/limited/a').expect(429);
    await post('/limited/b').expect(201);
    await post('/limited/a', '198.51.100.9').expect(201);
    // An untrusted hop cannot pick its address: only the loopback proxy is trusted, so the client is the rightmost.
    await post('/limited/a', '198.51.100.10, 203.0.113.7').expect(429);
  });

  it('starts a new window when the old one ends (by the module clock)', async () => {
    h = await setup();
    for (let i = 0; i < 3; i++) await post('/limited/a').expect(201);
    await post('/limited/a').expect(429);
    h.clock.advance(60_000);
    const again = await post('/limited/a').expect(201);
    expect(again.headers['ratelimit-remaining']).toBe('2');
  });

  it('blocks for blockDuration from the first refusal, without lengthening the block while refused', async () => {
    h = await setup();
    await post('/limited/blocking').expect(201);
    const first = await post('/limited/blocking').expect(429);
    expect(first.headers['retry-after']).toBe('120');
    h.clock.advance(60_000);
    expect((await post('/limited/blocking').expect(429)).headers['retry-after']).toBe('60');
    h.clock.advance(60_000);
    await post('/limited/blocking').expect(201);
  });

  it('applies the module default to routes without @Throttle, and leaves @SkipThrottle routes alone', async () => {
    h = await setup([{ limit: 2, ttl: 1000 }]);
    const get = (path: string) => request(h.app.getHttpServer()).get(path);
    await get('/limited/default').expect(200);
    await get('/limited/default').expect(200);
    await get('/limited/default').expect(429);
    for (let i = 0; i < 5; i++) {
      const free = await get('/limited/free').expect(200);
      expect(free.headers['ratelimit-limit']).toBeUndefined();
    }
  });

  it('shows the throttler closest to its limit when several apply', async () => {
    h = await setup([
      { name: 'burst', limit: 5, ttl: 1000 },
      { name: 'hourly', limit: 2, ttl: 3_600_000 },
    ]);
    const get = () => request(h.app.getHttpServer()).get('/limited/default');
    const first = await get().expect(200);
    expect([first.headers['ratelimit-limit'], first.headers['ratelimit-remaining'], first.headers['ratelimit-policy']]).toEqual([
      '2',
      '1',
      '2;w=3600',
    ]);
    await get().expect(200);
    const refused = await get().expect(429);
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    expect(refused.headers['retry-after']).toBe('3600');
  });

  it('fails closed with 503 RATE_LIMITER_UNAVAILABLE while the counters are down, and recovers by itself', async () => {
    h = await setup();
    h.store.down = true;
    const down = await post('/limited/a').expect(503);
    expect(down.body).toEqual(expect.objectContaining({ statusCode: 503, code: 'RATE_LIMITER_UNAVAILABLE' }));
    h.store.down = false;
    await post('/limited/a').expect(201);
  });

  it('stops start-up on a throttler whose numbers no store can count, naming it', async () => {
    await expect(setup([{ name: 'seconds-by-mistake', limit: 10, ttl: 0.5 }])).rejects.toThrow(
      /throttler "seconds-by-mistake" has ttl 0.5 ms.*windowMs is 0.5/,
    );
  });

  it('passes a route its limitsRoute() excludes at once: no hit on the counters, no RateLimit headers', async () => {
    h = await setup([{ limit: 2, ttl: 60_000 }], PostsOnlyGuard);
    const hit = jest.spyOn(h.store, 'hit');
    for (let i = 0; i < 5; i++) {
      const res = await request(h.app.getHttpServer()).get('/limited/default').set('X-Forwarded-For', '203.0.113.7');
      expect(res.status).toBe(200);
      expect(res.headers['ratelimit-limit']).toBeUndefined();
    }
    expect(hit).not.toHaveBeenCalled();
    // The routes it includes are still limited.
    expect((await post('/limited/a')).status).toBe(201);
    expect(hit).toHaveBeenCalledTimes(1);
  });
});

describe('CounterThrottlerStorage', () => {
  it("answers throttler's record in seconds, keys under its prefix and the throttler's name, and hashes long keys", async () => {
    const store = new InMemoryAttemptCounterStore();
    const clock = new ManualClock(1_000_000);
    const storage = new CounterThrottlerStorage({ store, clock });
    expect(await storage.increment('k', 1500, 1, 0, 'default')).toEqual({
      totalHits: 1,
      timeToExpire: 2,
      isBlocked: false,
      timeToBlockExpire: 0,
    });
    expect(await storage.increment('k', 1500, 1, 0, 'default')).toEqual({
      totalHits: 2,
      timeToExpire: 2,
      isBlocked: true,
      timeToBlockExpire: 2,
    });
    expect(await storage.increment('k', 1500, 1, 0, 'other')).toEqual(expect.objectContaining({ totalHits: 1 }));
    const seen: string[] = [];
    const spy: AttemptCounterStore = Object.assign(Object.create(store) as AttemptCounterStore, {
      hit: (hit: AttemptHit, now: number) => (seen.push(hit.key), store.hit(hit, now)),
    });
    const spying = new CounterThrottlerStorage({ store: spy, clock });
    await spying.increment('k', 1000, 5, 0, 'default');
    await spying.increment('x'.repeat(500), 1000, 5, 0, 'default');
    expect(seen[0]).toBe('rl:default:k');
    expect(seen[1]).toMatch(/^rl:[0-9a-f]{64}$/);
  });

  it('refuses a store that is not an AttemptCounterStore, saying what to pass', () => {
    expect(() => new CounterThrottlerStorage({ store: {} as AttemptCounterStore })).toThrow(/pass \{ store \}, an AttemptCounterStore/);
  });
});

import { ExecutionContext, Injectable, Logger, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  ThrottlerModuleOptions,
  ThrottlerRequest,
  ThrottlerStorage,
} from '@nestjs/throttler';
import { checkAttemptHit } from '../brute-force/attempt-counter.store';
import { Clock, SystemClock } from '../core/clock';
import { SessionStoreConnectionError } from '../core/errors';
import { SecurityEventBus } from '../events/security-event-bus';
import { RouteMetadataCache } from '../guards/route-context';
import { clientInfoOf } from '../http/client-info';
import type { HttpRequestLike } from '../http/http-types';
import { RateLimiterUnavailableException, TooManyRequestsException } from './rate-limit.exceptions';

/** The draft revision whose header fields {@link RateLimitGuard} sends. */
export const RATE_LIMIT_HEADERS_DRAFT = 'draft-ietf-httpapi-ratelimit-headers-06';

/** What the guard has told a response so far: with several throttlers, the one closest to its limit is shown. */
interface Shown {
  remaining: number;
  reset: number;
}

/**
 * `@nestjs/throttler`'s guard with this module's answers, used the throttler way (`ThrottlerModule.forRoot`,
 * `@Throttle()`, `@SkipThrottle()`, `APP_GUARD`), usually over {@link CounterThrottlerStorage}:
 *
 * - The client is `req.ip` (throttler's default tracker), which believes `X-Forwarded-For` only from the proxies of
 *   Express' `trust proxy`; IPv6 clients are grouped by their /64 (throttler's `ipv6SubnetPrefix`). Each route has its own budget.
 * - Headers of draft-ietf-httpapi-ratelimit-headers-06 on every limited response, refusals included:
 *   `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (seconds) and `RateLimit-Policy` (`10;w=60`). With
 *   several named throttlers on a route, the one with the fewest requests left is shown, so a
 *   client backs off in time.
 * - A refusal is 429 `{ statusCode, code: 'TOO_MANY_REQUESTS', message, retryAfter }` with `Retry-After` (seconds),
 *   and emits `excess_rate_limit_exceeded` on the module's event bus (when `SessionModule` provides one).
 * - A counter store that cannot be reached (any `SessionStoreConnectionError`, such as
 *   `AttemptCounterStoreUnavailableError`) is 503 `RATE_LIMITER_UNAVAILABLE`: fail closed, and it recovers by itself.
 *
 * @example
 * providers: [{ provide: APP_GUARD, useClass: RateLimitGuard }]
 * // on a route: @Throttle({ default: { limit: 5, ttl: 60_000 } })
 */
/** The answer for a route no throttler limits: one settled promise, shared. */
const ALLOWED: Promise<boolean> = Promise.resolve(true);

@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  private readonly limitedRoutes = new RouteMetadataCache<boolean>((_targets, context) => this.limitsRoute(context));
  private readonly log = new Logger('RateLimit');
  private readonly shown = new WeakMap<object, Shown>();
  private readonly clock: Clock;

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storageService: ThrottlerStorage,
    reflector: Reflector,
    @Optional() private readonly events?: SecurityEventBus,
    @Optional() clock?: Clock,
  ) {
    super(options, storageService, reflector);
    this.clock = clock ?? new SystemClock();
  }

  /**
   * Throttles the request, unless {@link limitsRoute} says no throttler limits its route: then it answers at once,
   * before @nestjs/throttler's per-request work (a Reflector lookup per throttler, `skipIf`, two awaits), which an
   * application-wide guard would otherwise spend on every request of every route.
   */
  override canActivate(context: ExecutionContext): Promise<boolean> {
    if (!this.limitedRoutes.get(context)) return ALLOWED;
    return super.canActivate(context);
  }

  /**
   * Whether any throttler may limit the route of `context`. Default `true` (every route, as @nestjs/throttler does).
   * Override it when the app limits some routes only (e.g. routes carrying a decorator of yours): it must depend on
   * the route alone (handler and controller), since its answer is cached per route.
   */
  protected limitsRoute(_context: ExecutionContext): boolean {
    return true;
  }

  /** Checks the static numbers of every throttler at start-up, so a bad one stops the app with its name. */
  override async onModuleInit(): Promise<void> {
    await super.onModuleInit();
    for (const t of this.throttlers) {
      const ttl = t.ttl;
      const limit = t.limit;
      const blockDuration = t.blockDuration ?? ttl;
      if (typeof ttl !== 'number' || typeof limit !== 'number' || typeof blockDuration !== 'number') continue;
      try {
        checkAttemptHit({ key: 'startup', windowMs: ttl, limit, blockMs: blockDuration });
      } catch (error) {
        throw new Error(
          `ThrottlerModule: throttler "${t.name}" has ttl ${ttl} ms, limit ${limit}, blockDuration ${blockDuration} ms: ` +
            `${(error as Error).message.replace('AttemptCounterStore.hit: ', '')} (ttl and blockDuration are milliseconds)`,
        );
      }
    }
  }

  /** One throttler on one request: count, set the headers, refuse past the limit (429), fail closed (503). */
  protected override async handleRequest(props: ThrottlerRequest): Promise<boolean> {
    const { context, limit, ttl, throttler, blockDuration, getTracker, generateKey } = props;
    const { req, res } = this.getRequestResponse(context);
    const ignoreUserAgents = throttler.ignoreUserAgents ?? this.commonOptions.ignoreUserAgents;
    const userAgent = String(req.headers?.['user-agent'] ?? '');
    if (ignoreUserAgents?.some((pattern) => pattern.test(userAgent))) return true;

    const name = throttler.name ?? 'default';
    const tracker = await getTracker(req, context);
    const key = generateKey(context, tracker, name);
    let record;
    try {
      record = await this.storageService.increment(key, ttl, limit, blockDuration, name);
    } catch (error) {
      if (!(error instanceof SessionStoreConnectionError)) throw error;
      this.log.warn(`Rate-limit counters unavailable, refusing ${routeOf(context)} (503): ${error.message}`);
      throw new RateLimiterUnavailableException();
    }
    const setHeaders = throttler.setHeaders ?? this.commonOptions.setHeaders ?? true;
    const remaining = Math.max(0, limit - record.totalHits);
    if (setHeaders) this.show(res, { remaining, reset: record.timeToExpire }, limit, ttl);
    if (!record.isBlocked) return true;

    const retryAfter = Math.max(1, record.timeToBlockExpire);
    if (setHeaders) this.setResponseHeader(res, 'Retry-After', retryAfter);
    const client = clientInfoOf(req as HttpRequestLike);
    this.events?.emit({
      type: 'excess_rate_limit_exceeded',
      time: this.clock.now(),
      level: 'WARN',
      outcome: 'failure',
      ip: client.ip,
      userAgent: client.userAgent,
      reason: 'rate_limit',
      detail: { route: routeOf(context), throttler: name, limit, windowMs: ttl, retryAfterMs: retryAfter * 1000 },
    });
    throw new TooManyRequestsException(retryAfter);
  }

  /** Sets the draft's headers unless a throttler already shown on this response has fewer requests left. */
  private show(res: Record<string, unknown>, next: Shown, limit: number, ttl: number): void {
    const current = this.shown.get(res);
    if (current && (current.remaining < next.remaining || (current.remaining === next.remaining && current.reset >= next.reset))) return;
    this.shown.set(res, next);
    this.setResponseHeader(res, 'RateLimit-Limit', limit);
    this.setResponseHeader(res, 'RateLimit-Remaining', next.remaining);
    this.setResponseHeader(res, 'RateLimit-Reset', next.reset);
    this.setResponseHeader(res, 'RateLimit-Policy', `${limit};w=${Math.max(1, Math.ceil(ttl / 1000))}`);
  }
}

function routeOf(context: ExecutionContext): string {
  return `${context.getClass().name}.${context.getHandler().name}`;
}

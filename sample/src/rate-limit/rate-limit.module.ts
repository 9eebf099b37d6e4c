import { CustomDecorator, DynamicModule, ExecutionContext, Injectable, Module, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { BruteForceService, Clock } from '../../../lib';
import { CounterThrottlerStorage, RateLimitGuard } from '../../../lib/throttler';
import type { SampleConfig } from '../config';

/** The throttler of the abusable routes (BF-07): `RATE_LIMIT_SENSITIVE` per client IP and route. */
export const SENSITIVE_THROTTLER = 'sensitive';

const RATE_LIMITED_KEY = 'sample:rate-limited';
const reflector = new Reflector();

/**
 * Puts a route (or every route of a controller) under `RATE_LIMIT_SENSITIVE`: re-authentication, second factors,
 * password change, session revocation, and the API routes that refresh or end credentials. Metadata only; the
 * app's `RateLimitGuard` reads it. `@Throttle({ sensitive: { limit, ttl } })` beside it changes the numbers of one
 * route.
 */
export const RateLimited = (): CustomDecorator => SetMetadata(RATE_LIMITED_KEY, true);

/** Whether the route of `context` carries {@link RateLimited} (on the handler or its controller). */
export function isRateLimited(context: ExecutionContext): boolean {
  return reflector.getAllAndOverride<boolean | undefined>(RATE_LIMITED_KEY, [context.getHandler(), context.getClass()]) === true;
}

/** `RateLimitGuard` for the routes marked {@link RateLimited} only: every other request passes it at once. */
@Injectable()
export class SampleRateLimitGuard extends RateLimitGuard {
  protected override limitsRoute(context: ExecutionContext): boolean {
    return isRateLimited(context);
  }
}

/**
 * The sample's API rate limits: `@nestjs/throttler` with the library's `CounterThrottlerStorage` on the very counters
 * of the brute-force defence (Redis with `SESSION_STORE=redis`, the users database otherwise), so every instance shares
 * the budgets and parallel requests are never lost. Only routes marked {@link RateLimited} are limited (opt in): sign-in
 * keeps the brute-force defence's own counting, and pages and reads stay free. The guard is `RateLimitGuard`, first
 * in `AppModule`'s guards, so a request is counted before the session or CSRF checks spend anything on it.
 */
@Module({})
export class SampleRateLimitModule {
  static register(config: SampleConfig): DynamicModule {
    const { limit, windowMs } = config.rateLimit.sensitive;
    return {
      module: SampleRateLimitModule,
      imports: [
        ThrottlerModule.forRootAsync({
          // Global providers: BruteForceService (SampleBruteForceModule) and Clock (SessionModule).
          inject: [BruteForceService, Clock],
          useFactory: (bruteForce: BruteForceService, clock: Clock) => ({
            throttlers: [{ name: SENSITIVE_THROTTLER, limit, ttl: windowMs, skipIf: (context) => !isRateLimited(context) }],
            storage: new CounterThrottlerStorage({ store: bruteForce.store, clock }),
          }),
        }),
      ],
    };
  }
}

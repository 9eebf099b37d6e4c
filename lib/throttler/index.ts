/**
 * `nest-session-kit/throttler`: API rate limits with `@nestjs/throttler` (an optional peer dependency, hence a
 * sub-path) on the brute-force defence's atomic counters. `CounterThrottlerStorage` is the throttler's storage,
 * `RateLimitGuard` its guard with the draft's `RateLimit-*` headers, 429 `TOO_MANY_REQUESTS` and 503 on an outage.
 *
 * @example
 * import { CounterThrottlerStorage, RateLimitGuard } from 'nest-session-kit/throttler';
 */
export { CounterThrottlerStorage, DEFAULT_RATE_LIMIT_PREFIX } from './counter-throttler.storage';
export type { CounterThrottlerStorageOptions } from './counter-throttler.storage';
export { RateLimitGuard, RATE_LIMIT_HEADERS_DRAFT } from './rate-limit.guard';
export { TooManyRequestsException, RateLimiterUnavailableException } from './rate-limit.exceptions';

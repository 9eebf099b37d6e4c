import type { ThrottlerStorage } from '@nestjs/throttler';
import { createHash } from 'node:crypto';
import { AttemptCounterStore } from '../brute-force/attempt-counter.store';
import { Clock, SystemClock } from '../core/clock';

/** What throttler's storage answers (`ThrottlerStorageRecord`, which the package does not export): times in seconds. */
type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** Options of {@link CounterThrottlerStorage}. */
export interface CounterThrottlerStorageOptions {
  /**
   * The counters: the brute-force defence's {@link AttemptCounterStore} (memory, `RedisAttemptCounterStore`,
   * `TypeOrmAttemptCounterStore`), usually the very instance `BruteForceModule` uses.
   */
  store: AttemptCounterStore;
  /** The module's clock (`ManualClock` in tests). Default: the system clock. */
  clock?: Clock;
  /** Prefix of every rate-limit key in the store, so they never meet the brute-force counters. Default `rl:`. */
  prefix?: string;
}

/** Default of {@link CounterThrottlerStorageOptions.prefix}. */
export const DEFAULT_RATE_LIMIT_PREFIX = 'rl:';

/** Keys longer than this are hashed, so a custom `generateKey` cannot outgrow the SQL store's 255-character keys. */
const MAX_PLAIN_KEY_LENGTH = 160;

/**
 * `@nestjs/throttler`'s storage on the brute-force defence's atomic counters: every request is one
 * {@link AttemptCounterStore.hit} (one round trip: a Lua script on Redis, one upsert on SQL), so every instance of
 * the app shares each client's budget and parallel requests are never lost.
 *
 * A fixed window per key starts at its first hit and lasts `ttl`; the hit that goes over `limit` blocks the key until
 * the later of the window's end and `blockDuration` after it (throttler's default `blockDuration` is `ttl`). A blocked
 * hit is not counted further, so a client hammering a blocked route does not lengthen its own block. Times are the
 * given clock's (ms), answered to the throttler in seconds as its contract says.
 *
 * The store failing throws its `AttemptCounterStoreUnavailableError`: `RateLimitGuard` answers 503 (fail closed).
 *
 * @example
 * ThrottlerModule.forRootAsync({
 *   inject: [BruteForceService, Clock],
 *   useFactory: (bf: BruteForceService, clock: Clock) => ({
 *     throttlers: [{ ttl: 60_000, limit: 10 }],
 *     storage: new CounterThrottlerStorage({ store: bf.store, clock }),
 *   }),
 * })
 */
export class CounterThrottlerStorage implements ThrottlerStorage {
  private readonly store: AttemptCounterStore;
  private readonly clock: Clock;
  private readonly prefix: string;

  constructor(options: CounterThrottlerStorageOptions) {
    if (!(options?.store instanceof AttemptCounterStore)) {
      throw new TypeError(
        'CounterThrottlerStorage: pass { store }, an AttemptCounterStore (e.g. BruteForceService.store, or new RedisAttemptCounterStore({ client }))',
      );
    }
    this.store = options.store;
    this.clock = options.clock ?? new SystemClock();
    this.prefix = options.prefix ?? DEFAULT_RATE_LIMIT_PREFIX;
  }

  /**
   * Counts one request of `key` (throttler's `increment`): `ttl` and `blockDuration` in ms, answers in seconds.
   *
   * @throws RangeError for a `ttl`, `limit` or `blockDuration` outside `checkAttemptHit`'s bounds.
   */
  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    const now = this.clock.now();
    const { count, resetAt } = await this.store.hit(
      { key: this.keyOf(throttlerName, key), windowMs: Math.ceil(ttl), limit, blockMs: Math.max(0, Math.ceil(blockDuration)) },
      now,
    );
    const seconds = Math.max(1, Math.ceil((resetAt - now) / 1000));
    const isBlocked = count > limit;
    return { totalHits: count, timeToExpire: seconds, isBlocked, timeToBlockExpire: isBlocked ? seconds : 0 };
  }

  private keyOf(throttlerName: string, key: string): string {
    const plain = `${this.prefix}${throttlerName}:${key}`;
    return plain.length <= MAX_PLAIN_KEY_LENGTH ? plain : `${this.prefix}${createHash('sha256').update(plain).digest('hex')}`;
  }
}

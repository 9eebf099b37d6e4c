import { SessionStoreConnectionError } from '../core/errors';

/** One counter as a store reads it. Times in ms since the epoch (from the caller's clock). */
export interface AttemptCount {
  /** Failures counted in the current window; 0 when the key is unknown or its window ended. */
  count: number;
  /** When the latest failure was counted; 0 when `count` is 0. */
  lastAt: number;
}

/** One counter to increment, with how long it lives after this failure (ms). */
export interface AttemptIncrement {
  key: string;
  /** The counter is forgotten this long after its latest failure (a sliding window), in ms. */
  ttlMs: number;
}

/**
 * One fixed-window hit to count (API rate limits): at most `limit` hits per `windowMs`, and a client that goes over
 * waits until the later of the window's end and `blockMs` after its first refused hit.
 */
export interface AttemptHit {
  key: string;
  /** Length of the window, which starts at the first hit of a key (ms, 1 to {@link MAX_HIT_DURATION_MS}). */
  windowMs: number;
  /** Hits allowed in one window (0 to {@link MAX_HIT_LIMIT}); the `limit + 1`th is refused. */
  limit: number;
  /**
   * How long the first refused hit blocks the key (ms, 0 to {@link MAX_HIT_DURATION_MS}), counted from that hit; the
   * block never ends before the window does, so 0 means "refused until the window ends".
   */
  blockMs: number;
}

/** What {@link AttemptCounterStore.hit} answers. */
export interface HitCount {
  /** Hits of this window including this one, at most `limit + 1`: more than `limit` means refused. */
  count: number;
  /** When the window (or the block) ends and the key starts again at 0, in ms since the epoch. */
  resetAt: number;
}

/** Largest {@link AttemptHit.windowMs} and {@link AttemptHit.blockMs}: 2^31 ms (about 24.8 days). */
export const MAX_HIT_DURATION_MS = 2 ** 31;

/** Largest {@link AttemptHit.limit}: 2^20 (1 048 576) hits per window. */
export const MAX_HIT_LIMIT = 2 ** 20;

/**
 * Checks a hit's numbers before a store counts it (every backend calls it, so each refuses the same input).
 * Bounded so that every backend can answer a hit in one round trip (MariaDB packs count and remaining time into one
 * 53-bit integer).
 *
 * @throws RangeError naming the bad field.
 */
export function checkAttemptHit(hit: AttemptHit): void {
  const bad = (field: string, max: number, min: number): never => {
    throw new RangeError(
      `AttemptCounterStore.hit: ${field} is ${String(hit[field as keyof AttemptHit])}; give a whole number from ${min} to ${max}`,
    );
  };
  if (typeof hit.key !== 'string' || hit.key === '') throw new RangeError('AttemptCounterStore.hit: key must be a non-empty string');
  if (!Number.isInteger(hit.windowMs) || hit.windowMs < 1 || hit.windowMs > MAX_HIT_DURATION_MS) bad('windowMs', MAX_HIT_DURATION_MS, 1);
  if (!Number.isInteger(hit.limit) || hit.limit < 0 || hit.limit > MAX_HIT_LIMIT) bad('limit', MAX_HIT_LIMIT, 0);
  if (!Number.isInteger(hit.blockMs) || hit.blockMs < 0 || hit.blockMs > MAX_HIT_DURATION_MS) bad('blockMs', MAX_HIT_DURATION_MS, 0);
}

/**
 * The end of a key's window after a hit, the one rule every backend follows (the Lua and SQL copies are checked
 * against it by the conformance suite): a live window keeps its end, except that the hit that goes over the limit
 * (`previous === limit`) extends it to `now + blockMs` when that is later; a new window ends `windowMs` from now (or
 * later, when `limit` is 0 and its first hit is already refused).
 */
export function nextHitWindowEnd(hit: AttemptHit, previous: { count: number; resetAt: number } | undefined, now: number): number {
  if (previous && previous.resetAt > now) {
    return previous.count === hit.limit ? Math.max(previous.resetAt, now + hit.blockMs) : previous.resetAt;
  }
  return hit.limit === 0 ? now + Math.max(hit.windowMs, hit.blockMs) : now + hit.windowMs;
}

/**
 * The brute-force defence's own storage: atomic failure counters and single-use markers. It is not part of the
 * session store contract, so a store for sessions and a store for counters can live on different backends.
 *
 * Every method is one atomic backend operation (one round trip), and time always comes from the caller (`now`,
 * from the module's `Clock`), never from the backend, so tests move a `ManualClock` and every backend agrees on
 * when a window ends.
 *
 * Implementations: {@link InMemoryAttemptCounterStore} (one process), `RedisAttemptCounterStore`
 * (`nest-session-kit/redis`) and `TypeOrmAttemptCounterStore` (`nest-session-kit/typeorm`: PostgreSQL,
 * MariaDB/MySQL, SQLite). `describeAttemptCounterStore` in `nest-session-kit/testing` is the conformance suite.
 *
 * A backend that cannot be reached must throw {@link AttemptCounterStoreUnavailableError} (or any
 * `SessionStoreConnectionError`): the limiter then fails closed (503), never open.
 */
export abstract class AttemptCounterStore {
  /** The counters of `keys`, in the same order, read together in one round trip. */
  abstract read(keys: readonly string[], now: number): Promise<AttemptCount[]>;

  /**
   * Adds one failure to each counter atomically and answers the new counts (same order). A counter whose window
   * ended restarts at 1. Parallel increments are never lost.
   */
  abstract increment(entries: readonly AttemptIncrement[], now: number): Promise<AttemptCount[]>;

  /** Forgets `keys` (a successful authentication), and sets `mark` (count 1) in the same round trip when given. */
  abstract reset(keys: readonly string[], mark?: AttemptIncrement & { now: number }): Promise<void>;

  /**
   * Records `key` if it is not recorded yet (or its window ended): true the first time, false for every later
   * call within `ttlMs`. What makes a CAPTCHA solution single-use.
   */
  abstract claim(key: string, ttlMs: number, now: number): Promise<boolean>;

  /**
   * Counts one hit of a fixed window (API rate limits, `@nestjs/throttler`'s storage) atomically and answers the
   * count (capped at `limit + 1`) and when the key resets; the rule of the window's end is {@link nextHitWindowEnd}.
   * Parallel hits are never lost: of N parallel hits on a fresh key, exactly `min(N, limit)` see a count within the
   * limit. A key counted by `hit` is not meant to be used with `increment` or `claim`.
   *
   * @throws RangeError for numbers outside {@link checkAttemptHit}'s bounds (a bug in the caller, never a 503).
   */
  abstract hit(hit: AttemptHit, now: number): Promise<HitCount>;

  /** Releases what the store opened (never a client the application passed in). Default: nothing. */
  async close(): Promise<void> {}
}

/**
 * The counter storage cannot be reached or timed out. The limiter fails closed on it: 503, never an unlimited
 * attempt (AV-03), and it recovers by itself when the storage answers again.
 */
export class AttemptCounterStoreUnavailableError extends SessionStoreConnectionError {
  override name = 'AttemptCounterStoreUnavailableError';

  constructor(operation: string, cause: unknown) {
    super(
      `Attempt counter store operation "${operation}" failed: ${cause instanceof Error ? cause.message : String(cause)}. ` +
        'Sign-in and the other rate-limited routes answer 503 until it answers again; check that the counter backend is up and reachable.',
      { cause },
    );
  }
}

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

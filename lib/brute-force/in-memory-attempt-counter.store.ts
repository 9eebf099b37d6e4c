import {
  AttemptCount,
  AttemptCounterStore,
  AttemptCounterStoreUnavailableError,
  AttemptHit,
  AttemptIncrement,
  checkAttemptHit,
  HitCount,
  nextHitWindowEnd,
} from './attempt-counter.store';

/** Options of {@link InMemoryAttemptCounterStore}. */
export interface InMemoryAttemptCounterStoreOptions {
  /** Most counters kept at once. Default 100 000 (about 15 MB). */
  maxEntries?: number;
}

/** Default of {@link InMemoryAttemptCounterStoreOptions.maxEntries}. */
export const DEFAULT_MAX_ATTEMPT_COUNTERS = 100_000;

/** How often (ms, on the clock of the calls) a write first forgets the counters whose window has ended: once a minute. */
export const ATTEMPT_SWEEP_INTERVAL_MS = 60_000;

/** How many of the least recently used counters are looked at to find one that may be forgotten. */
const EVICTION_SCAN = 256;

interface Entry {
  count: number;
  lastAt: number;
  expiresAt: number;
}

/**
 * Attempt counters in this process's memory: for one instance and for tests. Several instances need a shared
 * store (Redis or SQL), or each would allow its own share of attempts.
 *
 * Kept small: once a minute ({@link ATTEMPT_SWEEP_INTERVAL_MS}, on the next write) the counters whose window has
 * ended are forgotten, so memory follows the clients of the last windows, not every client ever seen.
 *
 * Bounded: at most `maxEntries` counters. When full, expired counters go first, then the least recently used
 * counter that holds a single failure: forgetting it costs at most one extra attempt. Counters with more failures
 * (a CAPTCHA step, a lock) are never evicted, so flooding the store with new names cannot flush a lockout; if no
 * counter may go, new keys are refused with {@link AttemptCounterStoreUnavailableError} (fail closed, 503) until
 * windows end.
 */
export class InMemoryAttemptCounterStore extends AttemptCounterStore {
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries: number;
  /** When the next sweep is due (ms); the first write sweeps (nothing) and sets it. */
  private nextSweepAt = Number.NEGATIVE_INFINITY;

  constructor(options: InMemoryAttemptCounterStoreOptions = {}) {
    super();
    const max = options.maxEntries ?? DEFAULT_MAX_ATTEMPT_COUNTERS;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`InMemoryAttemptCounterStore: maxEntries is ${String(max)}; give a whole number of at least 1`);
    }
    this.maxEntries = max;
  }

  /** Counters held now (expired ones included until they are swept). */
  get size(): number {
    return this.entries.size;
  }

  read(keys: readonly string[], now: number): Promise<AttemptCount[]> {
    return Promise.resolve(keys.map((key) => this.live(key, now)));
  }

  increment(entries: readonly AttemptIncrement[], now: number): Promise<AttemptCount[]> {
    try {
      return Promise.resolve(entries.map(({ key, ttlMs }) => this.bump(key, ttlMs, now)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  reset(keys: readonly string[], mark?: AttemptIncrement & { now: number }): Promise<void> {
    for (const key of keys) this.entries.delete(key);
    try {
      if (mark) this.put(mark.key, { count: 1, lastAt: mark.now, expiresAt: mark.now + mark.ttlMs }, mark.now);
    } catch (error) {
      return Promise.reject(error);
    }
    return Promise.resolve();
  }

  claim(key: string, ttlMs: number, now: number): Promise<boolean> {
    if (this.live(key, now).count > 0) return Promise.resolve(false);
    try {
      // Held like a counter past its first failure: never evicted, so a flood cannot make a solution reusable.
      this.put(key, { count: 2, lastAt: now, expiresAt: now + ttlMs }, now);
    } catch (error) {
      return Promise.reject(error);
    }
    return Promise.resolve(true);
  }

  hit(hit: AttemptHit, now: number): Promise<HitCount> {
    try {
      checkAttemptHit(hit);
      const entry = this.entries.get(hit.key);
      const previous = entry && entry.expiresAt > now ? { count: entry.count, resetAt: entry.expiresAt } : undefined;
      const resetAt = nextHitWindowEnd(hit, previous, now);
      const count = previous ? Math.min(previous.count + 1, hit.limit + 1) : 1;
      // Like a failure counter: a key past its first hit is never evicted, so a flood of new clients cannot reset a
      // client's budget (the store refuses new keys, 503, before it forgets one that is counting).
      this.put(hit.key, { count, lastAt: now, expiresAt: resetAt }, now);
      return Promise.resolve({ count, resetAt });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private live(key: string, now: number): AttemptCount {
    const entry = this.entries.get(key);
    if (!entry) return { count: 0, lastAt: 0 };
    if (entry.expiresAt <= now) {
      this.entries.delete(key);
      return { count: 0, lastAt: 0 };
    }
    return { count: entry.count, lastAt: entry.lastAt };
  }

  private bump(key: string, ttlMs: number, now: number): AttemptCount {
    const current = this.live(key, now);
    const next = { count: current.count + 1, lastAt: now, expiresAt: now + ttlMs };
    this.put(key, next, now);
    return { count: next.count, lastAt: next.lastAt };
  }

  /** Stores `entry` as the most recently used; makes room first when the key is new and the map is full. */
  private put(key: string, entry: Entry, now: number): void {
    if (now >= this.nextSweepAt) this.sweep(now);
    if (this.entries.has(key)) this.entries.delete(key);
    else if (this.entries.size >= this.maxEntries) this.makeRoom(now);
    this.entries.set(key, entry);
  }

  /** Forgets every counter whose window has ended; a walk over all of them, at most once a minute. */
  private sweep(now: number): void {
    this.nextSweepAt = now + ATTEMPT_SWEEP_INTERVAL_MS;
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }

  private makeRoom(now: number): void {
    let scanned = 0;
    let candidate: string | undefined;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= now) {
        this.entries.delete(key);
        return;
      }
      if (candidate === undefined && entry.count <= 1) candidate = key;
      if (++scanned >= EVICTION_SCAN) break;
    }
    if (candidate !== undefined) {
      this.entries.delete(candidate);
      return;
    }
    throw new AttemptCounterStoreUnavailableError(
      'increment',
      new Error(`all ${this.maxEntries} in-memory counters hold repeated failures; raise maxEntries or use a shared store (Redis, SQL)`),
    );
  }
}

/**
 * The one source of time for every session decision (timeouts, rotation, counters).
 *
 * Inject a different implementation to move time in tests instead of sleeping.
 * All values are milliseconds since the Unix epoch.
 */
export abstract class Clock {
  /** Current time in milliseconds since the Unix epoch. */
  abstract now(): number;
}

/** The wall clock (`Date.now()`). Default. */
export class SystemClock extends Clock {
  now(): number {
    return Date.now();
  }
}

/**
 * A clock that only moves when told to. For tests.
 *
 * @example
 * const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
 * clock.advance(31 * 60_000); // 31 minutes later
 */
export class ManualClock extends Clock {
  constructor(private current = Date.now()) {
    super();
  }

  now(): number {
    return this.current;
  }

  /** Moves time forward by `ms` milliseconds. */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('ManualClock.advance: time only moves forward; pass ms >= 0');
    this.current += ms;
  }

  /** Sets the absolute time in ms since the epoch. */
  set(ms: number): void {
    this.current = ms;
  }
}

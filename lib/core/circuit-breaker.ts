import { SessionStoreConnectionError } from './errors';

/** Default {@link CircuitBreakerSettings.failureThreshold}: consecutive connectivity failures that open the circuit. */
export const DEFAULT_CIRCUIT_FAILURE_THRESHOLD = 5;
/** Default {@link CircuitBreakerSettings.cooldownMs}, in ms: how long an open circuit refuses before it lets a probe through. */
export const DEFAULT_CIRCUIT_COOLDOWN_MS = 1000;

/** The numbers of a {@link StoreCircuitBreaker}. */
export interface CircuitBreakerSettings {
  /**
   * Connectivity failures (a `SessionStoreConnectionError`: refused, dropped or timed out) in a row, with no success
   * between them, that open the circuit. Any success starts the count again, so one slow request among healthy
   * traffic never opens it. A whole number from 1 up; default {@link DEFAULT_CIRCUIT_FAILURE_THRESHOLD} (5).
   */
  failureThreshold: number;
  /**
   * How long (ms) an open circuit answers at once without calling the store, before it lets ONE call through as a
   * probe (half-open); the probe's success closes the circuit, its failure keeps it open for another cool-down.
   * Default {@link DEFAULT_CIRCUIT_COOLDOWN_MS} (1000 ms): the longest a recovered store waits to be used again.
   */
  cooldownMs: number;
}

/** The state of the circuit: `closed` (calls go through), `open` (refused at once), `half-open` (one probe may go). */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** A change of state, as {@link StoreCircuitBreaker}'s listener receives it. */
export type CircuitTransition =
  /** `failures` connectivity failures in a row opened the circuit; `cause` is the last one. */
  | { state: 'open'; failures: number; cause: unknown }
  /** A call succeeded: the circuit is closed again, after being open for `openForMs` (ms). */
  | { state: 'closed'; openForMs: number };

/**
 * Thrown instead of calling the store while the circuit is open: the store failed `failures` times in a row, and
 * its cool-down has not ended. A connectivity error, so it is answered like an outage (503, fail closed), never as
 * "no session".
 */
export class SessionStoreCircuitOpenError extends SessionStoreConnectionError {
  override name = 'SessionStoreCircuitOpenError';

  constructor(failures: number, retryInMs: number) {
    super(
      `the session store failed ${failures} times in a row, so calls are refused without trying it for the next ${Math.max(0, Math.ceil(retryInMs))} ms ` +
        '(circuitBreaker.cooldownMs); then one call probes it and a success closes the circuit',
    );
  }
}

/**
 * A circuit breaker around the session store's calls (AV-04): after `failureThreshold` connectivity failures in a
 * row it opens, and calls fail at once with {@link SessionStoreCircuitOpenError} instead of each waiting out the
 * store's timeout, so a stalled store cannot pile up requests (and their memory) in the app. After `cooldownMs` one
 * call goes through as a probe; its success closes the circuit. It never fails open: a refused call is an error
 * (503), never "no session" or "allowed".
 *
 * Synchronous and allocation-free on the path of a healthy call: `refusal()` before, `succeeded()` after.
 *
 * Time comes from `now` (monotonic ms, `performance.now()` by default), not the session clock: this measures how
 * long the process has waited, and a test that freezes session time must not freeze recovery.
 *
 * @example
 * const breaker = new StoreCircuitBreaker({ failureThreshold: 5, cooldownMs: 1000 });
 * const refused = breaker.refusal(); // a SessionStoreCircuitOpenError while open
 * if (refused) throw refused;
 * try { const r = await store.read(id, opts); breaker.succeeded(); } catch (e) { if (isStoreConnectionError(e)) breaker.failed(e); throw e; }
 */
export class StoreCircuitBreaker {
  private failures = 0;
  /** When the circuit opened (monotonic ms), or undefined while closed. */
  private openedAt: number | undefined;
  /** While open: when the next probe may go (monotonic ms). */
  private nextProbeAt = 0;

  constructor(
    private readonly settings: CircuitBreakerSettings,
    private readonly onTransition: (transition: CircuitTransition) => void = () => undefined,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!Number.isInteger(settings.failureThreshold) || settings.failureThreshold < 1)
      throw new RangeError(`circuitBreaker.failureThreshold must be a whole number >= 1 (got ${settings.failureThreshold})`);
    if (!Number.isFinite(settings.cooldownMs) || settings.cooldownMs < 0)
      throw new RangeError(`circuitBreaker.cooldownMs must be a number of ms >= 0 (got ${settings.cooldownMs})`);
  }

  /** The current state. */
  get state(): CircuitState {
    if (this.openedAt === undefined) return 'closed';
    return this.now() >= this.nextProbeAt ? 'half-open' : 'open';
  }

  /**
   * Call before the store call: answers the error to fail with instead of calling the store, or `undefined` to go
   * ahead. Closed: `undefined`. Open: a {@link SessionStoreCircuitOpenError}. Half-open: `undefined` for this one
   * call, the probe (the next probe waits another cool-down, so a probe that hangs until its timeout lets no crowd
   * in behind it).
   */
  refusal(): SessionStoreCircuitOpenError | undefined {
    if (this.openedAt === undefined) return undefined;
    const now = this.now();
    if (now < this.nextProbeAt) return new SessionStoreCircuitOpenError(this.failures, this.nextProbeAt - now);
    this.nextProbeAt = now + this.settings.cooldownMs;
    return undefined;
  }

  /** Call when the store answered (whatever it answered): closes the circuit and starts the failure count again. */
  succeeded(): void {
    this.failures = 0;
    if (this.openedAt === undefined) return;
    const openForMs = this.now() - this.openedAt;
    this.openedAt = undefined;
    this.onTransition({ state: 'closed', openForMs });
  }

  /** Call when the store call failed with a connectivity error (only those: a bug is not an outage). */
  failed(cause: unknown): void {
    this.failures++;
    if (this.openedAt !== undefined || this.failures < this.settings.failureThreshold) return;
    const now = this.now();
    this.openedAt = now;
    this.nextProbeAt = now + this.settings.cooldownMs;
    this.onTransition({ state: 'open', failures: this.failures, cause });
  }
}

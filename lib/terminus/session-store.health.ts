import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import type { CircuitState } from '../core/circuit-breaker';
import { SessionService } from '../session.service';

/** Default {@link SessionStoreHealthOptions.timeoutMs}, in ms. */
export const DEFAULT_STORE_HEALTH_TIMEOUT_MS = 1000;

/** Options of {@link SessionStoreHealthIndicator.isHealthy}. */
export interface SessionStoreHealthOptions {
  /**
   * How long (ms) to wait for the store's answer before reporting it `down`: a health probe must answer quickly
   * even when the store hangs. Default {@link DEFAULT_STORE_HEALTH_TIMEOUT_MS} (1000 ms).
   */
  timeoutMs?: number;
}

/** What the indicator reports under its key, besides `status`. */
export interface SessionStoreHealthDetails {
  /** How long the store took to answer a ping, in ms (to 0.1 ms); on `down`, how long the check waited. */
  latencyMs: number;
  /** The module's circuit breaker around the store (`closed` when it is off): see `SessionModuleOptions.circuitBreaker`. */
  circuit: CircuitState;
  /** On `down` only: `timeout` (no answer within `timeoutMs`) or `unreachable` (the store failed the ping). */
  reason?: 'timeout' | 'unreachable';
}

/**
 * A `@nestjs/terminus` health indicator for the session store: `up` with the ping's latency when the store answers
 * within `timeoutMs`, `down` when it fails or does not answer in time. It pings through `SessionService`, so the
 * ping reaches the store even while the circuit breaker is open, and a success closes the circuit. Its answer holds
 * no host, address or error text: health endpoints are often public.
 *
 * Needs `TerminusModule` (for `HealthIndicatorService`) and `SessionModule` (for `SessionService`) in scope: list it
 * in the providers of the module with your health controller.
 *
 * @example
 * @Controller('health')
 * class HealthController {
 *   constructor(private readonly health: HealthCheckService, private readonly store: SessionStoreHealthIndicator) {}
 *   @Get() @HealthCheck()
 *   check() {
 *     return this.health.check([() => this.store.isHealthy('sessionStore', { timeoutMs: 500 })]);
 *   }
 * }
 */
@Injectable()
export class SessionStoreHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly sessions: SessionService,
  ) {}

  /**
   * Pings the store and reports it under `key` (default `sessionStore`): `{ [key]: { status: 'up', latencyMs,
   * circuit } }`, or `status: 'down'` with `reason` when it fails or takes longer than `options.timeoutMs`.
   */
  async isHealthy<const Key extends string = 'sessionStore'>(
    key: Key = 'sessionStore' as Key,
    options: SessionStoreHealthOptions = {},
  ): Promise<HealthIndicatorResult<Key>> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_STORE_HEALTH_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new RangeError(`SessionStoreHealthIndicator: timeoutMs must be a number of ms > 0, e.g. 1000 (got ${options.timeoutMs})`);
    }
    const indicator = this.health.check(key);
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    // The race subscribes to the ping, so a ping that fails after the timeout is handled (never an unhandled rejection).
    const outcome = await Promise.race([
      this.sessions.ping().then(
        () => 'up' as const,
        () => 'unreachable' as const,
      ),
      timedOut,
    ]).finally(() => clearTimeout(timer));
    const latencyMs = Math.round((performance.now() - started) * 10) / 10;
    const details: SessionStoreHealthDetails = { latencyMs, circuit: this.sessions.storeCircuitState };
    if (outcome === 'up') return indicator.up({ ...details });
    return indicator.down({ ...details, reason: outcome });
  }
}

import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock } from '../core/clock';
import { isStoreConnectionError } from '../core/errors';
import { SecurityEventBus } from '../events/security-event-bus';
import { clientInfoOf } from '../http/client-info';
import { HttpRequestLike, HttpResponseLike } from '../http/http-types';
import { setResponseHeader } from '../http/response-headers';
import { AttemptLimiter } from './attempt-limiter';
import { TooManyAttemptsException } from './brute-force.exceptions';
import { BRUTE_FORCE_MODULE_OPTIONS, BruteForceModuleOptions } from './brute-force.module-definition';
import { BruteForceService } from './brute-force.service';

/** Defaults of `BruteForceModuleOptions.sessionGuessing`. */
export const SESSION_GUESSING_DEFAULTS = { threshold: 50, windowMs: 10 * 60_000 } as const;

const ZERO = { count: 0, lastAt: 0 };

/**
 * Detects session id guessing (SID-06): every request whose cookie names no session (`unknown`) or cannot be one of
 * ours (`malformed`) counts against the client IP. After `threshold` of them within `windowMs` the client gets 429
 * `TOO_MANY_ATTEMPTS` (with `Retry-After`) for such requests, and one `excess_rate_limit_exceeded` event (reason
 * `session_guessing`) is emitted: an OWASP event about rates, since the `session_*` events describe a session that
 * exists, and here none does.
 *
 * `SessionAuthGuard` calls it only on that refusal path, so a request with a valid session never pays for it, and
 * a request without any cookie is not counted. Counting is best effort: if the counters cannot be reached the
 * request keeps its 401 (it is refused anyway) and the failure is logged.
 */
@Injectable()
export class SessionGuessingDetector {
  private readonly logger = new Logger('SessionGuessing');
  private readonly limiter: AttemptLimiter | undefined;

  constructor(
    @Inject(BRUTE_FORCE_MODULE_OPTIONS) options: BruteForceModuleOptions,
    bruteForce: BruteForceService,
    private readonly clock: Clock,
    private readonly events: SecurityEventBus,
  ) {
    if (options.sessionGuessing === false) return;
    const { threshold, windowMs } = { ...SESSION_GUESSING_DEFAULTS, ...options.sessionGuessing };
    this.limiter = new AttemptLimiter({
      store: bruteForce.store,
      clock,
      scope: 'sid',
      lockoutThreshold: threshold,
      lockoutDurationMs: windowMs,
      failureWindowMs: windowMs,
      ipWindowMs: windowMs,
      ipLockoutThreshold: Number.MAX_SAFE_INTEGER,
      captchaAfterFailures: 0,
      baseDelayMs: 0,
    });
  }

  /**
   * Counts one request with an unknown or malformed session id (one store round trip).
   *
   * @throws TooManyAttemptsException (429, `Retry-After` set) once the client passed the threshold
   */
  async record(req: HttpRequestLike, res: HttpResponseLike | undefined, kind: 'unknown' | 'malformed'): Promise<void> {
    if (!this.limiter) return;
    const client = clientInfoOf(req);
    let outcome;
    try {
      outcome = await this.limiter.failed({
        subject: { account: client.ip, ip: client.ip },
        account: ZERO,
        ip: ZERO,
        client: ZERO,
        known: false,
      });
    } catch (error) {
      if (!isStoreConnectionError(error)) throw error;
      this.logger.warn(`Cannot count a request with an unknown session id: ${error.message}`);
      return;
    }
    if (outcome.lockedNow) {
      this.events.emit({
        type: 'excess_rate_limit_exceeded',
        time: this.clock.now(),
        level: 'CRITICAL',
        outcome: 'failure',
        ip: client.ip,
        userAgent: client.userAgent,
        reason: 'session_guessing',
        detail: { requests: outcome.client, lastKind: kind, retryAfterMs: outcome.retryAfterMs },
      });
    }
    if (outcome.retryAfterMs > 0) {
      const seconds = Math.max(1, Math.ceil(outcome.retryAfterMs / 1000));
      if (res) setResponseHeader(res, 'Retry-After', String(seconds));
      throw new TooManyAttemptsException(seconds, `Too many requests with an unknown session. Try again in ${seconds} seconds.`);
    }
  }
}

import { HttpException, HttpStatus } from '@nestjs/common';
import { describeWait } from '../brute-force/brute-force.exceptions';

/**
 * 429 `TOO_MANY_REQUESTS`: the client used its budget on this route. `retryAfter` (seconds) repeats the `Retry-After`
 * header that `RateLimitGuard` sets, next to the `RateLimit-*` headers.
 */
export class TooManyRequestsException extends HttpException {
  readonly code = 'TOO_MANY_REQUESTS';

  constructor(
    /** Seconds until the route accepts this client's requests again. */
    readonly retryAfter: number,
    message = `Too many requests. Try again in ${describeWait(retryAfter)}.`,
  ) {
    super({ statusCode: HttpStatus.TOO_MANY_REQUESTS, code: 'TOO_MANY_REQUESTS', message, retryAfter }, HttpStatus.TOO_MANY_REQUESTS);
  }
}

/**
 * 503 `RATE_LIMITER_UNAVAILABLE`: the rate-limit counters cannot be reached. The request is refused (fail closed: an
 * outage must not lift the limits) and the route works again once the counter storage answers.
 */
export class RateLimiterUnavailableException extends HttpException {
  readonly code = 'RATE_LIMITER_UNAVAILABLE';

  constructor() {
    super(
      {
        statusCode: HttpStatus.SERVICE_UNAVAILABLE,
        code: 'RATE_LIMITER_UNAVAILABLE',
        message: 'This service is temporarily unavailable. Try again shortly.',
      },
      HttpStatus.SERVICE_UNAVAILABLE,
    );
  }
}

import { HttpException, HttpStatus } from '@nestjs/common';
import type { CaptchaChallenge } from '../captcha/captcha-verifier';

/**
 * 429 `TOO_MANY_ATTEMPTS`: the account, the client or the IP is locked, or must wait out the progressive delay.
 * `retryAfter` (seconds) repeats the `Retry-After` header the service sets on the response.
 */
export class TooManyAttemptsException extends HttpException {
  readonly code = 'TOO_MANY_ATTEMPTS';

  constructor(
    /** Seconds until the next attempt may be made. */
    readonly retryAfter: number,
    message = `Too many failed attempts. Try again in ${describeWait(retryAfter)}.`,
  ) {
    super({ statusCode: HttpStatus.TOO_MANY_REQUESTS, code: 'TOO_MANY_ATTEMPTS', message, retryAfter }, HttpStatus.TOO_MANY_REQUESTS);
  }
}

/**
 * 401 `CAPTCHA_REQUIRED` with `{ challenge }`: after a few failures the attempt needs a CAPTCHA solution (body field
 * `captcha`), and it was missing or not valid. The challenge is a new one, for this context.
 */
export class CaptchaRequiredException extends HttpException {
  readonly code = 'CAPTCHA_REQUIRED';

  constructor(readonly challenge: CaptchaChallenge) {
    super(
      {
        statusCode: HttpStatus.UNAUTHORIZED,
        code: 'CAPTCHA_REQUIRED',
        message: 'Solve the CAPTCHA, then try again.',
        challenge,
      },
      HttpStatus.UNAUTHORIZED,
    );
  }
}

/**
 * 503 `ATTEMPT_LIMITER_UNAVAILABLE`: the attempt counters cannot be read or written. The attempt fails closed (no
 * password is checked without its counters, AV-03) and works again once the counter storage answers.
 */
export class AttemptLimiterUnavailableException extends HttpException {
  readonly code = 'ATTEMPT_LIMITER_UNAVAILABLE';

  constructor() {
    super(
      {
        statusCode: HttpStatus.SERVICE_UNAVAILABLE,
        code: 'ATTEMPT_LIMITER_UNAVAILABLE',
        message: 'Sign-in is temporarily unavailable. Try again shortly.',
      },
      HttpStatus.SERVICE_UNAVAILABLE,
    );
  }
}

/** "14 minutes", "30 seconds": the wait in words, for the message a person reads. */
export function describeWait(seconds: number): string {
  if (seconds >= 120) return `${Math.ceil(seconds / 60)} minutes`;
  return seconds === 1 ? '1 second' : `${seconds} seconds`;
}

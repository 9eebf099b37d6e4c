import { HttpStatus } from '@nestjs/common';
import { SessionHttpException } from '../errors/session.exceptions';
import type { CsrfRefusalReason } from './request-origin';

/**
 * 403 `CSRF_REJECTED`: a state-changing request came from another site, or without the CSRF token of the caller's
 * session (or pre-login nonce). The body does not say which check failed (the `malicious_csrf` event does): a page
 * of this app only meets it after its token went stale, and fetches a new one.
 */
export class CsrfRejectedException extends SessionHttpException {
  constructor(
    /** Which check failed (for logs and subclasses; not sent to the client). */
    readonly reason: CsrfRefusalReason,
    message = 'This request was refused as a possible cross-site request forgery: send it from this site, with the current CSRF token in the x-csrf-token header.',
  ) {
    super(HttpStatus.FORBIDDEN, 'CSRF_REJECTED', message);
  }
}

/**
 * 415 `UNSUPPORTED_MEDIA_TYPE`: a state-changing request to a JSON route had a CORS-simple body type
 * (`text/plain`, `application/x-www-form-urlencoded`, `multipart/form-data`), which another site's page can send
 * without a preflight. Send `Content-Type: application/json`, or mark an HTML form route `@CsrfFormRoute()`.
 */
export class UnsupportedContentTypeException extends SessionHttpException {
  constructor(mediaType: string) {
    super(
      HttpStatus.UNSUPPORTED_MEDIA_TYPE,
      'UNSUPPORTED_MEDIA_TYPE',
      `This route accepts JSON only (got ${mediaType.slice(0, 64)}): send Content-Type: application/json.`,
    );
  }
}

import { HttpException, HttpStatus } from '@nestjs/common';

/** Body of every error the sample sends: `{ statusCode, code, message }`, plus details for some codes. */
export interface ApiErrorBody {
  statusCode: number;
  /** Stable, machine-readable code (UPPER_SNAKE). */
  code: string;
  message: string;
  /** Per-field messages of a `VALIDATION_FAILED` error. */
  errors?: Record<string, string[]>;
}

/**
 * An HTTP error with a stable code. Named constructors keep every code and message of the app in one place.
 *
 * @example throw ApiException.notFound('SESSION_NOT_FOUND', 'You have no session with this handle.');
 */
export class ApiException extends HttpException {
  constructor(body: ApiErrorBody) {
    super(body, body.statusCode);
  }

  /** 401 for a failed login or re-authentication. Same text whatever was wrong, so it tells an attacker nothing. */
  static invalidCredentials(): ApiException {
    return new ApiException({ statusCode: HttpStatus.UNAUTHORIZED, code: 'INVALID_CREDENTIALS', message: 'Wrong username or password.' });
  }

  /** 400 with the messages of each invalid field. */
  static validationFailed(errors: Record<string, string[]>): ApiException {
    return new ApiException({ statusCode: HttpStatus.BAD_REQUEST, code: 'VALIDATION_FAILED', message: 'Some fields are invalid.', errors });
  }

  /** 404 with a specific code. */
  static notFound(code: string, message: string): ApiException {
    return new ApiException({ statusCode: HttpStatus.NOT_FOUND, code, message });
  }

  /** 401 with a specific code (a wrong second factor, a missing one). */
  static unauthorized(code: string, message: string): ApiException {
    return new ApiException({ statusCode: HttpStatus.UNAUTHORIZED, code, message });
  }

  /** 403 with a specific code. */
  static forbidden(code: string, message: string): ApiException {
    return new ApiException({ statusCode: HttpStatus.FORBIDDEN, code, message });
  }

  /** 429 `TOO_MANY_ATTEMPTS`; set `Retry-After` on the response before throwing it. */
  static tooManyAttempts(message: string): ApiException {
    return new ApiException({ statusCode: HttpStatus.TOO_MANY_REQUESTS, code: 'TOO_MANY_ATTEMPTS', message });
  }

  /** 409: the request is valid but does not fit the current state. */
  static conflict(code: string, message: string): ApiException {
    return new ApiException({ statusCode: HttpStatus.CONFLICT, code, message });
  }
}

import { HttpException, HttpStatus } from '@nestjs/common';

/**
 * Thrown instead of 401 when a person's browser asks for a page without a session: the exception filter
 * answers `303 See Other` with `Location: /login`. It is an HttpException (303, `LOGIN_REQUIRED`) so that
 * anything else catching it still sees a sensible status.
 */
export class LoginRedirect extends HttpException {
  constructor() {
    super({ statusCode: HttpStatus.SEE_OTHER, code: 'LOGIN_REQUIRED', message: 'Sign in to see this page.' }, HttpStatus.SEE_OTHER);
  }
}

import { HttpStatus } from '@nestjs/common';
import { SessionHttpException } from '../errors/session.exceptions';

/** 403 `INSUFFICIENT_ROLE`: the session's roles do not include what the route requires (`@Roles`, `@Permissions`). */
export class InsufficientRoleException extends SessionHttpException {
  constructor(message = 'You do not have permission to do this.') {
    super(HttpStatus.FORBIDDEN, 'INSUFFICIENT_ROLE', message);
  }
}

import { Reflector } from '@nestjs/core';
import { isAssuranceLevel } from '../core/session-record';

/**
 * Lets a session whose sign-in is still pending (password proven, second factor due) reach this route or
 * controller. Everything else needs a complete session: a route that forgets a decorator is closed to pending
 * sessions, never open. Put it on the second-factor step only (e.g. `POST /auth/mfa`).
 *
 * @example @AllowPendingSession() @Post('mfa') verify(@Body() body: CodeDto) { ... }
 */
export const AllowPendingSession = Reflector.createDecorator<void, true>({ key: 'session:allow-pending', transform: () => true });

/**
 * Requires an authentication assurance level of at least `level` (1 = one factor, 2 = multi-factor) on a
 * route or controller; below it `SessionAuthGuard` answers 403 `MFA_REQUIRED`. A handler's level overrides its
 * controller's.
 *
 * @example @RequireAal(2) @Get('security') security() { ... }
 */
export const RequireAal = Reflector.createDecorator<number, number>({
  key: 'session:min-aal',
  transform: (level: number) => {
    if (!isAssuranceLevel(level)) {
      throw new RangeError(`@RequireAal(${String(level)}): give an assurance level of 1, 2 or 3 (2 = multi-factor)`);
    }
    return level;
  },
});

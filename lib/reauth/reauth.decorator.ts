import { SetMetadata } from '@nestjs/common';
import { formatDuration, parseDuration } from '../core/duration';
import type { Duration } from '../session.options';

/** Metadata key of {@link ReAuth}. */
export const REAUTH_KEY = 'session:reauth';

/** What a `@ReAuth()` route asks: the longest time since the last full authentication (ms), or the module default. */
export interface ReAuthRequirement {
  maxAgeMs?: number;
}

/** Options of {@link ReAuth}. */
export interface ReAuthOptions {
  /** How recent the last full authentication must be (ms or `"5m"`). Default: the module's `reauth.maxAge` (`5m`). */
  maxAge?: Duration;
}

/**
 * Marks a sensitive route or controller (password change, MFA changes, logout everywhere, role changes): the
 * session's last full authentication (login or re-authentication) must be at most `maxAge` old, else
 * {@link ReAuthGuard} answers 401 `REAUTH_REQUIRED` with where to re-authenticate. A "remember me" login never
 * counts as fresh (only a re-authentication does), and an admin's impersonation session never passes.
 *
 * @example @ReAuth() @Post('account/password') changePassword() { ... }
 * @example @ReAuth({ maxAge: '1m' }) @Post('admin/users/:id/disable') disable() { ... }
 */
export const ReAuth = (options: ReAuthOptions = {}): MethodDecorator & ClassDecorator => {
  if (options.maxAge === undefined) return SetMetadata(REAUTH_KEY, {} satisfies ReAuthRequirement);
  const ms = parseDuration(options.maxAge);
  if (ms === undefined || ms < 1000) {
    throw new RangeError(
      `@ReAuth({ maxAge: ${JSON.stringify(options.maxAge)} }): give a duration of at least 1s, such as "5m" or ${5 * 60_000}${
        ms === undefined ? '' : ` (got ${formatDuration(ms)})`
      }`,
    );
  }
  return SetMetadata(REAUTH_KEY, { maxAgeMs: ms } satisfies ReAuthRequirement);
};

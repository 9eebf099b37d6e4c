import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { peekSession, SessionView } from '../session.service';

/**
 * Injects the current session ({@link SessionView}: handle, times, aal, data; never the token), or `undefined`
 * on a public route that did not load one. Reads what `SessionAuthGuard` loaded: no extra store round trip.
 *
 * @example @Get('me') me(@CurrentSession() session: SessionView) { ... }
 */
export const CurrentSession = createParamDecorator((_: unknown, ctx: ExecutionContext): SessionView | undefined =>
  // getArgByIndex(0) is the HTTP request; switchToHttp() would attach three new closures to the context on
  // every call, and this runs on every request.
  peekSession(ctx.getArgByIndex(0)),
);

/**
 * Injects the current user's id (the `userId` the session was created with), or `undefined` without a session.
 *
 * @example @Get('orders') orders(@CurrentUser() userId: string) { ... }
 */
export const CurrentUser = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): string | undefined => peekSession(ctx.getArgByIndex(0))?.userId,
);

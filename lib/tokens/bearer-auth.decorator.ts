import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { BearerPrincipal, bearerPrincipalOf } from '../guards/principal';

/**
 * Marks a route or controller as authenticated by an access token (`Authorization: Bearer <jwt>`) instead of the
 * session cookie: `BearerAuthGuard` verifies the token, `SessionAuthGuard` lets the route through only once it has,
 * and `CsrfGuard` does not check it (no browser attaches an `Authorization` header by itself). `@Roles`, `@ReAuth`
 * (through `auth_time`) and `@RequireAal` apply as for sessions; `@Public()` still wins.
 *
 * @example @BearerAuth() @Get('api/me') me(@CurrentPrincipal() principal: BearerPrincipal) { ... }
 */
export const BearerAuth = Reflector.createDecorator<void, true>({ key: 'session:bearer', transform: () => true });

/**
 * Injects the principal that `BearerAuthGuard` verified for this request ({@link BearerPrincipal}: user, roles,
 * aal, `auth_time`, client, scope, `sid`), or `undefined` on a route that is not `@BearerAuth()`.
 *
 * @example @BearerAuth() @Get('orders') orders(@CurrentPrincipal() principal: BearerPrincipal) { ... }
 */
export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): BearerPrincipal | undefined =>
  bearerPrincipalOf(ctx.getArgByIndex(0)),
);

import { Reflector } from '@nestjs/core';

/**
 * Exempts a route or controller from `CsrfGuard`: for requests no browser sends with the user's cookies, such as
 * webhooks signed by their sender or server-to-server calls with credentials in the body. Never put it on a route
 * that a session cookie authenticates: that route is then open to cross-site forgery.
 *
 * @example @SkipCsrf() @Public() @Post('webhooks/payments') paymentWebhook(@Body() event: PaymentEvent) { ... }
 */
export const SkipCsrf = Reflector.createDecorator<void, true>({ key: 'session:csrf-skip', transform: () => true });

/**
 * Marks a route that accepts an HTML form post (`application/x-www-form-urlencoded` or `multipart/form-data`):
 * `CsrfGuard` then takes the token from the form field (`csrf.fieldName`, default `_csrf`) when the header is
 * absent, and does not refuse the form content type with 415. The app must parse such bodies (e.g.
 * `app.useBodyParser('urlencoded')`); the Origin and token checks apply as on any other route.
 *
 * @example @CsrfFormRoute() @Post('auth/logout') logout() { ... }  // <form method="post"><input type="hidden" name="_csrf" value="..."></form>
 */
export const CsrfFormRoute = Reflector.createDecorator<void, true>({ key: 'session:csrf-form', transform: () => true });

import { Reflector } from '@nestjs/core';

/**
 * Marks a route or controller as reachable without a session. Everything else is protected by default
 * once `SessionAuthGuard` is registered with `APP_GUARD` (deny by default).
 *
 * @example @Public() @Get('health') health() { ... }
 */
export const Public = Reflector.createDecorator<void, true>({ key: 'session:public', transform: () => true });

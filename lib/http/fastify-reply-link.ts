import { Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { HttpRequestLike, HttpResponseLike } from './http-types';

const REPLY = Symbol('nest-session-kit:reply');

/** The parts of a Fastify instance the link uses (no import of fastify: `@nestjs/platform-fastify` is optional). */
interface FastifyHooks {
  hasRequestDecorator(name: symbol): boolean;
  decorateRequest(name: symbol, value: null): unknown;
  addHook(name: 'onRequest', hook: (request: object, reply: object, done: () => void) => void): unknown;
}

/**
 * The Fastify reply of a request, linked by {@link FastifyReplyLink}; undefined on Express (which has `req.res`) and
 * for a request the link never saw.
 */
export function linkedReply(req: HttpRequestLike): HttpResponseLike | undefined {
  return (req as { [REPLY]?: HttpResponseLike })[REPLY] ?? undefined;
}

/**
 * Gives each Fastify request a link to its reply, as Express gives `req.res`: `SessionService` writes a rotated or
 * re-sealed cookie to the request's own response when a caller passes none (`sessions.update(req, fn)` on a route
 * the guard did not load). A no-op on Express. Registered by `SessionModule`; one `onRequest` hook per application.
 */
@Injectable()
export class FastifyReplyLink implements OnModuleInit {
  constructor(@Optional() private readonly adapterHost?: HttpAdapterHost) {}

  onModuleInit(): void {
    const adapter = this.adapterHost?.httpAdapter;
    if (!adapter || adapter.getType() !== 'fastify') return;
    const fastify = adapter.getInstance<FastifyHooks>();
    if (fastify.hasRequestDecorator(REPLY)) return;
    try {
      // Declared first, so every request object keeps one shape (Fastify's advice for request properties).
      fastify.decorateRequest(REPLY, null);
      fastify.addHook('onRequest', (request, reply, done) => {
        (request as { [REPLY]?: object })[REPLY] = reply;
        done();
      });
    } catch (error) {
      throw new Error(
        `SessionModule cannot add its Fastify onRequest hook (${(error as Error).message}): call app.init() (or app.listen()) before fastify.ready().`,
        { cause: error },
      );
    }
  }
}

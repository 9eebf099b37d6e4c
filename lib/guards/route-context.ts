import type { ExecutionContext, Type } from '@nestjs/common';
import { SessionRequiredException } from '../errors/session.exceptions';
import type { HttpRequestLike, HttpResponseLike } from '../http/http-types';

/**
 * What the session guards need from a route, read once per (handler, class) pair: route metadata does not change
 * at run time, so the guards share this cache rather than asking the `Reflector` on every request.
 */
export class RouteMetadataCache<T> {
  private readonly byHandler = new WeakMap<object, WeakMap<object, T>>();

  /** The cached value for the context's route, computed by `read(handler, class)` the first time. */
  get(context: ExecutionContext, read: (targets: [handler: ReturnType<ExecutionContext['getHandler']>, cls: Type]) => T): T {
    const handler = context.getHandler();
    const cls = context.getClass();
    let byClass = this.byHandler.get(handler);
    if (byClass?.has(cls)) return byClass.get(cls) as T;
    const value = read([handler, cls]);
    if (!byClass) this.byHandler.set(handler, (byClass = new WeakMap()));
    byClass.set(cls, value);
    return value;
  }
}

/**
 * The HTTP request and response of a guard's context; any other context (GraphQL, WebSockets, microservices) is
 * refused with 401, saying how to support it: deny by default.
 */
export function httpRequestResponse(context: ExecutionContext, guard: string): { req: HttpRequestLike; res?: HttpResponseLike } {
  if (context.getType() !== 'http') {
    throw new SessionRequiredException(
      `No session can be read from a "${context.getType()}" context: mark the handler @Public(), or subclass ${guard} and override getRequestResponse() to return its HTTP request and response.`,
    );
  }
  // The HTTP arguments are (request, response, next); switchToHttp() would attach three new closures to the
  // context on every request for the same two values.
  return { req: context.getArgByIndex<HttpRequestLike>(0), res: context.getArgByIndex<HttpResponseLike>(1) };
}

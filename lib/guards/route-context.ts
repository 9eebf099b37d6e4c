import type { ExecutionContext, Type } from '@nestjs/common';
import { SessionRequiredException } from '../errors/session.exceptions';
import type { HttpRequestLike, HttpResponseLike } from '../http/http-types';

/** The handler and class of a route, as `Reflector.getAllAndOverride` takes them. */
export type RouteTargets = [handler: ReturnType<ExecutionContext['getHandler']>, cls: Type];

/**
 * What the session guards need from a route, read once per (handler, class) pair: route metadata does not change
 * at run time, so the guards share this cache rather than asking the `Reflector` on every request. `read` computes
 * the value of a route the first time it is asked for; it must not answer `undefined`.
 */
export class RouteMetadataCache<T> {
  constructor(private readonly read: (targets: RouteTargets, context: ExecutionContext) => T) {}

  private readonly byHandler = new WeakMap<object, WeakMap<object, T>>();
  /**
   * The route asked for last, answered without a lookup: a guard asks several times per request (`isPublic`, then the
   * whole policy), and a busy route many times in a row.
   */
  private lastHandler: object | undefined;
  private lastClass: object | undefined;
  private lastValue: T | undefined;

  /** The cached value for the context's route, computed by `read` the first time. */
  get(context: ExecutionContext): T {
    const handler = context.getHandler();
    const cls = context.getClass();
    if (handler === this.lastHandler && cls === this.lastClass) return this.lastValue as T;
    let byClass = this.byHandler.get(handler);
    let value = byClass?.get(cls);
    if (value === undefined) {
      value = this.read([handler, cls], context);
      if (!byClass) this.byHandler.set(handler, (byClass = new WeakMap()));
      byClass.set(cls, value);
    }
    this.lastHandler = handler;
    this.lastClass = cls;
    this.lastValue = value;
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

import { CanActivate, ExecutionContext, Inject, Injectable, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Clock } from '../core/clock';
import { SecurityEventBus } from '../events/security-event-bus';
import { httpRequestResponse, RouteMetadataCache } from '../guards/route-context';
import { clientInfoOf } from '../http/client-info';
import type { HttpRequestLike, HttpResponseLike } from '../http/http-types';
import { SessionService, SessionView } from '../session.service';
import { BearerAuth } from '../tokens/bearer-auth.decorator';
import { CsrfFormRoute, SkipCsrf } from './csrf.decorators';
import { CsrfRejectedException, UnsupportedContentTypeException } from './csrf.exceptions';
import { CsrfService } from './csrf.service';
import { SessionTelemetry } from '../telemetry/session-telemetry';
import { traceGuard } from '../telemetry/tracing';
import { checkRequestOrigin, CsrfRefusalReason, ownOrigins } from './request-origin';

/** What the CSRF checks read from a request besides the headers (Express provides all of them). */
export type CsrfRequest = HttpRequestLike & { method?: string; url?: string; protocol?: string; body?: unknown };

/** What a route's decorators ask of `CsrfGuard`, read once per (handler, class). */
interface CsrfRoutePolicy {
  skip: boolean;
  form: boolean;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
/** The body types another site's page can send without a CORS preflight (plus a missing type with a body). */
const SIMPLE_TYPES = new Set(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data']);
const FORM_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data']);

/**
 * Refuses cross-site request forgery on every state-changing request (POST, PUT, PATCH, DELETE) that a cookie can
 * authenticate, `@Public()` routes included (the login itself, against login CSRF). In order:
 *
 * 1. Fetch Metadata and origin (defence in depth, no store access): `Sec-Fetch-Site: cross-site` is refused,
 *    `same-site` only passes from an origin in `csrf.allowedOrigins`; an `Origin` must be the app's own or allowed
 *    (`null` only with `Sec-Fetch-Site: same-origin`: a form post under `Referrer-Policy: no-referrer`);
 *    without `Origin` the `csrf.missingOrigin` policy decides (default: check the `Referer` when there is one).
 * 2. The synchronizer token, from the `x-csrf-token` header (or the `_csrf` field of a form post on a
 *    `@CsrfFormRoute()` route): it must be one issued for this session (or, before sign-in, for this pre-login nonce
 *    cookie), compared in constant time. See `CsrfService.token()`.
 * 3. The body type: a CORS-simple one (`text/plain`, form encodings) is refused with 415 `UNSUPPORTED_MEDIA_TYPE`
 *    unless the route is a `@CsrfFormRoute()`.
 *
 * A refusal is 403 `CSRF_REJECTED` with a `malicious_csrf` event. Not checked: safe methods (which must never change
 * state), `@SkipCsrf()` routes (webhooks), `@BearerAuth()` routes, and bearer-token API requests (`Authorization: Bearer` and no session
 * cookie), which no browser attaches by itself. Register it after `SessionAuthGuard`, which has then loaded the
 * session (no extra store round trip):
 *
 * @example
 * providers: [
 *   { provide: APP_GUARD, useClass: SessionAuthGuard },
 *   { provide: APP_GUARD, useExisting: CsrfGuard },
 * ]
 *
 * Other contexts (GraphQL, WebSockets) are refused unless `@SkipCsrf()`: override {@link getRequestResponse} to
 * hand it their HTTP request (a GraphQL mutation over POST needs this defence too).
 */
@Injectable()
export class CsrfGuard implements CanActivate {
  private readonly cache = new RouteMetadataCache<CsrfRoutePolicy>((targets) => ({
    // A `@BearerAuth()` route is authenticated by the Authorization header, which no other site can make a
    // browser send: there is nothing to forge, whatever cookies come along.
    skip: this.reflector.getAllAndOverride(SkipCsrf, targets) === true || this.reflector.getAllAndOverride(BearerAuth, targets) === true,
    form: this.reflector.getAllAndOverride(CsrfFormRoute, targets) === true,
  }));

  constructor(
    protected readonly reflector: Reflector,
    protected readonly csrf: CsrfService,
    protected readonly sessions: SessionService,
    protected readonly events: SecurityEventBus,
    @Inject(Clock) protected readonly clock: Clock,
    /** Spans when an OpenTelemetry SDK is registered (see the module's `tracing` option). */
    @Optional() protected readonly telemetry?: SessionTelemetry,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    // Decided once at start-up: without an OpenTelemetry SDK this is one property read, no span and no closure.
    const tracer = this.telemetry?.tracer;
    return tracer === undefined ? this.activate(context) : traceGuard(tracer, 'CsrfGuard', () => this.activate(context));
  }

  /** The guard's decision, without the span (see {@link canActivate}). */
  protected activate(context: ExecutionContext): boolean | Promise<boolean> {
    const route = this.routePolicy(context);
    if (route.skip) return true;
    const { req, res } = this.getRequestResponse(context);
    if (!this.needsCheck(req)) return true;
    const refusal = checkRequestOrigin(req.headers, this.ownOrigins(req), this.csrf.options);
    if (refusal !== null) throw this.reject(req, refusal, this.sessions.peek(req));
    const loaded = this.sessions.peek(req);
    if (loaded) return this.checkToken(req, route, loaded);
    return this.sessions.current(req, res).then((session) => this.checkToken(req, route, session));
  }

  /**
   * Whether the request is one a browser could forge: an unsafe method, and not a bearer-token API call (with
   * `Authorization: Bearer` and no session cookie, nothing a browser attaches by itself authenticates it).
   */
  protected needsCheck(req: CsrfRequest): boolean {
    if (SAFE_METHODS.has((req.method ?? 'GET').toUpperCase())) return false;
    const authorization = req.headers.authorization;
    if (typeof authorization === 'string' && /^bearer\s/i.test(authorization) && !this.csrf.hasSessionCookie(req)) return false;
    return true;
  }

  /** The request and response; override for GraphQL or WebSockets as with `SessionAuthGuard`. */
  protected getRequestResponse(context: ExecutionContext): { req: CsrfRequest; res?: HttpResponseLike } {
    return httpRequestResponse(context, 'CsrfGuard');
  }

  /** The origins that count as the app's own for this request (its `Host`); `csrf.allowedOrigins` come on top. */
  protected ownOrigins(req: CsrfRequest): string[] {
    const host = req.headers.host;
    return ownOrigins(typeof host === 'string' ? host : undefined, req.protocol);
  }

  /** What the route's (or its controller's) decorators ask. */
  protected routePolicy(context: ExecutionContext): CsrfRoutePolicy {
    return this.cache.get(context);
  }

  private checkToken(req: CsrfRequest, route: CsrfRoutePolicy, session: SessionView | null): boolean {
    const mediaType = mediaTypeOf(req);
    let token: unknown = req.headers[this.csrf.options.headerName];
    if (token === undefined && route.form && mediaType !== undefined && FORM_TYPES.has(mediaType)) {
      const body = req.body;
      if (typeof body === 'object' && body !== null) token = (body as Record<string, unknown>)[this.csrf.options.fieldName];
    }
    if (token === undefined || token === '') throw this.reject(req, 'token_missing', session);
    if (!this.csrf.verify(req, session, token)) throw this.reject(req, 'token_invalid', session);
    if (this.csrf.options.rejectSimpleContentTypes && mediaType !== undefined && SIMPLE_TYPES.has(mediaType) && !route.form) {
      throw new UnsupportedContentTypeException(mediaType);
    }
    return true;
  }

  private reject(req: CsrfRequest, reason: CsrfRefusalReason, session: SessionView | null | undefined): CsrfRejectedException {
    const client = clientInfoOf(req);
    const detail: Record<string, string> = { method: (req.method ?? '').toUpperCase(), path: (req.url ?? '').split('?')[0] };
    const origin = req.headers.origin;
    if (typeof origin === 'string') detail.origin = origin;
    const site = req.headers['sec-fetch-site'];
    if (typeof site === 'string') detail.secFetchSite = site;
    this.events.emit({
      type: 'malicious_csrf',
      time: this.clock.now(),
      // A missing token is usually a client bug; a foreign origin or a wrong token is an attack or a stale page.
      level: reason === 'token_missing' ? 'WARN' : 'CRITICAL',
      outcome: 'failure',
      userId: session?.userId,
      sessionHandle: session?.handle,
      ip: client.ip,
      userAgent: client.userAgent,
      reason,
      detail,
    });
    return new CsrfRejectedException(reason);
  }
}

/** The media type of the request body, lower-case without parameters; undefined when there is no Content-Type. */
function mediaTypeOf(req: CsrfRequest): string | undefined {
  const type = req.headers['content-type'];
  if (typeof type !== 'string' || type.length === 0) return undefined;
  const end = type.indexOf(';');
  return (end === -1 ? type : type.slice(0, end)).trim().toLowerCase();
}

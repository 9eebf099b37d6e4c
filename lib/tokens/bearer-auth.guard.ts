import { CanActivate, ExecutionContext, Injectable, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Public } from '../decorators/public.decorator';
import { RequireAal } from '../decorators/session-stage.decorator';
import { InsufficientAssuranceException } from '../errors/session.exceptions';
import { setBearerPrincipal } from '../guards/principal';
import { httpRequestResponse, RouteMetadataCache } from '../guards/route-context';
import type { HttpRequestLike, HttpResponseLike } from '../http/http-types';
import { headersSent, setResponseHeader } from '../http/response-headers';
import { ApiTokenService } from './api-token.service';
import { SessionTelemetry } from '../telemetry/session-telemetry';
import { traceGuard } from '../telemetry/tracing';
import { BearerAuth } from './bearer-auth.decorator';
import { InvalidAccessTokenException } from './token.exceptions';

/** What a route asks of an access token, read once per (handler, class). */
interface BearerRoutePolicy {
  /** `@BearerAuth()` and not `@Public()`. */
  bearer: boolean;
  minAal: number;
}

const BEARER = /^Bearer ([^\s]+)$/i;

/**
 * Authenticates `@BearerAuth()` routes by an access token in `Authorization: Bearer <jwt>` (never a cookie, query or
 * body): verifies it (`ApiTokenService.authenticate`: signature and pinned algorithm, `typ`, `iss`, `aud`, `exp`,
 * fingerprint cookie, revocation in one store round trip), enforces `@RequireAal`, and sets the request's principal,
 * which `RolesGuard` and `ReAuthGuard` then read as they read a session. Other routes pass untouched (the session
 * guard's business). Register it BEFORE `SessionAuthGuard`, which refuses a `@BearerAuth()` route no token verified:
 *
 * @example
 * providers: [
 *   { provide: APP_GUARD, useExisting: BearerAuthGuard },
 *   { provide: APP_GUARD, useClass: SessionAuthGuard },
 *   { provide: APP_GUARD, useExisting: CsrfGuard },
 *   { provide: APP_GUARD, useExisting: RolesGuard },
 *   { provide: APP_GUARD, useExisting: ReAuthGuard },
 * ]
 *
 * Refusals: 401 `INVALID_TOKEN` with `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750), 403 `MFA_REQUIRED`
 * below `@RequireAal`, 503 `TOKEN_STORE_UNAVAILABLE` when the token store is down.
 */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  private readonly cache = new RouteMetadataCache<BearerRoutePolicy>((targets) => ({
    bearer: this.reflector.getAllAndOverride(BearerAuth, targets) === true && this.reflector.getAllAndOverride(Public, targets) !== true,
    minAal: this.reflector.getAllAndOverride(RequireAal, targets) ?? 0,
  }));

  constructor(
    protected readonly reflector: Reflector,
    protected readonly tokens: ApiTokenService,
    /** Spans when an OpenTelemetry SDK is registered (`SessionModule`'s `tracing` option; needs SessionModule global). */
    @Optional() protected readonly telemetry?: SessionTelemetry,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    // Decided once at start-up: without an OpenTelemetry SDK this is one property read, no span and no closure.
    const tracer = this.telemetry?.tracer;
    return tracer === undefined ? this.activate(context) : traceGuard(tracer, 'BearerAuthGuard', () => this.activate(context));
  }

  /** The guard's decision, without the span (see {@link canActivate}). */
  protected activate(context: ExecutionContext): boolean | Promise<boolean> {
    const route = this.routePolicy(context);
    if (!route.bearer) return true;
    const { req, res } = this.getRequestResponse(context);
    return this.authenticate(req, res, route);
  }

  /** The request and response; override for GraphQL or WebSockets as with `SessionAuthGuard`. */
  protected getRequestResponse(context: ExecutionContext): { req: HttpRequestLike; res?: HttpResponseLike } {
    return httpRequestResponse(context, 'BearerAuthGuard');
  }

  /** What the route's (or its controller's) decorators ask. */
  protected routePolicy(context: ExecutionContext): BearerRoutePolicy {
    return this.cache.get(context);
  }

  private async authenticate(req: HttpRequestLike, res: HttpResponseLike | undefined, route: BearerRoutePolicy): Promise<boolean> {
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? BEARER.exec(header) : null;
    try {
      if (!match) throw new InvalidAccessTokenException('missing', 'This route needs an access token: send Authorization: Bearer <token>.');
      const principal = await this.tokens.authenticate(match[1], req);
      if (principal.aal < route.minAal) throw new InsufficientAssuranceException(route.minAal);
      setBearerPrincipal(req, principal);
      return true;
    } catch (error) {
      if (error instanceof InvalidAccessTokenException && res && !headersSent(res)) {
        // RFC 6750 §3: no error code when the request carried no token at all.
        setResponseHeader(res, 'WWW-Authenticate', error.reason === 'missing' ? 'Bearer' : 'Bearer error="invalid_token"');
      }
      throw error;
    }
  }
}

import { CanActivate, ExecutionContext, Inject, Injectable, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Clock } from '../core/clock';
import { AUTHENTICATION_VOIDED } from '../core/session-check';
import type { SessionData } from '../core/session-record';
import { Public } from '../decorators/public.decorator';
import { SessionPendingException, SessionRequiredException } from '../errors/session.exceptions';
import { bearerPrincipalOf, Principal } from '../guards/principal';
import { httpRequestResponse, RouteMetadataCache } from '../guards/route-context';
import type { HttpRequestLike, HttpResponseLike } from '../http/http-types';
import { SessionService } from '../session.service';
import { ReAuthPolicy } from './reauth-policy';
import { SessionTelemetry } from '../telemetry/session-telemetry';
import { traceGuard } from '../telemetry/tracing';
import { REAUTH_KEY, ReAuthRequirement } from './reauth.decorator';
import { ReAuthRequiredBody, ReAuthRequiredException } from './reauth.exceptions';
import { reauthRouteOf } from './reauth-route';

/**
 * Enforces `@ReAuth()`: the session's `authenticatedAt` must be within the route's `maxAge` (default: the
 * module's `reauth.maxAge`, `5m`). A session created by a "remember me" login is fresh only after a
 * re-authentication, an impersonation session never is, and neither is a session whose authentication a request-time
 * check voided (a binding anomaly under `strictAction: 'reauth'`) until it re-authenticates. Register it after `SessionAuthGuard` (and
 * `RolesGuard`):
 *
 * @example
 * providers: [
 *   { provide: APP_GUARD, useClass: SessionAuthGuard },
 *   { provide: APP_GUARD, useClass: RolesGuard },
 *   { provide: APP_GUARD, useClass: ReAuthGuard },
 * ]
 */
@Injectable()
export class ReAuthGuard implements CanActivate {
  private readonly cache = new RouteMetadataCache<ReAuthRequirement | null>((targets) =>
    // A `@Public()` route needs no session, so it cannot need a fresh one (even under a controller's `@ReAuth`).
    this.reflector.getAllAndOverride(Public, targets) === true
      ? null
      : (this.reflector.getAllAndOverride<ReAuthRequirement | undefined>(REAUTH_KEY, targets) ?? null),
  );

  constructor(
    protected readonly reflector: Reflector,
    protected readonly sessions: SessionService,
    @Inject(Clock) protected readonly clock: Clock,
    protected readonly policy: ReAuthPolicy,
    /** Spans when an OpenTelemetry SDK is registered (see the module's `tracing` option). */
    @Optional() protected readonly telemetry?: SessionTelemetry,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    // Decided once at start-up: without an OpenTelemetry SDK this is one property read, no span and no closure.
    const tracer = this.telemetry?.tracer;
    return tracer === undefined ? this.activate(context) : traceGuard(tracer, 'ReAuthGuard', () => this.activate(context));
  }

  /** The guard's decision, without the span (see {@link canActivate}). */
  protected activate(context: ExecutionContext): boolean | Promise<boolean> {
    const need = this.requirement(context);
    if (need === null) return true;
    const { req, res } = this.getRequestResponse(context);
    const maxAgeMs = need.maxAgeMs ?? this.policy.maxAgeMs;
    // An access token: its `auth_time` is when the user last authenticated, as a session's `authenticatedAt`.
    const bearer = bearerPrincipalOf(req);
    if (bearer) return this.decide(bearer, maxAgeMs);
    const view = this.sessions.peek(req);
    if (view) return this.decide(view, maxAgeMs);
    return this.sessions.current(req, res).then((loaded) => this.decide(loaded, maxAgeMs));
  }

  /** Why `view` is not fresh enough for `maxAgeMs`, or null when it is. */
  static staleness(
    view: Pick<Principal, 'impersonatedBy' | 'authenticatedAt' | 'tier' | 'createdAt'>,
    maxAgeMs: number,
    now: number,
  ): ReAuthRequiredBody['reauth']['reason'] | null {
    if (view.impersonatedBy !== null) return 'impersonation';
    // A request-time check (session anomaly, `challenge`) voided the last proof of presence: only a new one counts.
    if (view.authenticatedAt === AUTHENTICATION_VOIDED) return 'challenged';
    // A remembered login is a convenience, not a proof of presence: only a later re-authentication counts.
    if (view.tier === 'remember' && view.authenticatedAt <= view.createdAt) return 'remembered';
    return now - view.authenticatedAt <= maxAgeMs ? null : 'stale';
  }

  /** The request and response; override for GraphQL or WebSockets as with `SessionAuthGuard`. */
  protected getRequestResponse(context: ExecutionContext): { req: HttpRequestLike; res?: HttpResponseLike } {
    return httpRequestResponse(context, 'ReAuthGuard');
  }

  /** The route's requirement (handler overrides controller), or null. */
  protected requirement(context: ExecutionContext): ReAuthRequirement | null {
    return this.cache.get(context);
  }

  private decide(
    // A session's view carries its data (which may name its own re-authentication route); a token has none.
    view:
      (Pick<Principal, 'impersonatedBy' | 'authenticatedAt' | 'tier' | 'createdAt' | 'stage'> & { data?: Readonly<SessionData> }) | null,
    maxAgeMs: number,
  ): boolean {
    if (!view) throw new SessionRequiredException();
    if (view.stage !== 'complete') throw new SessionPendingException();
    const reason = ReAuthGuard.staleness(view, maxAgeMs, this.clock.now());
    if (reason === null) return true;
    // A session signed in elsewhere (an OpenID Provider) names its own route; any other uses the module's form.
    const route = (view.data && reauthRouteOf(view.data)) ?? { path: this.policy.path, method: 'POST' as const };
    throw new ReAuthRequiredException({ ...route, maxAgeMs, reason });
  }
}

import { CanActivate, ExecutionContext, Inject, Injectable, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Clock } from '../core/clock';
import { Public } from '../decorators/public.decorator';
import { SessionPendingException, SessionRequiredException } from '../errors/session.exceptions';
import { SecurityEventBus } from '../events/security-event-bus';
import { bearerPrincipalOf, Principal } from '../guards/principal';
import { httpRequestResponse, RouteMetadataCache } from '../guards/route-context';
import type { HttpRequestLike, HttpResponseLike } from '../http/http-types';
import { SessionService } from '../session.service';
import { InsufficientRoleException } from './rbac.exceptions';
import { RolePolicy } from './role-policy';
import { SessionTelemetry } from '../telemetry/session-telemetry';
import { traceGuard } from '../telemetry/tracing';
import { PERMISSIONS_KEY, ROLES_KEY } from './roles.decorator';

/** What a route's `@Roles` / `@Permissions` ask for; `null` when it asks nothing. */
export interface RoleRequirement {
  /** At least one of these roles (empty: no role asked). */
  roles: readonly string[];
  /** Every one of these permissions (empty: none asked). */
  permissions: readonly string[];
}

/**
 * Enforces `@Roles()` and `@Permissions()` from the roles snapshot in the session record: no database lookup per
 * request, and never a role hint sent by the client (headers, body, query). Register it after
 * `SessionAuthGuard`:
 *
 * @example
 * providers: [
 *   { provide: APP_GUARD, useClass: SessionAuthGuard },
 *   { provide: APP_GUARD, useClass: RolesGuard },
 * ]
 *
 * A route without either decorator needs no role (the auth guard still needs a session). A refusal is 403
 * `INSUFFICIENT_ROLE` with an `authz_fail` event. Role changes reach live sessions through
 * `SessionService.setRoles()`.
 */
@Injectable()
export class RolesGuard implements CanActivate {
  /** Route metadata is static: read it once per (handler, class). */
  private readonly cache = new RouteMetadataCache<RoleRequirement | null>((targets) => {
    // A `@Public()` route needs no session, so it cannot need a role (even under a controller's `@Roles`).
    if (this.reflector.getAllAndOverride(Public, targets) === true) return null;
    const roles = this.reflector.getAllAndOverride<string[] | undefined>(ROLES_KEY, targets) ?? [];
    const permissions = this.reflector.getAllAndOverride<string[] | undefined>(PERMISSIONS_KEY, targets) ?? [];
    return roles.length === 0 && permissions.length === 0 ? null : { roles, permissions };
  });

  constructor(
    protected readonly reflector: Reflector,
    protected readonly sessions: SessionService,
    protected readonly policy: RolePolicy,
    protected readonly events: SecurityEventBus,
    @Inject(Clock) protected readonly clock: Clock,
    /** Spans when an OpenTelemetry SDK is registered (see the module's `tracing` option). */
    @Optional() protected readonly telemetry?: SessionTelemetry,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    // Decided once at start-up: without an OpenTelemetry SDK this is one property read, no span and no closure.
    const tracer = this.telemetry?.tracer;
    return tracer === undefined ? this.activate(context) : traceGuard(tracer, 'RolesGuard', () => this.activate(context));
  }

  /** The guard's decision, without the span (see {@link canActivate}). */
  protected activate(context: ExecutionContext): boolean | Promise<boolean> {
    const need = this.requirement(context);
    if (need === null) return true;
    const { req, res } = this.getRequestResponse(context);
    // An access token verified by BearerAuthGuard is the request's principal: its roles claim decides.
    const bearer = bearerPrincipalOf(req);
    if (bearer) return this.decide(bearer, need, req);
    // The auth guard has loaded the session already (no store access); load it here only when it has not run.
    const view = this.sessions.peek(req);
    if (view) return this.decide(view, need, req);
    return this.sessions.current(req, res).then((loaded) => this.decide(loaded, need, req));
  }

  /** The request and response; override for GraphQL or WebSockets as with `SessionAuthGuard`. */
  protected getRequestResponse(context: ExecutionContext): { req: HttpRequestLike; res?: HttpResponseLike } {
    return httpRequestResponse(context, 'RolesGuard');
  }

  /** The route's requirement (handler overrides controller), or null. */
  protected requirement(context: ExecutionContext): RoleRequirement | null {
    return this.cache.get(context);
  }

  private decide(
    view: Pick<Principal, 'userId' | 'roles' | 'stage' | 'handle'> | null,
    need: RoleRequirement,
    req: HttpRequestLike,
  ): boolean {
    if (!view) throw new SessionRequiredException();
    if (view.stage !== 'complete') throw new SessionPendingException();
    if (this.policy.hasAnyRole(view.roles, need.roles) && this.policy.hasAllPermissions(view.roles, need.permissions)) return true;
    const client = this.sessions.client(req);
    this.events.emit({
      type: 'authz_fail',
      time: this.clock.now(),
      level: 'WARN',
      outcome: 'failure',
      userId: view.userId,
      sessionHandle: view.handle,
      ip: client.ip,
      userAgent: client.userAgent,
      reason: 'insufficient_role',
      detail: {
        required: need.roles.join(','),
        permissions: need.permissions.join(','),
        held: view.roles.join(','),
        ...routeOf(req),
      },
    });
    throw new InsufficientRoleException();
  }
}

/** Method and path of an HTTP request, for the event (clipped by the event bus). */
function routeOf(req: HttpRequestLike): Record<string, string> {
  const { method, path, url } = req as { method?: unknown; path?: unknown; url?: unknown };
  const out: Record<string, string> = {};
  if (typeof method === 'string') out.method = method;
  // Express has `req.path`; a Fastify request only its `url`, query included.
  if (typeof path === 'string') out.path = path;
  else if (typeof url === 'string') out.path = url.split('?')[0];
  return out;
}

import { CanActivate, ExecutionContext, HttpException, Inject, Injectable, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { SessionGuessingDetector } from '../brute-force/session-guessing.detector';
import { isPromise } from '../core/promise';
import { ResolveOutcome } from '../core/session-manager';
import { Public } from '../decorators/public.decorator';
import { AllowPendingSession, RequireAal } from '../decorators/session-stage.decorator';
import {
  InsufficientAssuranceException,
  SessionExpiredException,
  SessionPendingException,
  SessionRequiredException,
  SessionRotatedException,
} from '../errors/session.exceptions';
import { HttpRequestLike, HttpResponseLike } from '../http/http-types';
import { setNoStore } from '../http/response-headers';
import { BearerAuth } from '../tokens/bearer-auth.decorator';
import { bearerPrincipalOf } from './principal';
import { httpRequestResponse, RouteMetadataCache } from './route-context';
import { SessionService } from '../session.service';
import { SessionTelemetry } from '../telemetry/session-telemetry';
import { traceGuard } from '../telemetry/tracing';

/** What a route asks of the session, read once per (handler, class) from its decorators. */
export interface SessionRoutePolicy {
  /** `@Public()`: no session needed. */
  public: boolean;
  /** `@AllowPendingSession()`: a session whose second factor is still due may pass. */
  allowPending: boolean;
  /** `@RequireAal(n)`: the least assurance level; 0 when the route sets none. */
  minAal: number;
  /** `@BearerAuth()`: an access token authenticates the route (verified by `BearerAuthGuard`), not the session. */
  bearer: boolean;
}

/**
 * Requires a live, complete session on every route not marked `@Public()`. Register it application-wide so
 * that protection is the default:
 *
 * @example providers: [{ provide: APP_GUARD, useClass: SessionAuthGuard }]
 *
 * It is the one place every guarded request passes: it loads the session (one store round trip), enforces
 * the timeouts, performs due rotations and sends the new cookie, runs the request-time checks, refuses pending
 * sessions (unless `@AllowPendingSession()`) and too low assurance (`@RequireAal`), and rejects with 401
 * `SESSION_REQUIRED`, `SESSION_EXPIRED` or `SESSION_ROTATED`, 403 `MFA_REQUIRED`, or 503 when the store is down.
 *
 * Deny by default in every context: a GraphQL resolver, WebSocket gateway or microservice handler is refused
 * unless `@Public()`, because the default {@link getRequestResponse} only knows HTTP. Subclass it and override
 * the `protected` hooks to adapt:
 *
 * @example
 * // GraphQL over HTTP (@nestjs/graphql):
 * @Injectable()
 * export class GqlSessionAuthGuard extends SessionAuthGuard {
 *   protected override getRequestResponse(context: ExecutionContext) {
 *     const { req, res } = GqlExecutionContext.create(context).getContext();
 *     return { req, res };
 *   }
 * }
 */
@Injectable()
export class SessionAuthGuard implements CanActivate {
  /** Route metadata is static: read it once per (handler, class), not on every request. */
  private readonly policyCache = new RouteMetadataCache<SessionRoutePolicy>((targets) => ({
    public: this.reflector.getAllAndOverride(Public, targets) === true,
    allowPending: this.reflector.getAllAndOverride(AllowPendingSession, targets) === true,
    minAal: this.reflector.getAllAndOverride(RequireAal, targets) ?? 0,
    bearer: this.reflector.getAllAndOverride(BearerAuth, targets) === true,
  }));

  constructor(
    protected readonly reflector: Reflector,
    protected readonly sessions: SessionService,
    /** Present when `BruteForceModule` is global: counts unknown and malformed session ids per client (SID-06). */
    @Optional() @Inject(SessionGuessingDetector) protected readonly guessing?: SessionGuessingDetector,
    /** Spans when an OpenTelemetry SDK is registered (see the module's `tracing` option). */
    @Optional() @Inject(SessionTelemetry) protected readonly telemetry?: SessionTelemetry,
  ) {}

  /**
   * `true` (at once when the store answered at once, else a promise of it) for a request that may pass; every
   * refusal is a rejected promise, never a synchronous throw.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    // Decided once at start-up: without an OpenTelemetry SDK this is one property read, no span and no closure.
    const tracer = this.telemetry?.tracer;
    try {
      return tracer === undefined ? this.activate(context) : traceGuard(tracer, 'SessionAuthGuard', () => this.activate(context));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The guard's decision, without the span (see {@link canActivate}). Synchronous when the store answered at once
   * (the in-memory store): then the request pays no promise; a refusal may then be thrown synchronously.
   */
  protected activate(context: ExecutionContext): boolean | Promise<boolean> {
    if (this.isPublic(context)) return true;
    const route = this.routePolicy(context);
    const { req, res } = this.getRequestResponse(context);
    if (route.bearer) {
      // Not the session's route: BearerAuthGuard (registered before this guard) has verified the token, or the
      // route is refused. Fail closed when it did not run, rather than leave the route open.
      if (bearerPrincipalOf(req)) return true;
      if (res) setNoStore(res);
      throw new SessionRequiredException(
        'This route takes an access token (@BearerAuth) and none was verified: register BearerAuthGuard as an APP_GUARD before SessionAuthGuard.',
      );
    }
    const outcome = this.sessions.loadNow(req, res);
    return isPromise(outcome)
      ? outcome.then((o) => this.admit(o, route, req, res, context))
      : this.admit(outcome, route, req, res, context);
  }

  /** Admits an active, complete enough session; refuses every other outcome. */
  private admit(
    outcome: ResolveOutcome,
    route: SessionRoutePolicy,
    req: HttpRequestLike,
    res: HttpResponseLike | undefined,
    context: ExecutionContext,
  ): boolean | Promise<boolean> {
    if (outcome.kind !== 'active') {
      // Every refusal is marked no-store here, where it is decided (no cookie at all included, which the service
      // answers without touching the response): a cached 401 could be replayed after sign-in. An active session's
      // response was marked by the service, so the success path pays nothing more.
      if (res) setNoStore(res);
      // Only on this refusal path: a valid session never pays for guessing detection.
      if (this.guessing && (outcome.kind === 'unknown' || outcome.kind === 'malformed')) {
        return this.guessing.record(req, res, outcome.kind).then(() => {
          throw this.rejection(outcome, context);
        });
      }
      throw this.rejection(outcome, context);
    }
    const record = outcome.session.record;
    if (record.stage !== 'complete' && !route.allowPending) throw this.pendingRejection(context);
    if (record.aal < route.minAal) throw new InsufficientAssuranceException(route.minAal);
    return true;
  }

  /**
   * The request and response to read the session from and write its cookie to. The default handles HTTP and
   * refuses every other context (401): override it to support GraphQL, WebSockets or microservices.
   */
  protected getRequestResponse(context: ExecutionContext): { req: HttpRequestLike; res?: HttpResponseLike } {
    return httpRequestResponse(context, 'SessionAuthGuard');
  }

  /** What the route's (or its controller's) decorators ask of the session. */
  protected routePolicy(context: ExecutionContext): SessionRoutePolicy {
    return this.policyCache.get(context);
  }

  /** True when the route or its controller carries `@Public()`. */
  protected isPublic(context: ExecutionContext): boolean {
    return this.routePolicy(context).public;
  }

  /**
   * The exception for a pending session (second factor still due) on a route without `@AllowPendingSession()`:
   * 403 `MFA_REQUIRED` by default. Override it to answer otherwise (the sample redirects a page request to its login
   * page, where the code form is).
   */
  protected pendingRejection(_context: ExecutionContext): HttpException {
    return new SessionPendingException();
  }

  /** The exception for a request without a live session. */
  protected rejection(outcome: Exclude<ResolveOutcome, { kind: 'active' }>, _context: ExecutionContext): HttpException {
    if (outcome.kind === 'expired') return new SessionExpiredException();
    if (outcome.kind === 'rotated') return new SessionRotatedException();
    // A request-time check (binding, anomaly) ended it on this request: same code, a message that says why.
    if (outcome.kind === 'ended') return new SessionRequiredException('Your session was ended to protect your account. Sign in again.');
    return new SessionRequiredException();
  }
}

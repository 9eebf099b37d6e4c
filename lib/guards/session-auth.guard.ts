import { CanActivate, ExecutionContext, HttpException, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ResolveOutcome } from '../core/session-manager';
import { Public } from '../decorators/public.decorator';
import { SessionExpiredException, SessionRequiredException } from '../errors/session.exceptions';
import { HttpRequestLike, HttpResponseLike } from '../http/http-types';
import { SessionService } from '../session.service';

/**
 * Requires a live session on every route not marked `@Public()`. Register it application-wide so that
 * protection is the default:
 *
 * @example providers: [{ provide: APP_GUARD, useClass: SessionAuthGuard }]
 *
 * It is the one place every guarded request passes: it loads the session (one store round trip), enforces
 * the timeouts, performs due rotations and sends the new cookie, and rejects with 401 `SESSION_REQUIRED` or
 * `SESSION_EXPIRED` (or 503 when the store is down). Subclass it and override the `protected` hooks to adapt.
 */
@Injectable()
export class SessionAuthGuard implements CanActivate {
  /** `@Public()` is static metadata: read it once per (handler, class), not on every request. */
  private readonly publicCache = new WeakMap<object, WeakMap<object, boolean>>();

  constructor(
    protected readonly reflector: Reflector,
    protected readonly sessions: SessionService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    if (this.isPublic(context)) return true;
    const http = context.switchToHttp();
    const req = http.getRequest<HttpRequestLike>();
    const res = http.getResponse<HttpResponseLike>();
    const outcome = await this.sessions.load(req, res);
    if (outcome.kind === 'active') return true;
    throw this.rejection(outcome, context);
  }

  /** True when the route or its controller carries `@Public()`. */
  protected isPublic(context: ExecutionContext): boolean {
    const handler = context.getHandler();
    const cls = context.getClass();
    let byClass = this.publicCache.get(handler);
    let known = byClass?.get(cls);
    if (known === undefined) {
      known = this.reflector.getAllAndOverride(Public, [handler, cls]) === true;
      if (!byClass) this.publicCache.set(handler, (byClass = new WeakMap()));
      byClass.set(cls, known);
    }
    return known;
  }

  /** The exception for a request without a live session. */
  protected rejection(outcome: Exclude<ResolveOutcome, { kind: 'active' }>, _context: ExecutionContext): HttpException {
    return outcome.kind === 'expired' ? new SessionExpiredException() : new SessionRequiredException();
  }
}

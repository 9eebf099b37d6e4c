import { CallHandler, ExecutionContext, Injectable, NestInterceptor, OnModuleInit, Provider } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { Observable, tap } from 'rxjs';
import { SecurityEventBus } from '../events/security-event-bus';
import { clientInfoOf } from '../http/client-info';
import type { HttpRequestLike } from '../http/http-types';
import { SessionService } from '../session.service';
import { SessionAnomalyDetector } from './session-anomaly.detector';

/**
 * The Nest half of session anomaly detection ({@link SessionAnomalyDetector} is the other).
 *
 * Detection and its verdict belong in the check, which runs inside session resolution before every guard: that is
 * the only place that can end a replayed session before anything uses it. What needs the Nest layer lives here:
 * - At start-up it attaches the detector to the module's `SecurityEventBus`, where failed sign-ins are counted and
 *   `authn_login_successafterfail` is emitted.
 * - When a challenged session (`strictAction: 'reauth'`) re-authenticates, the network and device of that request
 *   become the session's own. The check cannot know this: it runs before the handler proves anything. The detector
 *   learns it from the bus (`session_renewed`, reason `reauthentication`); used as an interceptor (see
 *   {@link SessionAnomalyInterceptor.providers}), this class also learns it after the handler.
 *
 * As an interceptor it costs one `Map` lookup on a request whose session is not challenged (no observable is
 * piped), on top of Nest's own interceptor pipeline, and never fails a request: a failure while learning is
 * reported to the detector's `onError`.
 *
 * @example
 * const anomaly = new SessionAnomalyDetector({ policy: 'strict' });
 * @Module({
 *   imports: [SessionModule.forRoot({ checks: [anomaly] })],
 *   providers: [...SessionAnomalyInterceptor.providers(anomaly)],
 * })
 */
@Injectable()
export class SessionAnomalyInterceptor implements NestInterceptor, OnModuleInit {
  constructor(
    protected readonly detector: SessionAnomalyDetector,
    protected readonly sessions: SessionService,
    protected readonly bus: SecurityEventBus,
  ) {}

  /**
   * The providers that register `detector` (the same instance given to `SessionModule`'s `checks`) and this class,
   * which attaches the detector to the module's event bus at start-up.
   *
   * By default the class is a plain provider, not an application-wide interceptor: the detector learns a
   * re-authentication from the bus (`session_renewed`, reason `reauthentication`), so nothing is needed around each
   * handler, and a global interceptor is expensive on Nest 11: its interceptor pipeline binds an `AsyncResource` per
   * request, which measured 0.57x bare Nest's server CPU per request against 0.86x without it (`npm run bench`,
   * kit-anomaly vs kit-memory, Node 20). `{ global: true }` registers it as `APP_INTERCEPTOR` anyway (it then also
   * learns after the handler, the same thing twice); `@UseInterceptors(SessionAnomalyInterceptor)` on chosen routes
   * works too.
   *
   * @param options.global register as `APP_INTERCEPTOR`; default `false`.
   */
  static providers(detector: SessionAnomalyDetector, options: { global?: boolean } = {}): Provider[] {
    return [
      { provide: SessionAnomalyDetector, useValue: detector },
      options.global === true ? { provide: APP_INTERCEPTOR, useClass: SessionAnomalyInterceptor } : SessionAnomalyInterceptor,
    ];
  }

  onModuleInit(): void {
    this.detector.attach(this.bus);
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const req = context.switchToHttp().getRequest<HttpRequestLike>();
    const before = this.sessions.peek(req);
    if (before === undefined || !this.detector.awaitsProof(before.handle)) return next.handle();
    return next.handle().pipe(tap({ next: () => this.learn(req, before.handle) }));
  }

  /** The handler succeeded: if it re-authenticated the session, adopt this request's network and device. */
  protected learn(req: HttpRequestLike, handle: string): void {
    try {
      const after = this.sessions.peek(req);
      if (after?.handle === handle) this.detector.acceptProof(handle, after.authenticatedAt, clientInfoOf(req));
    } catch (error) {
      this.detector.options.onError(error, 'SessionAnomalyInterceptor');
    }
  }
}

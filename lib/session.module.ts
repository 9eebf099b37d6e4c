import { Inject, Logger, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { CircuitBreakerSettings, CircuitTransition, StoreCircuitBreaker } from './core/circuit-breaker';
import { Clock } from './core/clock';
import { isStoreConnectionError } from './core/errors';
import { CsrfGuard } from './csrf/csrf.guard';
import { CsrfService } from './csrf/csrf.service';
import { SessionManager } from './core/session-manager';
import { SecurityEventBus } from './events/security-event-bus';
import { FastifyReplyLink } from './http/fastify-reply-link';
import { SessionAuthGuard } from './guards/session-auth.guard';
import { RolePolicy } from './rbac/role-policy';
import { RolesGuard } from './rbac/roles.guard';
import { ReAuthPolicy } from './reauth/reauth-policy';
import { ReAuthGuard } from './reauth/reauth.guard';
import { ConfigurableSessionModule, RESOLVED_SESSION_OPTIONS, SESSION_MODULE_OPTIONS } from './session.module-definition';
import { ResolvedSessionOptions, resolveSessionOptions, SessionModuleOptions } from './session.options';
import { SessionService } from './session.service';
import { SessionStore } from './stores/session-store';
import { SessionTelemetry } from './telemetry/session-telemetry';

/**
 * Secure server-side sessions for Nest.
 *
 * @example
 * SessionModule.forRoot({ store: new RedisSessionStore({ url }), idleTimeout: '30m', absoluteTimeout: '12h' })
 * SessionModule.forRootAsync({ imports: [ConfigModule], inject: [ConfigService], useFactory: (c) => ({ ... }) })
 *
 * Then register the guards in your app module, in this order: `{ provide: APP_GUARD, useClass: SessionAuthGuard }`,
 * then `CsrfGuard` (cross-site request forgery, `csrf` options), `RolesGuard` (for `@Roles`/`@Permissions`) and
 * `ReAuthGuard` (for `@ReAuth`) if you use them.
 *
 * At start-up the module connects the store (`store.connect()`): a store you construct needs no other call,
 * and an unreachable backend stops start-up with a message that names it.
 */
@Module({
  providers: [
    {
      provide: RESOLVED_SESSION_OPTIONS,
      useFactory: (raw: SessionModuleOptions) => resolveSessionOptions(raw),
      inject: [SESSION_MODULE_OPTIONS],
    },
    { provide: Clock, useFactory: (o: ResolvedSessionOptions) => o.clock, inject: [RESOLVED_SESSION_OPTIONS] },
    {
      provide: SessionTelemetry,
      useFactory: (o: ResolvedSessionOptions) => new SessionTelemetry(o.metrics, o.tracing),
      inject: [RESOLVED_SESSION_OPTIONS],
    },
    // With metrics and tracing off this is the store itself: nothing is wrapped, nothing is measured.
    {
      provide: SessionStore,
      useFactory: (o: ResolvedSessionOptions, t: SessionTelemetry) => t.instrumentSessionStore(o.store),
      inject: [RESOLVED_SESSION_OPTIONS, SessionTelemetry],
    },
    {
      provide: SecurityEventBus,
      useFactory: (o: ResolvedSessionOptions, t: SessionTelemetry) => {
        const logger = new Logger('SessionModule');
        const sinks = t.metrics ? [...o.eventSinks, t.metrics.sink] : o.eventSinks;
        return new SecurityEventBus(sinks, (error, event) =>
          logger.error(`Security event sink failed on ${event.type}: ${error instanceof Error ? error.message : String(error)}`),
        );
      },
      inject: [RESOLVED_SESSION_OPTIONS, SessionTelemetry],
    },
    {
      provide: SessionManager,
      useFactory: (o: ResolvedSessionOptions, bus: SecurityEventBus, store: SessionStore) =>
        new SessionManager(store, o.clock, o, bus, o.checks, o.circuitBreaker && circuitBreakerFor(o, o.circuitBreaker, bus)),
      inject: [RESOLVED_SESSION_OPTIONS, SecurityEventBus, SessionStore],
    },
    {
      provide: RolePolicy,
      useFactory: (o: ResolvedSessionOptions) => new RolePolicy(o.roles.hierarchy, o.roles.permissions),
      inject: [RESOLVED_SESSION_OPTIONS],
    },
    {
      provide: ReAuthPolicy,
      useFactory: (o: ResolvedSessionOptions) => new ReAuthPolicy(o.reauth.maxAgeMs, o.reauth.path),
      inject: [RESOLVED_SESSION_OPTIONS],
    },
    SessionService,
    SessionAuthGuard,
    RolesGuard,
    ReAuthGuard,
    CsrfService,
    CsrfGuard,
    FastifyReplyLink,
  ],
  exports: [
    Clock,
    SessionTelemetry,
    SessionStore,
    SecurityEventBus,
    SessionService,
    RolePolicy,
    ReAuthPolicy,
    SessionAuthGuard,
    RolesGuard,
    ReAuthGuard,
    CsrfService,
    CsrfGuard,
  ],
})
export class SessionModule extends ConfigurableSessionModule implements OnModuleInit, OnApplicationShutdown {
  constructor(@Inject(RESOLVED_SESSION_OPTIONS) private readonly resolved: ResolvedSessionOptions) {
    super();
  }

  /** Makes the store ready before the app serves a request (connects a Redis client the store owns, ...). */
  async onModuleInit(): Promise<void> {
    try {
      await this.resolved.store.connect();
    } catch (error) {
      if (!isStoreConnectionError(error)) throw error;
      throw new Error(
        `SessionModule cannot start: the session store (${this.resolved.store.constructor.name}) is not reachable. ${error.message}`,
        { cause: error },
      );
    }
  }

  /** Closes the store (see `closeStoreOnShutdown`): a store releases only what it opened itself. */
  async onApplicationShutdown(): Promise<void> {
    if (this.resolved.closeStoreOnShutdown) await this.resolved.store.close();
  }
}

/** The store's circuit breaker, logging and emitting each change of state (who operates the app must see both). */
function circuitBreakerFor(o: ResolvedSessionOptions, settings: CircuitBreakerSettings, bus: SecurityEventBus): StoreCircuitBreaker {
  const logger = new Logger('SessionModule');
  const store = o.store.constructor.name;
  return new StoreCircuitBreaker(settings, (change: CircuitTransition) => {
    if (change.state === 'open') {
      const cause = change.cause instanceof Error ? change.cause.message : String(change.cause);
      logger.error(
        `Session store circuit OPEN after ${change.failures} connectivity failures in a row (${store}: ${cause}). ` +
          `Requests that need a session answer 503 at once; one probe every ${settings.cooldownMs} ms (circuitBreaker.cooldown) until the store answers.`,
      );
      bus.emit({
        type: 'session_store_circuit_open',
        time: o.clock.now(),
        level: 'CRITICAL',
        outcome: 'failure',
        detail: { failures: change.failures, cooldownMs: settings.cooldownMs },
      });
    } else {
      logger.log(`Session store circuit closed: ${store} answers again (open for ${Math.round(change.openForMs)} ms).`);
      bus.emit({
        type: 'session_store_circuit_closed',
        time: o.clock.now(),
        level: 'INFO',
        outcome: 'success',
        detail: { openForMs: Math.round(change.openForMs) },
      });
    }
  });
}

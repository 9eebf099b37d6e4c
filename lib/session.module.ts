import { Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { Clock } from './core/clock';
import { SessionManager } from './core/session-manager';
import { SecurityEventBus } from './events/security-event-bus';
import { SessionAuthGuard } from './guards/session-auth.guard';
import { ConfigurableSessionModule, SESSION_MODULE_RAW_OPTIONS, SESSION_OPTIONS } from './session.module-definition';
import { ResolvedSessionOptions, resolveSessionOptions, SessionModuleOptions } from './session.options';
import { SessionService } from './session.service';
import { SessionStore } from './stores/session-store';

/**
 * Secure server-side sessions for Nest.
 *
 * @example
 * SessionModule.forRoot({ store: new RedisSessionStore({ url }), idleTimeout: '30m', absoluteTimeout: '12h' })
 * SessionModule.forRootAsync({ imports: [ConfigModule], inject: [ConfigService], useFactory: (c) => ({ ... }) })
 *
 * Then register the guard in your app module: `{ provide: APP_GUARD, useClass: SessionAuthGuard }`.
 */
@Module({
  providers: [
    {
      provide: SESSION_OPTIONS,
      useFactory: (raw: SessionModuleOptions) => resolveSessionOptions(raw),
      inject: [SESSION_MODULE_RAW_OPTIONS],
    },
    { provide: Clock, useFactory: (o: ResolvedSessionOptions) => o.clock, inject: [SESSION_OPTIONS] },
    { provide: SessionStore, useFactory: (o: ResolvedSessionOptions) => o.store, inject: [SESSION_OPTIONS] },
    {
      provide: SecurityEventBus,
      useFactory: (o: ResolvedSessionOptions) => {
        const logger = new Logger('SessionModule');
        return new SecurityEventBus(o.eventSinks, (error, event) =>
          logger.error(`Security event sink failed on ${event.type}: ${error instanceof Error ? error.message : String(error)}`),
        );
      },
      inject: [SESSION_OPTIONS],
    },
    {
      provide: SessionManager,
      useFactory: (o: ResolvedSessionOptions, bus: SecurityEventBus) => new SessionManager(o.store, o.clock, o, bus),
      inject: [SESSION_OPTIONS, SecurityEventBus],
    },
    SessionService,
    SessionAuthGuard,
  ],
  exports: [SESSION_OPTIONS, Clock, SessionStore, SecurityEventBus, SessionManager, SessionService, SessionAuthGuard],
})
export class SessionModule extends ConfigurableSessionModule implements OnApplicationShutdown {
  constructor(@Inject(SESSION_OPTIONS) private readonly resolved: ResolvedSessionOptions) {
    super();
  }

  /** Closes the store only if the module created it (a store you pass in stays yours). */
  async onApplicationShutdown(): Promise<void> {
    if (this.resolved.ownsStore) await this.resolved.store.close();
  }
}

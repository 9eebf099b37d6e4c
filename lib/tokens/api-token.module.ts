import { Inject, Module, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import { Clock, SystemClock } from '../core/clock';
import { isStoreConnectionError } from '../core/errors';
import { SecurityEventBus } from '../events/security-event-bus';
import { SessionService } from '../session.service';
import { API_TOKEN_MODULE_OPTIONS, ConfigurableApiTokenModule, RESOLVED_API_TOKEN_OPTIONS } from './api-token.module-definition';
import { ApiTokenModuleOptions, resolveApiTokenOptions, ResolvedApiTokenOptions } from './api-token.options';
import { ApiTokenService } from './api-token.service';
import { BearerAuthGuard } from './bearer-auth.guard';
import { TokenStore } from './token-store';
import { SessionTelemetry } from '../telemetry/session-telemetry';

/** The token store's operations that are timed and traced. */
const TOKEN_STORE_OPERATIONS = [
  'createFamily',
  'rotateRefresh',
  'revokeFamilyOfToken',
  'revokeFamily',
  'revokeAllForUser',
  'listFamilies',
  'denyAccessToken',
  'denySession',
  'checkAccess',
  'ping',
] as const satisfies readonly (keyof TokenStore)[];

/**
 * Access tokens (JWT, RFC 9068), rotating refresh tokens with reuse detection, their revocation, the JWKS route and
 * `BearerAuthGuard`. Uses `SessionModule`'s clock and security event bus when `SessionModule` is global (or imported
 * through `forRootAsync({ imports })`), and registers on its session-end hook so tokens die with their sessions.
 *
 * @example
 * ApiTokenModule.forRoot({ issuer: 'https://api.example.com', audience: 'https://api.example.com', accessTokenTtl: '10m' })
 *
 * Then register `{ provide: APP_GUARD, useExisting: BearerAuthGuard }` BEFORE `SessionAuthGuard`, and mark API routes
 * `@BearerAuth()`. Options are validated at start-up; a bad one stops it with a message that names it.
 */
@Module({
  providers: [
    {
      provide: RESOLVED_API_TOKEN_OPTIONS,
      useFactory: (raw: ApiTokenModuleOptions) => resolveApiTokenOptions(raw),
      inject: [API_TOKEN_MODULE_OPTIONS],
    },
    {
      provide: ApiTokenService,
      useFactory: (o: ResolvedApiTokenOptions, store: TokenStore, clock?: Clock, bus?: SecurityEventBus, sessions?: SessionService) =>
        new ApiTokenService({ ...o, store }, o.clock ?? clock ?? new SystemClock(), bus ?? new SecurityEventBus(), sessions),
      inject: [
        RESOLVED_API_TOKEN_OPTIONS,
        TokenStore,
        { token: Clock, optional: true },
        { token: SecurityEventBus, optional: true },
        { token: SessionService, optional: true },
      ],
    },
    // Timed and traced like the session store when SessionModule's metrics or tracing are on (and it is global).
    {
      provide: TokenStore,
      useFactory: (o: ResolvedApiTokenOptions, telemetry?: SessionTelemetry) =>
        telemetry?.instrument(o.store, 'token', TOKEN_STORE_OPERATIONS) ?? o.store,
      inject: [RESOLVED_API_TOKEN_OPTIONS, { token: SessionTelemetry, optional: true }],
    },
    BearerAuthGuard,
  ],
  exports: [ApiTokenService, BearerAuthGuard, TokenStore],
})
export class ApiTokenModule extends ConfigurableApiTokenModule implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(RESOLVED_API_TOKEN_OPTIONS) private readonly resolved: ResolvedApiTokenOptions,
    private readonly tokens: ApiTokenService,
    @Optional() private readonly sessions?: SessionService,
  ) {
    super();
  }

  /** Connects the store (an unreachable one stops start-up, naming it) and hooks token revocation to session ends. */
  async onModuleInit(): Promise<void> {
    try {
      await this.resolved.store.connect();
    } catch (error) {
      if (!isStoreConnectionError(error)) throw error;
      throw new Error(
        `ApiTokenModule cannot start: the token store (${this.resolved.store.constructor.name}) is not reachable. ${error.message}`,
        { cause: error },
      );
    }
    // Awaited by the session module: a logout answers only once the session's tokens are refused.
    this.sessions?.onSessionsEnded((ended) => this.tokens.sessionsEnded(ended));
  }

  /** Closes the store (see `closeStoreOnShutdown`). */
  async onApplicationShutdown(): Promise<void> {
    if (this.resolved.closeStoreOnShutdown) await this.resolved.store.close();
  }
}

import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Clock, CsrfGuard, ReAuthGuard, RolesGuard, SessionAnomalyInterceptor, SessionModule } from '../../lib';
import { BearerAuthGuard } from '../../lib';
import { SampleApiTokensModule } from './tokens/api-tokens.module';
import { AccountModule } from './account/account.module';
import { AdminMfaGuard } from './admin/admin-mfa.guard';
import { AdminModule } from './admin/admin.module';
import { AUDIT_MIGRATIONS } from '../../lib/events/typeorm';
import { AuditTrail } from './audit/audit-trail';
import { AuditModule } from './audit/audit.module';
import { SecurityLog } from './audit/security-log';
import { AuthModule } from './auth/auth.module';
import { SampleBruteForceModule } from './brute-force/attempt-counters';
import { SampleRateLimitGuard, SampleRateLimitModule } from './rate-limit/rate-limit.module';
import { PENDING_SESSION_MAX_AGE_MS } from './auth/auth.service';
import { csrfSecretFor } from './auth/csrf-secret';
import { PageAwareSessionGuard } from './auth/page-aware-session.guard';
import { CartModule } from './cart/cart.module';
import { ApiExceptionFilter } from './common/api-exception.filter';
import { createValidationPipe } from './common/validation';
import { DevicesModule } from './devices/devices.module';
import { sessionBindingOf } from './devices/session-binding';
import type { SampleConfig } from './config';
import { connectionOptionsFor, describeTarget } from './database/data-source-options';
import { HealthModule } from './health/health.module';
import { SampleMetricsModule } from './metrics/metrics.module';
import { SampleMetrics } from './metrics/sample-metrics';
import { OidcIdentityLink } from './oidc/oidc-identity.entity';
import { OidcSessionLinkRow } from './oidc/oidc-session-link.entity';
import { SampleOidcModule } from './oidc/sample-oidc.module';
import { PagesModule } from './pages/pages.module';
import { PasskeyCredential } from './passkeys/passkey.entity';
import { PasskeysModule } from './passkeys/passkeys.module';
import { PreferencesModule } from './preferences/preferences.module';
import { SampleConfigModule } from './sample-config.module';
import { SessionBackend, SessionBackendModule } from './session/session-backend';
import { ROLE_HIERARCHY, User } from './users/user.entity';
import { UsersModule } from './users/users.module';
import { WizardModule } from './wizard/wizard.module';

/** What the app is built with besides its configuration. */
export interface AppModuleOptions {
  /** The clock for every session decision. Default: the system clock. Tests pass a `ManualClock`. */
  clock?: Clock;
}

/**
 * The sample app. Everything comes from the configuration given here, never from `process.env`, so tests
 * build exactly the app they describe.
 */
@Module({})
export class AppModule {
  /** The app for this configuration; `options.clock` drives every session decision (tests move it). */
  static register(config: SampleConfig, options: AppModuleOptions = {}): DynamicModule {
    // SESSION_BINDING: one detector, run by the session module as a request-time check and by its interceptor.
    const binding = sessionBindingOf(config);
    return {
      module: AppModule,
      imports: [
        SampleConfigModule.register(config),
        SampleMetricsModule.register(config),
        TypeOrmModule.forRootAsync({
          useFactory: () => ({
            ...connectionOptionsFor(config.database),
            entities: [User, PasskeyCredential, OidcIdentityLink, OidcSessionLinkRow],
            // The sample creates its two small tables from the entities so it starts on an empty database.
            // A production app would use migrations, as the session store and the audit table do.
            synchronize: true,
            // The audit table (nsk_audit_event) comes from the library's migration. Its own record table: the session
            // store's DataSource may open the same database at the same moment and create TypeORM's default one.
            migrations: AUDIT_MIGRATIONS,
            migrationsRun: true,
            migrationsTableName: 'sample_migrations',
            // Fail start-up at once rather than retrying for half a minute...
            toRetry: () => false,
          }),
          // ...with a message that says which setting points at the unreachable database.
          dataSourceFactory: async (options) => {
            const dataSource = new DataSource(options!);
            try {
              return await dataSource.initialize();
            } catch (error) {
              throw new Error(
                `DATABASE_URL: cannot open ${describeTarget(config.database)}: ${error instanceof Error ? error.message : String(error)}`,
              );
            }
          },
        }),
        SessionModule.forRootAsync({
          // Global: every feature module can inject SessionService without importing the module again.
          isGlobal: true,
          imports: [SessionBackendModule.register(config.sessionStore), AuditModule],
          inject: [SessionBackend, SecurityLog, AuditTrail, SampleMetrics],
          useFactory: (backend: SessionBackend, log: SecurityLog, audit: AuditTrail, metrics: SampleMetrics) => ({
            // METRICS_ENABLED (default true): the session module's metrics in the sample's own registry (GET /metrics).
            ...(metrics.registry ? { metrics: { registry: metrics.registry } } : {}),
            store: backend.store,
            // SessionBackend closes the store, then the DataSource under it, in that order.
            closeStoreOnShutdown: false,
            idleTimeout: config.session.idleTimeoutMs,
            absoluteTimeout: config.session.absoluteTimeoutMs,
            // Said here although it is the library's default: the sample's sign-in promises this much time for the
            // second factor, and the library is what holds the promise.
            pendingTimeout: PENDING_SESSION_MAX_AGE_MS,
            rotationInterval: config.session.rotationIntervalMs,
            rotationGrace: config.session.rotationGraceMs,
            maxConcurrentSessions: config.session.maxConcurrentSessions,
            concurrentSessionPolicy: config.session.limitPolicy,
            rememberMe: { idleTimeout: config.session.rememberIdleTimeoutMs, absoluteTimeout: config.session.rememberAbsoluteTimeoutMs },
            impersonation: { maxAge: config.session.impersonationMaxAgeMs },
            roles: { hierarchy: ROLE_HIERARCHY },
            reauth: { maxAge: config.session.reauthMaxAgeMs, path: '/auth/reauth' },
            cookie: { name: config.cookie.name, secure: config.cookie.secure },
            csrf: {
              secret: csrfSecretFor(config),
              allowedOrigins: [...config.csrf.allowedOrigins, ...(config.publicOrigin ? [config.publicOrigin] : [])],
            },
            clock: options.clock,
            eventSinks: [log.sink, audit.sink],
            checks: [binding],
          }),
        }),
        UsersModule,
        AuditModule,
        SampleBruteForceModule.register(config),
        SampleRateLimitModule.register(config),
        AuthModule,
        AccountModule,
        AdminModule,
        PreferencesModule,
        CartModule,
        WizardModule,
        HealthModule,
        PagesModule,
        PasskeysModule,
        DevicesModule,
        SampleOidcModule.register(config),
        SampleApiTokensModule.register(config),
      ],
      providers: [
        // API rate limits (RATE_LIMIT_SENSITIVE) on routes marked @RateLimited(), first: a request is counted before any
        // other check spends a store round trip on it.
        { provide: APP_GUARD, useClass: SampleRateLimitGuard },
        // Deny by default: every route needs a session unless it carries @Public(). In this order: a session
        // first, then its roles (@Roles, from the session's snapshot), then (ADMIN_REQUIRE_MFA) a second factor for
        // admin routes, then how fresh its authentication is (@ReAuth).
        // `@BearerAuth()` routes (/api/me) are authenticated by an access token, verified first; the session guard
        // lets them through only once it was.
        { provide: APP_GUARD, useExisting: BearerAuthGuard },
        { provide: APP_GUARD, useClass: PageAwareSessionGuard },
        // Every unsafe request a cookie could authenticate, the public login included: token, Origin, Sec-Fetch-Site.
        { provide: APP_GUARD, useExisting: CsrfGuard },
        // The module's own instances (`useExisting`, both exported by SessionModule) rather than second copies built
        // in this module: one instance each, with the module's policy.
        { provide: APP_GUARD, useExisting: RolesGuard },
        ...(config.mfa.requiredForAdmins ? [{ provide: APP_GUARD, useClass: AdminMfaGuard }] : []),
        { provide: APP_GUARD, useExisting: ReAuthGuard },
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
        { provide: APP_PIPE, useFactory: createValidationPipe },
        ...SessionAnomalyInterceptor.providers(binding),
      ],
    };
  }
}

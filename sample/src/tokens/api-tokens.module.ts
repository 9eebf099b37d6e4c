import { DynamicModule, Module } from '@nestjs/common';
import { ApiTokenModule } from '../../../lib';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import type { SampleConfig } from '../config';
import { PasskeyStoreModule } from '../passkeys/passkey-store.module';
import { UsersModule } from '../users/users.module';
import { ApiAuthService } from './api-auth.service';
import { ApiAuthController, ApiMeController } from './api-tokens.controller';
import { SessionBackend } from '../session/session-backend';

/** Issuer and audience of the sample's access tokens (its own API). */
export const SAMPLE_TOKEN_ISSUER = 'urn:nest-session-kit:sample';
export const SAMPLE_TOKEN_AUDIENCE = 'urn:nest-session-kit:sample:api';

/**
 * The sample's API tokens: `ApiTokenModule` (global, so `BearerAuthGuard` is available to the app module's guards)
 * with its JWKS route, and the `/api/auth/*` and `/api/me` routes. The signing keys come from `ACCESS_TOKEN_KEYS`
 * (the same on every instance); unset, they are generated at start-up: they do not survive a restart, and each
 * instance refuses the access tokens of the others.
 */
@Module({})
export class SampleApiTokensModule {
  static register(config: SampleConfig): DynamicModule {
    return {
      module: SampleApiTokensModule,
      imports: [
        ApiTokenModule.forRootAsync({
          isGlobal: true,
          inject: [SessionBackend],
          useFactory: (backend: SessionBackend) => ({
            // On the sessions' backend (SessionBackend opens it, and closes it before the DataSource under it).
            store: backend.tokens,
            closeStoreOnShutdown: false,
            issuer: SAMPLE_TOKEN_ISSUER,
            audience: SAMPLE_TOKEN_AUDIENCE,
            accessTokenTtl: config.apiTokens.accessTokenTtlMs,
            refreshIdleTimeout: config.apiTokens.refreshIdleTimeoutMs,
            refreshAbsoluteTimeout: config.apiTokens.refreshAbsoluteTimeoutMs,
            keys: config.apiTokens.keys,
            // The session cookie's setting: plain-HTTP development (COOKIE_SECURE=false) gets an unprefixed name.
            fingerprintCookie: { secure: config.cookie.secure },
          }),
        }),
        UsersModule,
        AuthModule,
        AuditModule,
        PasskeyStoreModule,
      ],
      controllers: [ApiAuthController, ApiMeController],
      providers: [ApiAuthService],
    };
  }
}

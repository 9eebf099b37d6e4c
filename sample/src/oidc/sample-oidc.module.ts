import { DynamicModule, Module } from '@nestjs/common';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { BruteForceService } from '../../../lib';
import { OidcModule } from '../../../lib/oidc';
import { AuthModule } from '../auth/auth.module';
import type { SampleConfig } from '../config';
import { UsersModule } from '../users/users.module';
import { OidcIdentityLink } from './oidc-identity.entity';
import { OidcSessionLinkRow } from './oidc-session-link.entity';
import { OidcUsersService } from './oidc-users.service';
import { OidcController } from './oidc.controller';
import { TypeOrmOidcSessionLinkStore } from './typeorm-oidc-session-link.store';

/**
 * "Sign in with" the OpenID Provider of `OIDC_ISSUER`, when configured; without it, nothing (the routes answer 404).
 *
 * Single-use markers (`state`, logout `jti`) go to the brute-force counters' store (Redis or the users database: shared
 * by every instance, kept across restarts); the (issuer, sid) → sessions links to the users database.
 */
@Module({})
export class SampleOidcModule {
  static register(config: SampleConfig): DynamicModule {
    const oidc = config.oidc;
    if (!oidc) return { module: SampleOidcModule };
    return {
      module: SampleOidcModule,
      imports: [
        TypeOrmModule.forFeature([OidcIdentityLink, OidcSessionLinkRow]),
        UsersModule,
        AuthModule,
        OidcModule.forRootAsync({
          inject: [BruteForceService, getDataSourceToken()],
          useFactory: (bruteForce: BruteForceService, db: DataSource) => ({
            issuer: oidc.issuer,
            clientId: oidc.clientId,
            clientSecret: oidc.clientSecret,
            redirectUri: oidc.redirectUri,
            secureCookie: config.cookie.secure,
            replayStore: bruteForce.store,
            sessionLinks: new TypeOrmOidcSessionLinkStore(db),
          }),
        }),
      ],
      controllers: [OidcController],
      providers: [OidcUsersService],
    };
  }
}

// examples/oidc/app.module.ts
import { Logger, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { CsrfGuard, ReAuthGuard, SessionAuthGuard, SessionModule } from 'nest-session-kit';
import { OidcModule } from 'nest-session-kit/oidc';
import { AccountController } from './account.controller';
import { OidcController } from './oidc.controller';
import { UsersService } from './users.service';

@Module({
  imports: [
    // Global: OidcModule uses its SessionService and Clock.
    SessionModule.forRoot({ isGlobal: true, csrf: { secret: process.env.CSRF_SECRET } }),
    OidcModule.forRootAsync({
      // Read when the app starts; bad values stop it with a message naming the option. The provider itself is
      // discovered at the first sign-in: while it is down the OIDC routes answer 503 and the app keeps running.
      useFactory: () => ({
        issuer: process.env.OIDC_ISSUER!, // https:, or http: on a loopback address (tests)
        clientId: process.env.OIDC_CLIENT_ID!,
        clientSecret: process.env.OIDC_CLIENT_SECRET!,
        redirectUri: `${process.env.APP_ORIGIN}/auth/oidc/callback`,
        // End what else the app issued to those users (API tokens...) before answering the provider:
        onBackchannelLogout: async ({ userIds }) => Logger.log(`back-channel logout of ${userIds.length} user(s)`, 'Oidc'),
      }),
    }),
  ],
  controllers: [OidcController, AccountController],
  providers: [
    UsersService,
    { provide: APP_GUARD, useClass: SessionAuthGuard },
    { provide: APP_GUARD, useExisting: CsrfGuard },
    { provide: APP_GUARD, useExisting: ReAuthGuard },
  ],
})
export class AppModule {}

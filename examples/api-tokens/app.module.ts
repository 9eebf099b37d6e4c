// examples/api-tokens/app.module.ts
import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import {
  ApiTokenModule,
  BearerAuthGuard,
  CsrfGuard,
  InMemoryTokenStore,
  RolesGuard,
  SessionAuthGuard,
  SessionModule,
} from 'nest-session-kit';
import { ApiController, TokenController } from './api.controller';

@Module({
  imports: [
    SessionModule.forRoot({ isGlobal: true }),
    ApiTokenModule.forRoot({
      issuer: 'https://api.example.com',
      audience: 'https://api.example.com',
      // One instance: tokens and revocations in memory. Use RedisTokenStore or TypeOrmTokenStore for several.
      store: new InMemoryTokenStore(),
      accessTokenTtl: '10m',
      refreshIdleTimeout: '1d',
      refreshAbsoluteTimeout: '30d',
      // No `keys`: an Ed25519 pair generated at start-up (lost at a restart, different on each instance).
    }),
  ],
  controllers: [TokenController, ApiController],
  providers: [
    // The bearer guard first: it verifies the token of @BearerAuth() routes, which the session guard then lets by.
    { provide: APP_GUARD, useExisting: BearerAuthGuard },
    { provide: APP_GUARD, useClass: SessionAuthGuard },
    { provide: APP_GUARD, useExisting: CsrfGuard },
    { provide: APP_GUARD, useExisting: RolesGuard },
  ],
})
export class AppModule {}

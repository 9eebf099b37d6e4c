// examples/quick-start/app.module.ts
import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { SessionAuthGuard, SessionModule } from 'nest-session-kit';
import { RedisSessionStore } from 'nest-session-kit/redis';
import { AuthController } from './auth.controller';
import { CartController } from './cart.controller';
import { UsersService } from './users.service';

@Module({
  imports: [
    SessionModule.forRoot({
      // The module connects the store at start-up (an unreachable Redis stops the app with a clear message).
      store: new RedisSessionStore({ url: process.env.REDIS_URL }),
      idleTimeout: '30m',
      absoluteTimeout: '12h',
    }),
  ],
  controllers: [AuthController, CartController],
  providers: [
    UsersService,
    // Deny by default: every route needs a session unless marked @Public().
    { provide: APP_GUARD, useClass: SessionAuthGuard },
  ],
})
export class AppModule {}

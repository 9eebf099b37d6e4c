import { Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { RolesGuard, SessionAuthGuard, SessionModule, type SessionStore } from 'nest-session-kit';
import { RedisSessionStore } from 'nest-session-kit/redis';
import { AccountController, AdminController } from './admin.controller.js';
import { AuthController } from './auth.controller.js';
import { ClockModule, SkewClock } from './skew.clock.js';
import { TestClockController } from './test-clock.controller.js';
import { UsersService } from './users.service.js';

/** `STORE=redis` (with `REDIS_URL`) puts the sessions in Redis under a prefix of this process; otherwise in memory. */
function storeFromEnvironment(): SessionStore | 'memory' {
  if (process.env.STORE !== 'redis') return 'memory';
  return new RedisSessionStore({ url: process.env.REDIS_URL, prefix: `{nsk-nest12-${process.pid}}:` });
}

@Module({
  imports: [
    ClockModule,
    // forRootAsync with inject: the options factory gets the app's clock through Nest 12's DI.
    SessionModule.forRootAsync({
      inject: [SkewClock],
      useFactory: (clock: SkewClock) => ({
        store: storeFromEnvironment(),
        clock,
        idleTimeout: '30m',
        absoluteTimeout: '12h',
        rotationInterval: '15m',
        rotationGrace: '10s',
      }),
    }),
  ],
  controllers: [AuthController, AdminController, AccountController, TestClockController],
  providers: [UsersService, { provide: APP_GUARD, useClass: SessionAuthGuard }, { provide: APP_GUARD, useClass: RolesGuard }],
})
export class AppModule implements OnApplicationShutdown {
  /** The suite expects this line after SIGTERM: the shutdown hooks ran (the store closed) before the process ended. */
  onApplicationShutdown(signal?: string): void {
    new Logger('Nest12App').log(`shut down cleanly (${signal ?? 'no signal'})`);
  }
}

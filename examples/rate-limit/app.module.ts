// examples/rate-limit/app.module.ts
import { Controller, Get, HttpCode, Module, Post } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { SkipThrottle, Throttle, ThrottlerModule } from '@nestjs/throttler';
import { BruteForceModule, BruteForceService, Clock, Public, SessionModule } from 'nest-session-kit';
import { CounterThrottlerStorage, RateLimitGuard } from 'nest-session-kit/throttler';

@Public()
@Controller('api')
export class ApiController {
  // 5 requests per client (req.ip) per minute on this route; the 6th gets 429 for a minute from then.
  @Throttle({ default: { limit: 5, ttl: 60_000 } })
  @Post('auth/refresh')
  @HttpCode(200)
  refresh() {
    return { ok: true };
  }

  // The module-wide default (100 per minute) applies to every other route, unless skipped.
  @SkipThrottle()
  @Get('health')
  health() {
    return { ok: true };
  }
}

@Module({
  imports: [
    SessionModule.forRoot({ isGlobal: true }),
    // The counters: 'memory' for one process; a RedisAttemptCounterStore or TypeOrmAttemptCounterStore is shared by
    // every instance, and the rate limits then are too.
    BruteForceModule.forRoot({ isGlobal: true, store: 'memory' }),
    ThrottlerModule.forRootAsync({
      inject: [BruteForceService, Clock],
      useFactory: (bruteForce: BruteForceService, clock: Clock) => ({
        throttlers: [{ limit: 100, ttl: 60_000 }],
        storage: new CounterThrottlerStorage({ store: bruteForce.store, clock }),
      }),
    }),
  ],
  controllers: [ApiController],
  // The app registers the guard (throttler's convention); put it first so a request is counted before other checks.
  providers: [{ provide: APP_GUARD, useClass: RateLimitGuard }],
})
export class AppModule {}

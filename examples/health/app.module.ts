// examples/health/app.module.ts
import { Controller, Get, Module } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Public, SessionModule } from 'nest-session-kit';
import { SessionStoreHealthIndicator } from 'nest-session-kit/terminus';

@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly sessionStore: SessionStoreHealthIndicator,
  ) {}

  // 200 { status: 'ok', info: { sessionStore: { status: 'up', latencyMs: 0.4, circuit: 'closed' } }, ... }, or 503 with
  // status 'down' and reason 'timeout' (no answer within timeoutMs) or 'unreachable' (the store failed the ping).
  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.sessionStore.isHealthy('sessionStore', { timeoutMs: 500 })]);
  }
}

@Module({
  imports: [
    // Your store (RedisSessionStore, TypeOrmSessionStore, ...). The circuit breaker is on by default:
    // 5 connectivity failures in a row open it for 1 s, then one request probes the store.
    SessionModule.forRoot({ isGlobal: true, store: 'memory', circuitBreaker: { failureThreshold: 5, cooldown: '1s' } }),
    TerminusModule,
  ],
  controllers: [HealthController],
  providers: [SessionStoreHealthIndicator],
})
export class AppModule {}

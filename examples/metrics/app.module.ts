// examples/metrics/app.module.ts
import { Controller, Get, Header, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Registry } from 'prom-client';
import { Public, SessionAuthGuard, SessionModule } from 'nest-session-kit';

// The application's own registry: the module never writes to prom-client's global one.
export const registry = new Registry();

@Controller('metrics')
class MetricsController {
  // Serve it to your scraper only: bind it to an internal port, or check a token (the sample app does both ways).
  @Public()
  @Get()
  @Header('Content-Type', registry.contentType)
  scrape(): Promise<string> {
    return registry.metrics();
  }
}

@Module({
  imports: [
    SessionModule.forRoot({
      isGlobal: true,
      metrics: { registry }, // prefix: 'session_kit_' and storeLatencyBucketsMs by default
      // tracing: true (default): spans only once an OpenTelemetry SDK is registered, before the app is created
    }),
  ],
  controllers: [MetricsController],
  providers: [{ provide: APP_GUARD, useClass: SessionAuthGuard }],
})
export class AppModule {}

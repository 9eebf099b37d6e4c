// examples/session-anomaly/app.module.ts
import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import {
  ReAuthGuard,
  SessionAnomalyDetector,
  SessionAnomalyInterceptor,
  SessionAuthGuard,
  SessionModule,
  StaticIpLocationResolver,
} from 'nest-session-kit';

/** Your GeoIP lookup goes here; a fixed table of your offices works offline. */
const offices = new StaticIpLocationResolver({
  '192.0.2.0/24': { latitude: 48.8566, longitude: 2.3522, place: 'Paris office' },
  '198.51.100.0/24': { latitude: -33.8688, longitude: 151.2093, place: 'Sydney office' },
});

/** One detector: the session module runs it on every request; on the event bus it learns from re-authentications. */
const anomaly = new SessionAnomalyDetector({
  policy: 'strict', // 'off' | 'monitor' (events only, the default) | 'strict'
  strictAction: 'reauth', // or 'end' (the default): 401 and the session destroyed
  impossibleTravel: { resolver: offices, maxSpeedKmh: 1000 },
});

@Module({
  imports: [SessionModule.forRoot({ isGlobal: true, checks: [anomaly] })],
  providers: [
    { provide: APP_GUARD, useClass: SessionAuthGuard },
    { provide: APP_GUARD, useClass: ReAuthGuard },
    ...SessionAnomalyInterceptor.providers(anomaly),
  ],
})
export class AppModule {}

import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { SessionStoreHealthIndicator } from '../../../lib/terminus';
import { HealthController } from './health.controller';

/** `GET /health` for load balancers and orchestrators, with the library's terminus indicator for the session store. */
@Module({ imports: [TerminusModule], controllers: [HealthController], providers: [SessionStoreHealthIndicator] })
export class HealthModule {}

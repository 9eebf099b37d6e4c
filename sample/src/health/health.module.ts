import { Module } from '@nestjs/common';
import { HealthController } from './health.controller';

/** `GET /health` for load balancers and orchestrators. */
@Module({ controllers: [HealthController] })
export class HealthModule {}

import { DynamicModule, Module } from '@nestjs/common';
import type { SampleConfig } from '../config';
import { MetricsController } from './metrics.controller';
import { MetricsDashboard } from './metrics-dashboard';
import { SampleMetrics } from './sample-metrics';

/** The sample's metrics registry (global: the session module and the admin page read it), `/metrics`, the dashboard. */
@Module({})
export class SampleMetricsModule {
  static register(config: SampleConfig): DynamicModule {
    return {
      module: SampleMetricsModule,
      global: true,
      controllers: [MetricsController],
      providers: [{ provide: SampleMetrics, useValue: new SampleMetrics(config.metrics) }, MetricsDashboard],
      exports: [SampleMetrics, MetricsDashboard],
    };
  }
}

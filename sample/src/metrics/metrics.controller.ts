import { Controller, Get, NotFoundException, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Public } from '../../../lib';
import { mayReadMetrics } from './metrics-access';
import { SampleMetrics } from './sample-metrics';

/**
 * `GET /metrics`: the Prometheus text of the sample's registry, for a direct request from loopback or one with the
 * bearer token `METRICS_TOKEN` (see `mayReadMetrics`). Anyone else, and everyone when `METRICS_ENABLED=false`, gets
 * the 404 of a route that does not exist (`NOT_FOUND`, "Cannot GET /metrics"): the endpoint is not advertised.
 */
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: SampleMetrics) {}

  @Public()
  @Get()
  async scrape(@Req() req: Request, @Res() res: Response): Promise<void> {
    const registry = this.metrics.registry;
    if (registry === undefined || !mayReadMetrics(req, this.metrics.token)) throw new NotFoundException(`Cannot GET ${req.path}`);
    const text = await registry.metrics();
    res.setHeader('Cache-Control', 'no-store');
    // Prometheus' own type, `text/plain; version=0.0.4; charset=utf-8`, as is: Express' send() would reorder it.
    res.setHeader('Content-Type', registry.contentType);
    res.status(200).end(text);
  }
}

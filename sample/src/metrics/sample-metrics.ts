import { Registry } from 'prom-client';
import type { SampleConfig } from '../config';

/**
 * The sample's own Prometheus registry (never prom-client's global one): the session module writes its metrics
 * here, `GET /metrics` serves it, and the `/admin` dashboard reads it. `registry` is undefined when
 * `METRICS_ENABLED=false`.
 */
export class SampleMetrics {
  readonly registry: Registry | undefined;
  /** `METRICS_TOKEN`, if set: the bearer token a scraper on another host sends. */
  readonly token: string | undefined;

  constructor(config: SampleConfig['metrics']) {
    this.registry = config.enabled ? new Registry() : undefined;
    this.token = config.token;
  }
}

import { Injectable } from '@nestjs/common';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { METRICS_DEFAULTS } from '../../../lib';
import { SampleMetrics } from './sample-metrics';

/** Latency of one store operation, in milliseconds (the histogram is in seconds: converted here, at the edge). */
export interface StoreLatencyRow {
  store: string;
  operation: string;
  backend: string;
  count: number;
  meanMs: number;
  /** Estimated from the histogram buckets, as Prometheus' `histogram_quantile` does (linear within a bucket). */
  p50Ms: number;
  p99Ms: number;
}

/** What the `/admin` dashboard shows, read from the sample's registry (counts since this instance started). */
export interface MetricsSummary {
  sessionsCreated: number;
  sessionsEnded: number;
  endedByReason: [reason: string, count: number][];
  logins: [outcome: string, count: number][];
  lockouts: number;
  csrfRejections: number;
  storeErrors: number;
  storeLatency: StoreLatencyRow[];
}

type Values = MetricValue<string>[];

const P = METRICS_DEFAULTS.prefix;
const LOGIN_OUTCOMES = ['success', 'failure', 'throttled', 'denied'];

/** Reads the registry into a {@link MetricsSummary}; `undefined` when metrics are off. */
@Injectable()
export class MetricsDashboard {
  constructor(private readonly metrics: SampleMetrics) {}

  async summary(): Promise<MetricsSummary | undefined> {
    const registry = this.metrics.registry;
    if (registry === undefined) return undefined;
    const all = (await registry.getMetricsAsJSON()) as MetricObjectWithValues<MetricValue<string>>[];
    const values = (name: string): Values => all.find((m) => m.name === P + name)?.values ?? [];
    const total = (name: string): number => values(name).reduce((sum, v) => sum + v.value, 0);
    const byLabel = (name: string, label: string): Map<string, number> => {
      const out = new Map<string, number>();
      for (const v of values(name)) out.set(String(v.labels[label]), (out.get(String(v.labels[label])) ?? 0) + v.value);
      return out;
    };
    const logins = byLabel('logins_total', 'outcome');
    return {
      sessionsCreated: total('sessions_created_total'),
      sessionsEnded: total('sessions_ended_total'),
      endedByReason: [...byLabel('sessions_ended_total', 'reason')].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]),
      logins: LOGIN_OUTCOMES.map((outcome) => [outcome, logins.get(outcome) ?? 0]),
      lockouts: total('lockouts_total'),
      csrfRejections: total('csrf_rejections_total'),
      storeErrors: total('store_errors_total'),
      storeLatency: latencyRows(values('store_operation_duration_seconds')),
    };
  }
}

/** One row per (store, operation, backend) of the latency histogram, busiest first. */
export function latencyRows(values: Values): StoreLatencyRow[] {
  const series = new Map<string, { labels: Record<string, string>; buckets: [number, number][]; sum: number; count: number }>();
  for (const v of values) {
    const labels = { store: String(v.labels.store), operation: String(v.labels.operation), backend: String(v.labels.backend) };
    const key = `${labels.store}\u0000${labels.operation}\u0000${labels.backend}`;
    let s = series.get(key);
    if (!s) series.set(key, (s = { labels, buckets: [], sum: 0, count: 0 }));
    const name = (v as MetricValue<string> & { metricName?: string }).metricName ?? '';
    if (name.endsWith('_bucket')) s.buckets.push([v.labels.le === '+Inf' ? Infinity : Number(v.labels.le), v.value]);
    else if (name.endsWith('_sum')) s.sum = v.value;
    else if (name.endsWith('_count')) s.count = v.value;
  }
  return [...series.values()]
    .filter((s) => s.count > 0)
    .map((s) => {
      const buckets = s.buckets.sort((a, b) => a[0] - b[0]);
      return {
        store: s.labels.store,
        operation: s.labels.operation,
        backend: s.labels.backend,
        count: s.count,
        meanMs: (s.sum / s.count) * 1000,
        p50Ms: quantile(0.5, buckets, s.count) * 1000,
        p99Ms: quantile(0.99, buckets, s.count) * 1000,
      };
    })
    .sort((a, b) => b.count - a.count);
}

/**
 * The q-quantile (seconds) from cumulative buckets `[upper bound, count]`, as `histogram_quantile` estimates it:
 * linear interpolation inside the bucket holding the rank, the highest finite bound when the rank is past them all.
 */
export function quantile(q: number, buckets: [number, number][], count: number): number {
  const rank = q * count;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [bound, cumulative] of buckets) {
    if (cumulative >= rank) {
      if (bound === Infinity) return lowerBound;
      const inBucket = cumulative - lowerCount;
      return inBucket === 0 ? bound : lowerBound + (bound - lowerBound) * ((rank - lowerCount) / inBucket);
    }
    lowerBound = bound;
    lowerCount = cumulative;
  }
  return lowerBound;
}

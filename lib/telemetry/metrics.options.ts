/**
 * The part of a prom-client `Registry` the module uses, typed structurally so that the main entry's types do not
 * need prom-client installed. Pass your application's `new Registry()` (or prom-client's `register` if you want the
 * global one: the module never picks it by itself).
 */
export interface PrometheusRegistry {
  getSingleMetric(name: string): unknown;
  registerMetric(metric: never): void;
  metrics(): Promise<string>;
}

/** Prometheus metrics of the module (`SessionModule.forRoot({ metrics })`). Needs the optional peer `prom-client`. */
export interface SessionMetricsOptions {
  /**
   * The prom-client registry the metrics go in: the application's own (`new Registry()`), the one it serves on
   * `/metrics`. Required: the module never writes to prom-client's global default registry unless you pass it.
   * Two modules given the same registry share the metrics (same names): their counts add up.
   */
  registry: PrometheusRegistry;
  /** Prefix of every metric name. Default `session_kit_`. Letters, digits, `_` and `:`, not starting with a digit. */
  prefix?: string;
  /**
   * Upper bounds (milliseconds) of the store latency histogram's buckets, ascending. Default
   * `[0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500]` (ms). Exposed in seconds, as Prometheus expects.
   */
  storeLatencyBucketsMs?: number[];
}

/** The metrics options after validation, with prom-client loaded. @internal */
export interface ResolvedMetricsOptions {
  registry: PrometheusRegistry;
  prefix: string;
  storeLatencyBucketsMs: number[];
  promClient: typeof import('prom-client');
}

/** Defaults of {@link SessionMetricsOptions}, in one place. */
export const METRICS_DEFAULTS = {
  prefix: 'session_kit_',
  storeLatencyBucketsMs: [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
} as const;

const METRIC_PREFIX = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * Validates `metrics` and loads prom-client (only here: the main entry loads without it while metrics are off).
 * Problems go to `problems`, in the style of the module's other options.
 */
export function resolveMetricsOptions(
  raw: SessionMetricsOptions | undefined,
  problems: string[],
  load: () => typeof import('prom-client') = loadPromClient,
): ResolvedMetricsOptions | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'object' || raw === null) {
    problems.push('metrics must be an object such as { registry: new Registry() } (prom-client), or left out to turn metrics off');
    return undefined;
  }
  const before = problems.length;
  const registry = raw.registry as Partial<PrometheusRegistry> | undefined;
  if (typeof registry?.registerMetric !== 'function' || typeof registry.getSingleMetric !== 'function') {
    problems.push(
      "metrics.registry must be a prom-client Registry: pass your app's own (import { Registry } from 'prom-client'; new Registry()), the one you serve on /metrics",
    );
  }
  const prefix = raw.prefix ?? METRICS_DEFAULTS.prefix;
  if (typeof prefix !== 'string' || !METRIC_PREFIX.test(prefix)) {
    problems.push(
      `metrics.prefix ${JSON.stringify(prefix)} is not a Prometheus name prefix: use letters, digits, "_" and ":", e.g. "myapp_session_"`,
    );
  }
  const buckets = raw.storeLatencyBucketsMs ?? [...METRICS_DEFAULTS.storeLatencyBucketsMs];
  if (
    !Array.isArray(buckets) ||
    buckets.length === 0 ||
    buckets.some((b, i) => typeof b !== 'number' || !Number.isFinite(b) || b <= 0 || (i > 0 && b <= buckets[i - 1]))
  ) {
    problems.push('metrics.storeLatencyBucketsMs must be a non-empty list of ascending positive milliseconds, e.g. [1, 5, 25, 100]');
  }
  let promClient: typeof import('prom-client') | undefined;
  try {
    promClient = load();
  } catch {
    problems.push('metrics needs the optional peer dependency prom-client: npm install prom-client (or leave metrics out)');
  }
  if (problems.length > before || promClient === undefined) return undefined;
  return { registry: registry as PrometheusRegistry, prefix, storeLatencyBucketsMs: [...buckets], promClient };
}

function loadPromClient(): typeof import('prom-client') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('prom-client') as typeof import('prom-client');
}

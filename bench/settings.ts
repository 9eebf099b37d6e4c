/**
 * Settings shared by the benchmark servers (bench/app.ts) and the driver (reported in RESULTS.md).
 */

export const VARIANTS = [
  'bare',
  'es-memory',
  'es-redis',
  'kit-memory',
  'kit-redis',
  'kit-memcached',
  'kit-sealed',
  'kit-roles',
  'kit-anomaly',
  'kit-csrf',
  'kit-defended',
  'kit-throttle',
  'kit-metrics',
  'kit-otel-nosdk',
  'sample',
  'kit-bearer',
  'kit-bearer-es256',
  'nestjs-jwt',
] as const;
export type Variant = (typeof VARIANTS)[number];

/**
 * Variants only the scale run (`node bench/run.js scale`, bench/scale.ts) starts: they need a backend the main run
 * does not set up. `kit-postgres` = kit-redis's app on `TypeOrmSessionStore` (PostgreSQL, env `BENCH_PG_DATABASE`).
 */
export const SCALE_ONLY_VARIANTS = ['kit-postgres'] as const;
/** Any variant bench/app.ts can serve. */
export type AppVariant = Variant | (typeof SCALE_ONLY_VARIANTS)[number];

/** Human names used in the report. */
export const VARIANT_LABELS: Record<Variant, string> = {
  bare: 'bare',
  'es-memory': 'express-session (MemoryStore)',
  'es-redis': 'express-session + connect-redis',
  'kit-memory': 'kit-memory',
  'kit-redis': 'kit-redis',
  'kit-memcached': 'kit-memcached (MemcachedSessionStore on a private memcached)',
  'kit-sealed': 'kit-sealed (sealed-cookie sessions, in-memory revocation list, no idle re-seal in the run)',
  'kit-roles': 'kit-roles (memory store + RolesGuard, @Roles)',
  'kit-anomaly': 'kit-anomaly (memory store + SessionAnomalyDetector, monitor)',
  'kit-csrf': 'kit-csrf (memory store + CsrfGuard)',
  'kit-defended': 'kit-defended (memory store + CsrfGuard + SessionAnomalyDetector, monitor)',
  'kit-throttle': 'kit-throttle (memory store + RateLimitGuard on the in-memory counters)',
  'kit-metrics': 'kit-metrics (kit-memory + Prometheus metrics in its own registry: store latency histogram on every read)',
  'kit-otel-nosdk': 'kit-otel-nosdk (kit-memory, tracing on, @opentelemetry/api loaded, no SDK registered)',
  sample: 'the sample app (memory store, SQLite users)',
  'kit-bearer': 'kit-bearer (ApiTokenModule + BearerAuthGuard, EdDSA, revocation check on the in-memory token store)',
  'kit-bearer-es256': 'kit-bearer-es256 (the same with ES256 keys)',
  'nestjs-jwt': '@nestjs/jwt (JwtService.verify, ES256 public KeyObject, no revocation check)',
};

/** The variants authenticated by `Authorization: Bearer` (their `POST /login` answers a token, not a cookie). */
export const BEARER_VARIANTS: readonly Variant[] = ['kit-bearer', 'kit-bearer-es256', 'nestjs-jwt'];

/** Lifecycle settings of every session variant. */
export const SESSION_SETTINGS = {
  /** Both libraries: sessions expire after 30 min without use (express-session: rolling cookie maxAge). */
  idleTimeout: '30m',
  /** The kit writes lastSeenAt at most once per second per session, so touches happen throughout a run. */
  touchInterval: '1s',
  /** No periodic id rotation falls inside a run (express-session never rotates by itself either). */
  rotationInterval: '1h',
} as const;

/** The label of the A/A control's second server in the side-by-side results: bare next to another bare server. */
export const A_A_CONTROL = 'bare (a second server: A/A control)';

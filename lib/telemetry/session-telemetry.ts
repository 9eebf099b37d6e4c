import type { Tracer } from '@opentelemetry/api';
import type { SessionStore } from '../stores/session-store';
import { instrumentStore } from './instrumented-store';
import type { ResolvedMetricsOptions } from './metrics.options';
import { SessionMetrics } from './session-metrics';
import { resolveTracer } from './tracing';

/** The session store's operations that are timed and traced (every backend round trip of the contract). */
export const SESSION_STORE_OPERATIONS = [
  'create',
  'read',
  'update',
  'rotate',
  'destroy',
  'listByUser',
  'destroyByUser',
  'destroyByHandle',
  'requireRotationForUser',
  'updateUserRoles',
  'countByUser',
  'increment',
  'resetCounter',
  'ping',
] as const satisfies readonly (keyof SessionStore)[];

/**
 * The module's metrics and tracer, decided once at start-up from the `metrics` and `tracing` options. Injected by
 * the guards and the other modules (optional): `metrics` is `undefined` when metrics are off, `tracer` when no
 * OpenTelemetry SDK is registered (or `tracing: false`), and then they cost one property read per request.
 *
 * @example
 * constructor(@Optional() private readonly telemetry?: SessionTelemetry) {}
 * // a store of your own, timed and traced like the module's:
 * this.store = telemetry?.instrument(store, 'token', ['get', 'set']) ?? store;
 */
export class SessionTelemetry {
  /** The Prometheus metrics, or `undefined` with metrics off. */
  readonly metrics: SessionMetrics | undefined;
  /** The tracer, or `undefined` when spans would be no-ops. */
  readonly tracer: Tracer | undefined;

  constructor(metrics: ResolvedMetricsOptions | undefined, tracing: boolean, tracer: Tracer | undefined = resolveTracer(tracing)) {
    this.metrics = metrics === undefined ? undefined : new SessionMetrics(metrics);
    this.tracer = tracer;
  }

  /** True when metrics or spans are recorded (stores are then wrapped). */
  get enabled(): boolean {
    return this.metrics !== undefined || this.tracer !== undefined;
  }

  /**
   * `store` with its `operations` timed (histogram), their failures counted and traced; `store` itself when metrics
   * and tracing are both off. See `instrumentStore`.
   */
  instrument<S extends object>(store: S, kind: 'session' | 'token' | 'attempt', operations: readonly string[]): S {
    return this.enabled ? instrumentStore(store, kind, operations, this) : store;
  }

  /** The session store, instrumented when metrics or tracing are on. */
  instrumentSessionStore(store: SessionStore): SessionStore {
    return this.instrument(store, 'session', SESSION_STORE_OPERATIONS);
  }
}

import type { Attributes, Tracer } from '@opentelemetry/api';
import { isStoreConnectionError } from '../core/errors';
import type { InstrumentedStoreKind, SessionMetrics } from './session-metrics';

/** What a store wrapper records to: the metrics (when on) and the tracer (when an SDK is registered). */
export interface StoreTelemetry {
  metrics?: SessionMetrics;
  tracer?: Tracer;
}

/** The backend label of a store, from its class: `RedisSessionStore` → `redis`, `InMemoryTokenStore` → `memory`. */
export function backendOf(store: object): string {
  const name = store.constructor?.name ?? 'custom';
  const known: [RegExp, string][] = [
    [/^InMemory/, 'memory'],
    [/^Redis/, 'redis'],
    [/^Memcached/, 'memcached'],
    [/^TypeOrm/, 'typeorm'],
    [/^Sealed/, 'sealed'],
  ];
  for (const [pattern, backend] of known) if (pattern.test(name)) return backend;
  // A class name is bounded (the app's code), never request data.
  return (
    name
      .replace(/(Session|Token|AttemptCounter)?Store$/, '')
      .replace(/[^A-Za-z0-9]/g, '')
      .toLowerCase() || 'custom'
  );
}

/** `db.system` (OpenTelemetry semantic conventions) of a store's backend, when it is a database. */
function dbSystemOf(store: object, backend: string): string | undefined {
  if (backend === 'redis' || backend === 'memcached') return backend;
  if (backend !== 'typeorm') return undefined;
  const type = (store as { dataSource?: { options?: { type?: unknown } } }).dataSource?.options?.type;
  if (type === 'postgres') return 'postgresql';
  if (type === 'mysql' || type === 'mariadb') return type;
  if (type === 'better-sqlite3' || type === 'sqlite') return 'sqlite';
  return typeof type === 'string' ? 'other_sql' : undefined;
}

const SPAN_KIND_INTERNAL = 0;
const SPAN_KIND_CLIENT = 2;
const STATUS_ERROR = 2;

/**
 * A store that times every call of `operations` into the latency histogram (labels `store`, `operation`,
 * `backend`), counts the calls that throw (`store_errors_total`, `kind` `unavailable` for a connection error, else
 * `error`), and, with a tracer, wraps each in a span `session_kit.<store>_store <operation>` (kind CLIENT for a
 * remote backend) with `db.system`, `db.operation.name` and `session_kit.store.backend`. No argument and no result
 * goes into a label or an attribute: ids, tokens and user ids never leave the store.
 *
 * The wrapper inherits from the store (`Object.create`), so `instanceof`, `keepsSessionInToken` and the other
 * members read through; only `operations` are replaced, each calling the store's own method on the store itself.
 * Called only when metrics or tracing are on: otherwise the store is used as it is, at no cost.
 */
export function instrumentStore<S extends object>(
  store: S,
  kind: InstrumentedStoreKind,
  operations: readonly string[],
  telemetry: StoreTelemetry,
): S {
  const { metrics, tracer } = telemetry;
  if (metrics === undefined && tracer === undefined) return store;
  const backend = backendOf(store);
  const dbSystem = dbSystemOf(store, backend);
  const wrapper = Object.create(store) as S;
  for (const operation of operations) {
    if (typeof (store as Record<string, unknown>)[operation] !== 'function') continue;
    const labels = { store: kind, operation, backend };
    // Children resolved once: no label lookup per call.
    const duration = metrics?.storeDuration.labels(labels);
    const errorLabels = metrics === undefined ? undefined : { ...labels };
    const spanName = `session_kit.${kind}_store ${operation}`;
    const attributes: Attributes = { 'db.operation.name': operation, 'session_kit.store.backend': backend, 'session_kit.store': kind };
    if (dbSystem !== undefined) attributes['db.system'] = dbSystem;
    const spanKind = dbSystem === undefined ? SPAN_KIND_INTERNAL : SPAN_KIND_CLIENT;
    const failed = (error: unknown): void => {
      if (errorLabels !== undefined)
        metrics!.storeErrors.inc({ ...errorLabels, kind: isStoreConnectionError(error) ? 'unavailable' : 'error' });
    };
    Object.defineProperty(wrapper, operation, {
      configurable: true,
      writable: true,
      value: function instrumented(...args: unknown[]): unknown {
        const span = tracer?.startSpan(spanName, { kind: spanKind, attributes });
        const started = performance.now();
        const settle = (error?: unknown): void => {
          duration?.observe((performance.now() - started) / 1000);
          if (error !== undefined) {
            failed(error);
            if (span) {
              const type = isStoreConnectionError(error) ? 'unavailable' : ((error as Error)?.name ?? 'Error');
              span.setAttribute('error.type', type);
              span.setStatus({ code: STATUS_ERROR, message: type });
            }
          }
          span?.end();
        };
        let result: unknown;
        try {
          // Looked up per call: a method replaced on the store later (a test spy, a patch) is the one that runs.
          result = ((store as Record<string, unknown>)[operation] as (...a: unknown[]) => unknown).apply(store, args);
        } catch (error) {
          settle(error);
          throw error;
        }
        if (result instanceof Promise) {
          return result.then(
            (value) => {
              settle();
              return value;
            },
            (error: unknown) => {
              settle(error ?? new Error('rejected'));
              throw error;
            },
          );
        }
        settle();
        return result;
      },
    });
  }
  return wrapper;
}

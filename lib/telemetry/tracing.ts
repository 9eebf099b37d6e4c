import type { Attributes, Span, Tracer } from '@opentelemetry/api';

/** The tracer name of the module's spans (the instrumentation scope). */
export const TRACER_NAME = 'nest-session-kit';

type OtelApi = typeof import('@opentelemetry/api');

/** `@opentelemetry/api` if installed, else `undefined` (an optional peer: never required). */
export function loadOtelApi(): OtelApi | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('@opentelemetry/api') as OtelApi;
  } catch {
    return undefined;
  }
}

/**
 * The module's tracer, or `undefined` when spans would be no-ops: tracing turned off, `@opentelemetry/api` not
 * installed, or no tracer provider registered (no SDK). Decided once, at start-up: with `undefined` the guards and
 * stores take their plain path, with no span objects, closures or context switches per request. Register the SDK
 * before the Nest app is created (as OpenTelemetry asks anyway); one registered later is not seen.
 */
export function resolveTracer(enabled: boolean, api: OtelApi | undefined = loadOtelApi()): Tracer | undefined {
  if (!enabled || api === undefined) return undefined;
  const provider = api.trace.getTracerProvider() as { getDelegate?: () => unknown };
  // The API's global provider is a proxy whose delegate is the no-op provider until an SDK registers one.
  if (typeof provider.getDelegate === 'function' && provider.getDelegate() === new api.ProxyTracerProvider().getDelegate())
    return undefined;
  return api.trace.getTracer(TRACER_NAME);
}

/** Span status codes of the API (the enum's values, so that this file needs no runtime import of it). */
const STATUS_ERROR = 2;
const SPAN_KIND_INTERNAL = 0;

/** The stable `code` of an HTTP exception of the module (`SESSION_REQUIRED`, ...), or its status, or the error's name. */
function refusalOf(error: unknown): { code: string; status?: number; http: boolean } {
  const e = error as { getStatus?: () => number; getResponse?: () => unknown; name?: string };
  if (typeof e?.getStatus === 'function') {
    const body = e.getResponse?.() as { code?: unknown } | undefined;
    const status = e.getStatus();
    return { code: typeof body?.code === 'string' ? body.code : String(status), status, http: true };
  }
  return { code: typeof e?.name === 'string' ? e.name : 'Error', http: false };
}

/**
 * Runs a guard's check inside an active span named after the guard (store spans it causes become its children).
 * Attributes: `session_kit.guard` (class name), `session_kit.guard.result` (`allow`, `deny`, `error`) and, on a
 * refusal, `session_kit.guard.code` (the exception's stable code) and `http.response.status_code`. A refusal (an
 * HTTP exception) is the guard doing its job: the span's status stays unset; anything else marks it ERROR.
 */
export function traceGuard<T extends boolean | Promise<boolean>>(tracer: Tracer, guard: string, check: () => T): T {
  return tracer.startActiveSpan(
    `${guard}.canActivate`,
    { kind: SPAN_KIND_INTERNAL, attributes: { 'session_kit.guard': guard } },
    (span) => {
      let result: T;
      try {
        result = check();
      } catch (error) {
        endGuardSpan(span, undefined, error);
        throw error;
      }
      if (typeof result === 'boolean') {
        endGuardSpan(span, result, undefined);
        return result;
      }
      return (result as Promise<boolean>).then(
        (allowed) => {
          endGuardSpan(span, allowed, undefined);
          return allowed;
        },
        (error: unknown) => {
          endGuardSpan(span, undefined, error);
          throw error;
        },
      ) as T;
    },
  );
}

function endGuardSpan(span: Span, allowed: boolean | undefined, error: unknown): void {
  if (error === undefined) {
    span.setAttribute('session_kit.guard.result', allowed ? 'allow' : 'deny');
  } else {
    const refusal = refusalOf(error);
    const attributes: Attributes = { 'session_kit.guard.result': refusal.http ? 'deny' : 'error', 'session_kit.guard.code': refusal.code };
    if (refusal.status !== undefined) attributes['http.response.status_code'] = refusal.status;
    span.setAttributes(attributes);
    if (!refusal.http || (refusal.status ?? 0) >= 500) {
      span.setStatus({ code: STATUS_ERROR, message: refusal.code });
      if (!refusal.http) span.setAttribute('error.type', refusal.code);
    }
  }
  span.end();
}

import { SecurityEvent, SecurityEventSink } from './security-event';

/**
 * Fans security events out to sinks. A sink that throws or rejects is reported through `onSinkError` and
 * never breaks the request that emitted the event.
 */
export class SecurityEventBus {
  private readonly sinks: SecurityEventSink[] = [];

  constructor(
    sinks: SecurityEventSink[] = [],
    private readonly onSinkError: (error: unknown, event: SecurityEvent) => void = (error) =>
      console.error(`nest-session-kit: a security event sink failed: ${String(error)}`),
  ) {
    this.sinks.push(...sinks);
  }

  /** Adds a sink at run time (e.g. an audit table the app creates after start-up). */
  subscribe(sink: SecurityEventSink): () => void {
    this.sinks.push(sink);
    return () => {
      const i = this.sinks.indexOf(sink);
      if (i >= 0) this.sinks.splice(i, 1);
    };
  }

  /** Delivers the event to every sink; never throws. */
  emit(event: SecurityEvent): void {
    for (const sink of this.sinks) {
      try {
        const pending = sink.handle(event);
        if (pending && typeof (pending as Promise<void>).catch === 'function') {
          (pending as Promise<void>).catch((error: unknown) => this.onSinkError(error, event));
        }
      } catch (error) {
        this.onSinkError(error, event);
      }
    }
  }
}

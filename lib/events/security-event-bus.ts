import { neutralizeEvent } from './neutralize';
import { SecurityEvent, SecurityEventSink } from './security-event';

export { MAX_EVENT_TEXT_LENGTH } from './neutralize';

/**
 * Fans security events out to sinks. A sink that throws or rejects is reported through `onSinkError` and
 * never breaks the request that emitted the event.
 *
 * Every string of an event is neutralised here, whoever emits it (the module, a feature, the app), before any sink
 * sees it (`neutralizeEvent`, LG-05): control characters, ANSI escapes, Unicode line separators and bidi overrides
 * become visible text, and values are clipped with a marker: user agent to 256 characters, IP to 64, user id to
 * 255, `reason` and string `detail` values to 256. A client sending a 15 KB user agent or a username holding a
 * forged log line on every failed login can neither fill the security log nor write into it.
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

  /** Delivers the event (clipped, see the class comment) to every sink; never throws. */
  emit(raw: SecurityEvent): void {
    if (this.sinks.length === 0) return;
    const event = neutralizeEvent(raw);
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

import { clip, MAX_IP_LENGTH, MAX_USER_AGENT_LENGTH, MAX_USER_ID_LENGTH } from '../core/session-record';
import { SecurityEvent, SecurityEventSink } from './security-event';

/** Longest `reason` or string `detail` value kept in an event (characters). */
export const MAX_EVENT_TEXT_LENGTH = 256;

/**
 * Fans security events out to sinks. A sink that throws or rejects is reported through `onSinkError` and
 * never breaks the request that emitted the event.
 *
 * Every client-supplied string is clipped here, whoever emits the event (the module, a feature, the app):
 * user agent to 256 characters, IP to 64, user id to 255, `reason` and string `detail` values to 256. A client
 * sending a 15 KB user agent on every failed login must not be able to fill the security log.
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
    const event = clipEvent(raw);
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

function clipEvent(event: SecurityEvent): SecurityEvent {
  const out: SecurityEvent = { ...event };
  if (typeof out.ip === 'string') out.ip = clip(out.ip, MAX_IP_LENGTH);
  if (typeof out.userAgent === 'string') out.userAgent = clip(out.userAgent, MAX_USER_AGENT_LENGTH);
  if (typeof out.userId === 'string') out.userId = clip(out.userId, MAX_USER_ID_LENGTH);
  if (typeof out.reason === 'string') out.reason = clip(out.reason, MAX_EVENT_TEXT_LENGTH);
  if (out.detail) {
    const detail: Record<string, string | number | boolean> = {};
    for (const [key, value] of Object.entries(out.detail)) {
      detail[clip(key, 64)] = typeof value === 'string' ? clip(value, MAX_EVENT_TEXT_LENGTH) : value;
    }
    out.detail = detail;
  }
  return out;
}

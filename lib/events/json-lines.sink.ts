import { createWriteStream } from 'node:fs';
import { Writable } from 'node:stream';
import { SecurityEvent, SecurityEventSink } from './security-event';

/**
 * Writes each security event as one line of JSON.
 *
 * JSON encoding escapes control characters, so a user agent or username holding a newline cannot forge a
 * second log line (log injection). Events never hold session tokens.
 *
 * @example new JsonLinesEventSink('-')                 // stdout
 * @example new JsonLinesEventSink('/var/log/app/security.jsonl')
 */
export class JsonLinesEventSink implements SecurityEventSink {
  private readonly stream: Writable;
  private readonly owned: boolean;

  /** @param target a file path (appended to), `-` for stdout, or a writable stream (not closed by us). */
  constructor(target: string | Writable) {
    if (typeof target === 'string') {
      this.owned = target !== '-';
      this.stream = target === '-' ? process.stdout : createWriteStream(target, { flags: 'a' });
    } else {
      this.owned = false;
      this.stream = target;
    }
  }

  handle(event: SecurityEvent): void {
    this.stream.write(
      JSON.stringify({ ...event, timestamp: new Date(event.time).toISOString(), event: eventLabel(event) }) + '\n',
    );
  }

  /** Flushes and closes a file this sink opened. */
  async close(): Promise<void> {
    if (!this.owned) return;
    await new Promise<void>((resolve) => this.stream.end(resolve));
  }
}

/** The OWASP vocabulary's compact form: `type:userId[,reason]`. */
function eventLabel(e: SecurityEvent): string {
  const args = [e.userId, e.reason].filter((x): x is string => typeof x === 'string' && x.length > 0);
  return args.length ? `${e.type}:${args.join(',')}` : e.type;
}

import { createWriteStream, openSync } from 'node:fs';
import { Writable } from 'node:stream';
import { neutralizeEvent } from './neutralize';
import { SecurityEvent, SecurityEventSink } from './security-event';

/**
 * Writes each security event as one line of JSON.
 *
 * One event is always one line, whatever it holds (LG-05): every string is neutralised first (`neutralizeEvent`:
 * control characters, ANSI escapes, `U+2028`/`U+2029` and bidi overrides become visible text such as `\x0a`,
 * over-long values are clipped with a marker), and JSON encoding escapes what is left. A user agent or username
 * holding a newline cannot forge a second line, nor recolour or reorder a line on a terminal. Events never hold
 * session tokens.
 *
 * @example new JsonLinesEventSink('-')                 // stdout
 * @example new JsonLinesEventSink('/var/log/app/security.jsonl')
 */
export class JsonLinesEventSink implements SecurityEventSink {
  private readonly stream: Writable;
  private readonly owned: boolean;

  /**
   * @param target a file path (appended to), `-` for stdout, or a writable stream (not closed by us).
   * @param onError called when writing fails later (disk full...); default: one line on stderr. A write
   *   failure never crashes the process.
   * @throws when the file cannot be opened, so a bad path stops start-up instead of losing events.
   */
  constructor(
    target: string | Writable,
    onError: (error: Error) => void = (e) => console.error(`nest-session-kit: security log write failed: ${e.message}`),
  ) {
    if (typeof target === 'string' && target !== '-') {
      // Open synchronously: an unwritable path is a configuration error to report now, not later. A new file is
      // readable by its owner only (it names users, IPs and sessions).
      let fd: number;
      try {
        fd = openSync(target, 'a', 0o600);
      } catch (error) {
        throw new Error(
          `JsonLinesEventSink: cannot open security log "${target}" for appending (${(error as Error).message}); fix the path or its permissions`,
        );
      }
      this.owned = true;
      this.stream = createWriteStream(target, { fd, flags: 'a' });
    } else {
      this.owned = false;
      this.stream = target === '-' ? process.stdout : (target as Writable);
    }
    this.stream.on('error', onError);
  }

  handle(raw: SecurityEvent): void {
    const event = neutralizeEvent(raw);
    this.stream.write(JSON.stringify({ ...event, timestamp: new Date(event.time).toISOString(), event: eventLabel(event) }) + '\n');
  }

  /** Flushes and closes a file this sink opened. */
  async close(): Promise<void> {
    if (!this.owned || this.stream.closed || this.stream.destroyed) return;
    await new Promise<void>((resolve) => this.stream.end(resolve));
  }
}

/** The OWASP vocabulary's compact form: `type:userId[,reason]`. */
function eventLabel(e: SecurityEvent): string {
  const args = [e.userId, e.reason].filter((x): x is string => typeof x === 'string' && x.length > 0);
  return args.length ? `${e.type}:${args.join(',')}` : e.type;
}

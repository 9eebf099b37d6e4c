import { MAX_IP_LENGTH, MAX_USER_AGENT_LENGTH, MAX_USER_ID_LENGTH } from '../core/session-record';
import { SecurityEvent } from './security-event';

/** Longest `reason` or string `detail` value kept in an event (characters, the clip marker included). */
export const MAX_EVENT_TEXT_LENGTH = 256;
/** Longest `detail` key kept (characters, the clip marker included). */
export const MAX_EVENT_DETAIL_KEY_LENGTH = 64;
/** Longest session handle kept (characters): handles are 22, so only a forged one is ever cut. */
export const MAX_EVENT_HANDLE_LENGTH = 64;
/** Longest event type, level or outcome kept (characters): the audit table's `type` column. */
export const MAX_EVENT_NAME_LENGTH = 64;

/** What ends a value that was cut: the reader sees that the value went on, and the log line stays bounded. */
export const CLIP_MARKER = '…[clipped]';

/**
 * Characters that can forge, hide or reorder log content when a log is read as text, in a terminal or in a viewer:
 *
 * - C0 controls (CR, LF, TAB, ESC that starts ANSI escape sequences, NUL...), DEL and the C1 controls (NEL, the
 *   8-bit CSI `U+009B`);
 * - the Unicode line and paragraph separators `U+2028` and `U+2029`, which JSON leaves as they are but many readers
 *   treat as line breaks;
 * - the bidirectional controls (`U+061C`, `U+200E`, `U+200F`, `U+202A` to `U+202E`, `U+2066` to `U+2069`), which make
 *   text display in another order than it is stored (Trojan Source);
 * - surrogate code units, checked separately: a lone one is not valid UTF-8 and a database in utf8mb4 refuses it.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Makes a client-supplied string safe to log (LG-05): every unsafe character above becomes visible text (`\x0a`,
 * `\u202e`), so an ANSI escape or a forged line shows up as what it is and never acts; a lone surrogate becomes
 * `U+FFFD`; a value longer than `max` characters is cut and ends with {@link CLIP_MARKER}, never in the middle of a
 * surrogate pair. The result is at most `max` characters long, and neutralising it again changes nothing.
 *
 * @param max longest result, in UTF-16 code units (JavaScript string length), the marker included; at least 16.
 * @example neutralizeLogText('eve\n{"type":"authn_login_success"}', 256) // 'eve\\x0a{"type":"authn_login_success"}'
 * @example neutralizeLogText('\u001b[31mred', 256) // '\\x1b[31mred'
 */
export function neutralizeLogText(value: string, max: number): string {
  let out = value.replace(LONE_SURROGATE, '\ufffd');
  UNSAFE.lastIndex = 0;
  if (UNSAFE.test(out)) {
    out = out.replace(UNSAFE, (c) => {
      const code = c.charCodeAt(0);
      return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
    });
  }
  if (out.length <= max) return out;
  let cut = Math.max(0, max - CLIP_MARKER.length);
  // Never leave half of a surrogate pair at the end.
  const last = out.charCodeAt(cut - 1);
  if (cut > 0 && last >= 0xd800 && last <= 0xdbff) cut -= 1;
  return out.slice(0, cut) + CLIP_MARKER;
}

/**
 * The event with every string neutralised and clipped ({@link neutralizeLogText}): user id to 255 characters, IP
 * to 64, user agent to 256, session handle to 64, `reason` and string `detail` values to 256, `detail` keys to 64.
 * The security event bus applies it to every event before any sink sees it, and the library's sinks apply it again
 * (it changes nothing the second time), so a sink an application calls directly is just as safe.
 *
 * @example neutralizeEvent({ ...event, userAgent: 'x\r\nInjected: yes' }).userAgent // 'x\\x0d\\x0aInjected: yes'
 */
export function neutralizeEvent(event: SecurityEvent): SecurityEvent {
  const out: SecurityEvent = {
    ...event,
    type: text(event.type, MAX_EVENT_NAME_LENGTH) as SecurityEvent['type'],
    level: text(event.level, MAX_EVENT_NAME_LENGTH) as SecurityEvent['level'],
    outcome: text(event.outcome, MAX_EVENT_NAME_LENGTH) as SecurityEvent['outcome'],
  };
  if (typeof event.userId === 'string') out.userId = neutralizeLogText(event.userId, MAX_USER_ID_LENGTH);
  if (typeof event.sessionHandle === 'string') out.sessionHandle = neutralizeLogText(event.sessionHandle, MAX_EVENT_HANDLE_LENGTH);
  if (typeof event.ip === 'string') out.ip = neutralizeLogText(event.ip, MAX_IP_LENGTH);
  if (typeof event.userAgent === 'string') out.userAgent = neutralizeLogText(event.userAgent, MAX_USER_AGENT_LENGTH);
  if (typeof event.reason === 'string') out.reason = neutralizeLogText(event.reason, MAX_EVENT_TEXT_LENGTH);
  if (event.detail) {
    const detail: Record<string, string | number | boolean> = {};
    for (const [key, value] of Object.entries(event.detail)) {
      detail[neutralizeLogText(key, MAX_EVENT_DETAIL_KEY_LENGTH)] =
        typeof value === 'string' ? neutralizeLogText(value, MAX_EVENT_TEXT_LENGTH) : value;
    }
    out.detail = detail;
  }
  return out;
}

/** Typed names come from code, but a cast can put anything there: they get the same treatment. */
function text(value: string, max: number): string {
  return typeof value === 'string' ? neutralizeLogText(value, max) : value;
}

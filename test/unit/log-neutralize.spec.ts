import { CLIP_MARKER, neutralizeEvent, neutralizeLogText } from '../../lib/events/neutralize';
import { SecurityEvent } from '../../lib/events/security-event';
import { SecurityEventBus } from '../../lib/events/security-event-bus';

/** Every character that must never reach a log as itself (LG-05). */
const UNSAFE = [
  ...Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)),
  ...Array.from({ length: 0x21 }, (_, i) => String.fromCharCode(0x7f + i)),
  '\u061c',
  '\u200e',
  '\u200f',
  '\u2028',
  '\u2029',
  '\u202a',
  '\u202b',
  '\u202c',
  '\u202d',
  '\u202e',
  '\u2066',
  '\u2067',
  '\u2068',
  '\u2069',
];

describe('neutralizeLogText', () => {
  it.each(UNSAFE.map((c) => [`U+${c.charCodeAt(0).toString(16).padStart(4, '0')}`, c]))('turns %s into visible text', (_, c) => {
    const out = neutralizeLogText(`a${c}b`, 256);
    expect(out).not.toContain(c);
    expect(out).toMatch(/^a\\(x[0-9a-f]{2}|u[0-9a-f]{4})b$/);
  });

  it('shows a forged log line and an ANSI escape as text, and leaves ordinary Unicode alone', () => {
    expect(neutralizeLogText('eve\n{"type":"authn_login_success"}', 256)).toBe('eve\\x0a{"type":"authn_login_success"}');
    expect(neutralizeLogText('\u001b[31mred\u001b[0m', 256)).toBe('\\x1b[31mred\\x1b[0m');
    expect(neutralizeLogText('Zoë 🙂 東京 Mozilla/5.0 (X11; Linux x86_64)', 256)).toBe('Zoë 🙂 東京 Mozilla/5.0 (X11; Linux x86_64)');
  });

  it('replaces lone surrogates, which are not valid UTF-8 (a utf8mb4 column refuses them)', () => {
    expect(neutralizeLogText('a\ud800b\udc00c', 256)).toBe('a\ufffdb\ufffdc');
  });

  it('clips a long value to max characters with a marker, never splitting a surrogate pair, and is idempotent', () => {
    const long = neutralizeLogText('x'.repeat(1000), 64);
    expect(long).toHaveLength(64);
    expect(long.endsWith(CLIP_MARKER)).toBe(true);
    const emoji = neutralizeLogText('🙂'.repeat(100), 21);
    expect(emoji).toBe('🙂'.repeat(5) + CLIP_MARKER);
    // Escapes lengthen a value: the limit holds after them.
    const escaped = neutralizeLogText('\n'.repeat(100), 64);
    expect(escaped).toHaveLength(64);
    for (const value of [long, emoji, escaped, neutralizeLogText('a\u202eb', 10)]) expect(neutralizeLogText(value, 64)).toBe(value);
  });
});

describe('neutralizeEvent and the event bus', () => {
  const hostile = 'x\r\n{"type":"authn_login_success"}\u001b[2J\u2028\u202e';
  const event: SecurityEvent = {
    type: 'authn_login_fail',
    time: 1,
    level: 'WARN',
    outcome: 'failure',
    userId: hostile,
    sessionHandle: hostile,
    ip: hostile,
    userAgent: hostile + 'y'.repeat(5000),
    reason: hostile,
    detail: { [hostile]: hostile, n: 3, ok: true },
  };

  function strings(e: SecurityEvent): string[] {
    return [
      e.type,
      e.level,
      e.outcome,
      e.userId,
      e.sessionHandle,
      e.ip,
      e.userAgent,
      e.reason,
      ...Object.entries(e.detail ?? {}).flat(),
    ].filter((v): v is string => typeof v === 'string');
  }

  it('neutralises every string field and detail key, keeps numbers and booleans', () => {
    const out = neutralizeEvent(event);
    for (const value of strings(out)) for (const c of UNSAFE) expect(value).not.toContain(c);
    expect(out.userAgent).toHaveLength(256);
    expect(out.ip!.length).toBeLessThanOrEqual(64);
    expect(out.detail).toMatchObject({ n: 3, ok: true });
    expect(neutralizeEvent(out)).toEqual(out);
  });

  it('is applied by the bus before any sink sees the event', () => {
    const seen: SecurityEvent[] = [];
    new SecurityEventBus([{ handle: (e) => void seen.push(e) }]).emit(event);
    expect(seen[0]).toEqual(neutralizeEvent(event));
    expect(seen[0].userId).toBe('x\\x0d\\x0a{"type":"authn_login_success"}\\x1b[2J\\u2028\\u202e');
  });
});

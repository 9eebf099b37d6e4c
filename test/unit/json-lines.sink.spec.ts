import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { JsonLinesEventSink } from '../../lib/events/json-lines.sink';

describe('JsonLinesEventSink', () => {
  it('writes one JSON object per line; a newline in a field cannot forge a second line', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'nsk-sink-')), 'security.jsonl');
    const sink = new JsonLinesEventSink(path);
    sink.handle({
      type: 'authn_login_fail',
      time: 0,
      level: 'WARN',
      outcome: 'failure',
      userId: 'eve\n{"type":"authn_login_success"}',
      userAgent: 'x\r\ny',
    });
    await sink.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({
      type: 'authn_login_fail',
      timestamp: '1970-01-01T00:00:00.000Z',
      userId: 'eve\\x0a{"type":"authn_login_success"}',
      userAgent: 'x\\x0d\\x0ay',
    });
  });

  it('keeps one event per line for every line breaker, escape and bidi control, even without the event bus', () => {
    const stream = new PassThrough();
    let written = '';
    stream.on('data', (chunk: Buffer) => (written += chunk.toString('utf8')));
    const sink = new JsonLinesEventSink(stream);
    const hostile = 'a\r\nb\u2028c\u2029d\u0085e\u001b[2J\u001b]0;title\u0007\u202eexe.txt\u2066f\u0000';
    sink.handle({
      type: 'authn_login_fail',
      time: 0,
      level: 'WARN',
      outcome: 'failure',
      userId: hostile,
      reason: hostile,
      detail: { [hostile]: hostile },
    });
    sink.handle({ type: 'authn_login_fail', time: 0, level: 'WARN', outcome: 'failure', userAgent: 'x'.repeat(10_000) });
    expect(written.split('\n')).toHaveLength(3); // two lines and the empty tail
    // eslint-disable-next-line no-control-regex
    expect(written).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069](?<!\n)/u);
    const [first, second] = written
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(first.userId).toBe('a\\x0d\\x0ab\\u2028c\\u2029d\\x85e\\x1b[2J\\x1b]0;title\\x07\\u202eexe.txt\\u2066f\\x00');
    expect(second.userAgent).toHaveLength(256);
    expect(second.userAgent.endsWith('…[clipped]')).toBe(true);
  });

  it('refuses an unwritable path at construction with a message naming it', () => {
    expect(() => new JsonLinesEventSink('/nonexistent-dir/x/security.jsonl')).toThrow(
      /cannot open security log "\/nonexistent-dir\/x\/security.jsonl"/,
    );
  });

  it('reports later write errors instead of crashing', () => {
    const stream = new PassThrough();
    const errors: Error[] = [];
    new JsonLinesEventSink(stream, (e) => errors.push(e));
    stream.emit('error', new Error('ENOSPC'));
    expect(errors.map((e) => e.message)).toEqual(['ENOSPC']);
  });
});

describe('JsonLinesEventSink file mode', () => {
  it('creates the log readable by its owner only', async () => {
    const { statSync } = await import('node:fs');
    const path = join(mkdtempSync(join(tmpdir(), 'nsk-sink-')), 'mode.jsonl');
    const sink = new JsonLinesEventSink(path);
    await sink.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });
});

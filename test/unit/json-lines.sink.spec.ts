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
      userId: 'eve\n{"type":"authn_login_success"}',
    });
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

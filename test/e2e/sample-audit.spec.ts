/**
 * The audit trail of the sample app, end to end: what the security events carry (LG-01..03), that no secret reaches
 * either sink (LG-04), that hostile input cannot forge or hide a log line (LG-05), and the admin view of the audit
 * table (`GET /admin/events`, the `/admin` page's events section).
 *
 * Every request goes through `SampleClient`, as a browser would send it.
 */
import { generateSync } from 'otplib';
import { DataSource } from 'typeorm';
import { SECURITY_EVENT_TYPES, SecurityEventLevel } from '../../lib';
import { hashToken } from '../../lib/core/token';
import type { StoredSecurityEvent } from '../../lib/events/typeorm';
import { PASSWORDS, SampleClient, SampleHarness, settle, startSample, totpCode } from './sample-helpers';

jest.setTimeout(60_000);

/** Control characters, C1 controls, line separators and bidi controls: none may reach a sink as itself. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

/** The audit table as stored, every column of every row, as text: what a database dump would show. */
async function auditTableDump(sample: SampleHarness): Promise<string> {
  await sample.auditEvents(); // flushes the sink
  return JSON.stringify(await sample.app.get(DataSource).query('SELECT * FROM nsk_audit_event'));
}

/** The JSON-lines log as parsed events (every line must be one JSON object). */
function logEvents(sample: SampleHarness): Record<string, unknown>[] {
  return sample
    .securityLog()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('sample app: security event metadata and secrets (LG-01..LG-04)', () => {
  let sample: SampleHarness;
  let startedAt: number;
  /** Everything secret this run sees: each must be absent from the log and the audit table. */
  const secrets = new Set<string>();
  /** The user agent of every client of the run, by name. */
  const agents = new Map<string, string>();

  function client(name: string): SampleClient {
    const ua = `audit-${name}/1.0 (flows)`;
    agents.set(name, ua);
    const c = sample.client(ua);
    // Every session token the client ever holds, and every CSRF token it is given.
    const send = c.send.bind(c);
    c.send = async (...args: Parameters<SampleClient['send']>) => {
      const res = await send(...args);
      if (c.token) secrets.add(c.token);
      if (args[1] === '/auth/csrf' && typeof res.body?.token === 'string') secrets.add(res.body.token);
      return res;
    };
    return c;
  }

  let events: StoredSecurityEvent[];

  beforeAll(async () => {
    sample = await startSample({ SESSION_MAX_CONCURRENT: '2' });
    startedAt = sample.clock.now();
    for (const password of Object.values(PASSWORDS)) secrets.add(password);

    // Sign-in: a wrong password, an unknown user, then success; a CSRF token before and after.
    const alice = client('alice');
    await alice.get('/auth/csrf');
    secrets.add('wrong-password-audit-1');
    expect((await alice.post('/auth/login', { username: 'alice', password: 'wrong-password-audit-1' })).status).toBe(401);
    expect((await alice.post('/auth/login', { username: 'nobody-audit', password: 'wrong-password-audit-1' })).status).toBe(401);
    await alice.login('alice');
    await alice.get('/auth/csrf');
    await alice.get('/me');
    // Re-authentication, then a password change (a failed one first).
    await alice.reauth('alice');
    const NEW_PASSWORD = 'plum-orbit-7-kettle-audit';
    secrets.add(NEW_PASSWORD);
    expect(
      (
        await alice.post('/account/password', {
          currentPassword: 'wrong-password-audit-1',
          newPassword: NEW_PASSWORD,
          signOutOthers: false,
        })
      ).status,
    ).toBe(400);
    const changed = await alice.post('/account/password', {
      currentPassword: PASSWORDS.alice,
      newPassword: NEW_PASSWORD,
      signOutOthers: false,
    });
    expect([changed.status, changed.body]).toEqual([204, {}]);

    // TOTP enrolment: the secret, the codes and the recovery codes are secrets.
    await alice.post('/auth/reauth', { password: NEW_PASSWORD });
    const start = await alice.post('/account/mfa/totp');
    expect(start.status).toBe(200);
    const totpSecret: string = start.body.secret;
    secrets.add(totpSecret);
    const codeNow = (): string => generateSync({ secret: totpSecret, epoch: Math.floor(sample.clock.now() / 1000) });
    expect((await alice.post('/account/mfa/totp/confirm', { code: '000000' })).status).toBe(401);
    const confirmCode = codeNow();
    secrets.add(confirmCode);
    const confirm = await alice.post('/account/mfa/totp/confirm', { code: confirmCode });
    expect(confirm.status).toBe(200);
    const recoveryCodes: string[] = confirm.body.recoveryCodes;
    for (const code of recoveryCodes) secrets.add(code);
    expect((await alice.post('/auth/logout')).status).toBe(204);

    // Sign-in with a wrong second factor, then a recovery code.
    const phone = client('alice-phone');
    expect((await phone.post('/auth/login', { username: 'alice', password: NEW_PASSWORD })).body.mfaRequired).toBe(true);
    expect((await phone.post('/auth/mfa', { code: '000000' })).status).toBe(401);
    expect((await phone.post('/auth/mfa', { code: recoveryCodes[0] })).status).toBe(200);

    // Carol signs in with TOTP; a code used twice is a replay.
    sample.clock.advance(30_000);
    const carol = client('carol');
    const carolCode = totpCode(sample.clock.now());
    secrets.add(carolCode);
    expect((await carol.post('/auth/login', { username: 'carol', password: PASSWORDS.carol })).body.mfaRequired).toBe(true);
    expect((await carol.post('/auth/mfa', { code: carolCode })).status).toBe(200);
    const replay = client('carol-replay');
    expect((await replay.post('/auth/login', { username: 'carol', password: PASSWORDS.carol })).body.mfaRequired).toBe(true);
    expect((await replay.post('/auth/mfa', { code: carolCode })).status).toBe(401);

    // A user on an admin route; an admin revoking a user's sessions and reading the events.
    expect((await phone.get('/admin/users')).status).toBe(403);
    const bob = client('bob');
    await bob.login('bob');
    const users = (await bob.get('/admin/users')).body as { id: string; username: string }[];
    const carolId = users.find((u) => u.username === 'carol')!.id;
    expect((await bob.post(`/admin/users/${carolId}/sessions/revoke`)).status).toBe(200);
    expect((await bob.get('/admin/events?limit=5')).status).toBe(200);
    await bob.reauth('bob');
    expect((await bob.put(`/admin/users/${carolId}/roles`, { roles: ['user'] })).status).toBe(200);

    // Bob ends one of his other sessions, then goes over his session limit (2): the oldest session is evicted.
    const bob2 = client('bob-2');
    await bob2.login('bob');
    const other = ((await bob.get('/sessions')).body as { handle: string; current: boolean }[]).find((s) => !s.current)!;
    expect((await bob.delete(`/sessions/${other.handle}`)).status).toBe(204);
    await client('bob-3').login('bob');
    await client('bob-4').login('bob');

    // Alice removes TOTP from her phone's session (a fresh re-authentication with a new code first).
    sample.clock.advance(30_000);
    const removeCode = codeNow();
    secrets.add(removeCode);
    expect((await phone.post('/auth/reauth', { password: NEW_PASSWORD, code: removeCode })).status).toBe(200);
    expect((await phone.delete('/account/mfa/totp')).status).toBe(204);

    // Alice's phone stays idle past the timeout, then comes back.
    sample.clock.advance(sample.config.session.idleTimeoutMs + 1000);
    expect((await phone.get('/me')).status).toBe(401);

    events = await sample.auditEvents();
  });

  afterAll(async () => {
    await sample?.close();
  });

  /**
   * What each event type of the flows above must carry: its level and outcome, and whether it names the user and the
   * session. `user: 'some'` where the event may be about nobody known (an unknown username).
   */
  const EXPECTED: Record<
    string,
    { level: SecurityEventLevel[]; outcome: ('success' | 'failure')[]; user: boolean | 'some'; session: boolean | 'some' }
  > = {
    // A failed password never has a session (the sign-in did not start one).
    authn_login_fail: { level: ['WARN'], outcome: ['failure'], user: 'some', session: false },
    authn_login_success: { level: ['INFO'], outcome: ['success'], user: true, session: true },
    authn_password_change: { level: ['INFO', 'WARN'], outcome: ['success'], user: true, session: true },
    authn_password_change_fail: { level: ['WARN'], outcome: ['failure'], user: true, session: true },
    session_created: { level: ['INFO'], outcome: ['success'], user: true, session: true },
    session_renewed: { level: ['INFO'], outcome: ['success'], user: true, session: true },
    session_logout: { level: ['INFO'], outcome: ['success'], user: true, session: true },
    session_expired: { level: ['INFO', 'WARN'], outcome: ['success', 'failure'], user: true, session: true },
    session_use_after_expire: { level: ['WARN', 'CRITICAL'], outcome: ['failure'], user: true, session: true },
    excess_sessions_exceeded: { level: ['WARN', 'INFO'], outcome: ['success', 'failure'], user: true, session: 'some' },
    authz_fail: { level: ['WARN'], outcome: ['failure'], user: true, session: true },
    authz_admin: { level: ['WARN'], outcome: ['success'], user: true, session: true },
    session_revoked: { level: ['INFO', 'WARN'], outcome: ['success'], user: true, session: true },
    // About the user, not one session: every live session of the user gets the new roles.
    authz_change: { level: ['INFO'], outcome: ['success'], user: true, session: false },
    mfa_enrollment_started: { level: ['INFO'], outcome: ['success'], user: true, session: true },
    mfa_enrollment_fail: { level: ['WARN'], outcome: ['failure'], user: true, session: true },
    mfa_removed: { level: ['WARN'], outcome: ['success'], user: true, session: true },
    mfa_enrolled: { level: ['INFO'], outcome: ['success'], user: true, session: true },
    mfa_challenge_fail: { level: ['WARN'], outcome: ['failure'], user: true, session: true },
    mfa_reuse: { level: ['CRITICAL'], outcome: ['failure'], user: true, session: true },
    mfa_recovery_code_used: { level: ['WARN'], outcome: ['success'], user: true, session: true },
    // The anomaly detector (SESSION_BINDING=monitor by default): the flows sign in with several user agents.
    authn_login_new_device: { level: ['INFO'], outcome: ['success'], user: true, session: true },
  };

  it('emits every event type of the table in these flows, and no type the table does not describe', () => {
    const emitted = [...new Set(events.map((e) => e.type))].sort();
    expect(emitted).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.keys(EXPECTED))('%s carries time, level, outcome, user, session handle, IP and user agent', (type) => {
    const expected = EXPECTED[type];
    const ofType = events.filter((e) => e.type === type);
    expect(ofType.length).toBeGreaterThan(0);
    const knownAgents = [...agents.values()];
    for (const e of ofType) {
      const where = `${type} #${e.id} ${JSON.stringify(e)}`;
      expect({ where, ok: (SECURITY_EVENT_TYPES as readonly string[]).includes(e.type) }).toEqual({ where, ok: true });
      expect({ where, time: e.time >= startedAt && e.time <= sample.clock.now() }).toEqual({ where, time: true });
      expect({ where, level: expected.level.includes(e.level) }).toEqual({ where, level: true });
      expect({ where, outcome: expected.outcome.includes(e.outcome) }).toEqual({ where, outcome: true });
      if (expected.user === true) expect({ where, user: e.userId }).toEqual({ where, user: expect.stringMatching(/^[0-9a-f-]{36}$/) });
      if (expected.session === true)
        expect({ where, session: e.sessionHandle }).toEqual({ where, session: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/) });
      expect({ where, ip: e.ip }).toEqual({ where, ip: expect.stringMatching(/^(::ffff:)?127\.0\.0\.1$/) });
      expect({ where, ua: knownAgents.includes(e.userAgent ?? '') }).toEqual({ where, ua: true });
    }
    // Where a field is only sometimes known, it is still there at least once.
    if (expected.user === 'some') expect(ofType.some((e) => e.userId !== undefined)).toBe(true);
    if (expected.session === 'some') expect(ofType.some((e) => e.sessionHandle !== undefined)).toBe(true);
  });

  it('the JSON-lines log holds the same events, one per line, with the same metadata', async () => {
    // The file sink writes through a stream: its last lines may still be on their way to the file.
    for (let waited = 0; logEvents(sample).length < events.length && waited < 5000; waited += 20) await settle(20);
    const logged = logEvents(sample);
    expect(logged.map((e) => e.type)).toEqual(events.map((e) => e.type));
    for (const [i, e] of events.entries()) {
      const { id: _id, ...fields } = e;
      expect(logged[i]).toMatchObject({ ...fields, timestamp: new Date(e.time).toISOString() });
    }
  });

  it('no secret of the run (session tokens and their hashes, passwords, TOTP secret and codes, recovery codes, CSRF tokens) is in the log or the audit table', async () => {
    const sinks = { log: sample.securityLog(), audit: await auditTableDump(sample) };
    expect(secrets.size).toBeGreaterThan(25);
    const tokens = [...secrets].filter((s) => /^[A-Za-z0-9_-]{40,}$/.test(s));
    expect(tokens.length).toBeGreaterThan(5);
    const leaks: string[] = [];
    for (const secret of [...secrets, ...tokens.map(hashToken)]) {
      for (const [sink, text] of Object.entries(sinks)) if (text.includes(secret)) leaks.push(`${sink}: ${secret}`);
    }
    expect(leaks).toEqual([]);
  });
});

describe('sample app: hostile input in the security log and the audit table (LG-05)', () => {
  let sample: SampleHarness;

  beforeAll(async () => {
    sample = await startSample();
  });

  afterAll(async () => {
    await sample?.close();
  });

  it('a forged line in a username or user agent stays inside one event, shown as text, in both sinks', async () => {
    const forged = '{"type":"authn_login_success","level":"INFO","outcome":"success","userId":"bob"}';
    // HTTP allows TAB and the bytes 0x80-0xFF in a header: the 8-bit CSI (0x9B) starts an ANSI escape on a terminal,
    // and NEL (0x85) is a line break to many readers.
    const agent = `evil\t\u009b31mRED\u009b0m\u0085${forged}\u00ff${'x'.repeat(400)}`;
    const eve = sample.client(agent);
    const before = logEvents(sample).length;
    await eve.post('/auth/login', { username: `alice\n${forged}`, password: 'wrong\r\npassword' });
    await eve.post('/auth/login', { username: 'alice', password: `wrong\n${forged}` });
    await eve.post('/auth/login', { username: `nobody\u2028${forged}\u202e`, password: 'x' });
    const audit = (await sample.auditEvents()).slice(-3);
    const logged = logEvents(sample).slice(before);

    // Three attempts, three events in each sink, none of them a success.
    expect(logged.map((e) => e.type)).toEqual(audit.map((e) => e.type));
    expect(audit.length).toBeGreaterThan(0);
    expect(audit.every((e) => e.type === 'authn_login_fail')).toBe(true);
    expect(sample.securityLog().split('\n').filter(Boolean)).toHaveLength(before + logged.length);
    for (const e of [...audit, ...logged]) {
      const ua = e.userAgent as string;
      // The client sends the header as UTF-8 and Node reads header bytes as latin1: U+009B arrives as 'Â' and the C1 CSI.
      expect(ua.startsWith('evil\\x09Â\\x9b31mREDÂ\\x9b0mÂ\\x85{"type":"authn_login_success"')).toBe(true);
      expect(ua).toHaveLength(256);
      expect(ua.endsWith('…[clipped]')).toBe(true);
      for (const value of Object.values(e)) if (typeof value === 'string') expect(value).not.toMatch(UNSAFE);
    }
    for (const line of sample.securityLog().split('\n')) expect(line).not.toMatch(UNSAFE);
    expect(await auditTableDump(sample)).not.toMatch(/[\u0085\u009b\u2028\u202e\t\r\n]/);
  });

  it('the /admin page shows a hostile user agent as text', async () => {
    const probe = '<script>alert("ua")</script><img src=x onerror=alert(1)>';
    await sample.client(probe).post('/auth/login', { username: 'alice', password: 'wrong-password-probe' });
    const bob = sample.client();
    await bob.login('bob');
    const page = await bob.get('/admin', { Accept: 'text/html' });
    expect(page.status).toBe(200);
    expect(page.text).toContain('&lt;script&gt;alert(&quot;ua&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(page.text).not.toContain(probe);
  });
});

describe('sample app: the admin view of the audit trail', () => {
  let sample: SampleHarness;
  let bob: SampleClient;
  let ids: Record<string, string>;

  beforeAll(async () => {
    sample = await startSample();
    bob = sample.client('admin-view');
    await bob.login('bob');
    ids = Object.fromEntries(((await bob.get('/admin/users')).body as { id: string; username: string }[]).map((u) => [u.username, u.id]));
    const alice = sample.client('alice-view');
    await alice.post('/auth/login', { username: 'alice', password: 'wrong-password-view' });
    await alice.login('alice');
    await alice.post('/auth/logout');
  });

  afterAll(async () => {
    await sample?.close();
  });

  it('GET /admin/events answers from the audit table, newest first, filtered, with the events of this very moment', async () => {
    const all = await bob.get('/admin/events?limit=500');
    expect(all.status).toBe(200);
    const times = all.body.map((e: StoredSecurityEvent) => e.time);
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(all.body).toEqual(await sample.auditEvents().then((events) => events.reverse()));
    const aliceFails = await bob.get(`/admin/events?userId=${ids.alice}&type=authn_login_fail`);
    expect(aliceFails.body).toEqual([
      expect.objectContaining({ type: 'authn_login_fail', userId: ids.alice, reason: 'wrong_password', userAgent: 'alice-view' }),
    ]);
    const logouts = await bob.get('/admin/events?type=session_logout&limit=1');
    expect(logouts.body).toEqual([expect.objectContaining({ type: 'session_logout', userId: ids.alice })]);
  });

  it.each([
    ['type=nope', 'type'],
    ['type=authn_login_fail%0a', 'type'],
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['limit=ten', 'limit'],
    ['userId=alice', 'userId'],
  ])('GET /admin/events?%s is 400 VALIDATION_FAILED naming %s', async (query, field) => {
    const res = await bob.get(`/admin/events?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(JSON.stringify(res.body)).toContain(field);
  });

  it('the /admin page lists the events and filters them by user and type with a plain form', async () => {
    const page = await bob.get('/admin', { Accept: 'text/html' });
    expect(page.text).toContain('data-testid="admin-events-filter"');
    expect(page.text).toMatch(/<form method="get" action="\/admin"/);
    // The events section has no script of its own; every script on the page carries the nonce.
    for (const tag of page.text.match(/<script[^>]*>/g) ?? []) expect(tag).toMatch(/nonce="[^"]+"/);
    expect(page.text.match(/data-testid="admin-event-row"/g)!.length).toBeGreaterThan(3);

    const filtered = await bob.get(`/admin?userId=${ids.alice}&type=authn_login_fail`, { Accept: 'text/html' });
    const types = [...filtered.text.matchAll(/data-testid="admin-event-type">([a-z_]+)</g)].map((m) => m[1]);
    expect(types).toEqual(['authn_login_fail']);
    expect(filtered.text).toContain('data-testid="admin-event-user">alice<');
    expect(filtered.text).toContain(`<option value="${ids.alice}" selected>alice</option>`);
    expect(filtered.text).toContain('<option value="authn_login_fail" selected>authn_login_fail</option>');

    const invalid = await bob.get('/admin?userId=nobody&type=nope', { Accept: 'text/html' });
    expect(invalid.status).toBe(200);
    expect(invalid.text).toContain('Ignored an invalid filter: user, event type.');
  });
});

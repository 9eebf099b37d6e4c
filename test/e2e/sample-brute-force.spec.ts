/**
 * The sample's brute-force defence over HTTP (BF-01..BF-07, BI-02, AV-03, AV-06), on the contract's defaults unless
 * a test says otherwise: a progressive delay, a CAPTCHA step after 3 failures, a lock after 10 for 15 minutes
 * (429 TOO_MANY_ATTEMPTS with Retry-After), unlocked by moving the app's ManualClock, never by sleeping.
 *
 * Each test starts its own app, so counters never leak between tests. Clients that must count as different machines
 * send X-Forwarded-For through a trusted loopback proxy (TRUST_PROXY=loopback).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import type { Response } from 'supertest';
import { SessionStore } from '../../lib';
import { PrivateRedis, freePort } from '../support/private-redis';
import { BRUTE_FORCE_DEFAULTS, PASSWORDS, SampleClient, SampleHarness, settle, startSample } from './sample-helpers';

jest.setTimeout(60_000);

const MIN = 60_000;
let sample: SampleHarness | undefined;

afterEach(async () => {
  await sample?.close();
  sample = undefined;
});

async function start(env: Record<string, string> = {}): Promise<SampleHarness> {
  sample = await startSample({ ...BRUTE_FORCE_DEFAULTS, TRUST_PROXY: 'loopback', ...env });
  return sample;
}

/** A client on its own (forwarded) address. */
function machine(
  app: SampleHarness,
  ip: string,
): { client: SampleClient; login: (username: string, password: string, captcha?: string) => Promise<Response> } {
  const client = app.client();
  return {
    client,
    login: (username, password, captcha) =>
      client.post('/auth/login', { username, password, ...(captcha ? { captcha } : {}) }, { 'X-Forwarded-For': ip }),
  };
}

/**
 * Solves an ALTCHA challenge (the number n with SHA-256(salt + n) = challenge) as the login page does, and encodes
 * the payload for the `captcha` field. Synchronous hashing: the test's own speed, not the browser's.
 */
function solve(challenge: { algorithm: string; challenge: string; salt: string; signature: string; maxnumber: number }): string {
  for (let n = 0; n <= challenge.maxnumber; n++) {
    if (
      createHash('sha256')
        .update(challenge.salt + n)
        .digest('hex') === challenge.challenge
    ) {
      const payload = {
        algorithm: challenge.algorithm,
        challenge: challenge.challenge,
        number: n,
        salt: challenge.salt,
        signature: challenge.signature,
      };
      return Buffer.from(JSON.stringify(payload)).toString('base64');
    }
  }
  throw new Error('challenge not solvable');
}

function events(app: SampleHarness, type: string): Record<string, unknown>[] {
  return app
    .securityLog()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((e) => e.type === type);
}

describe('sample app: brute-force defence of POST /auth/login', () => {
  it('delays, then asks for a CAPTCHA, then locks for LOCKOUT_DURATION with Retry-After; time unlocks it and a success resets the count', async () => {
    const app = await start();
    const m = machine(app, '203.0.113.10');
    // Two typos are free; the third failure starts the progressive delay (1 s, then 2 s, 4 s... up to 30 s).
    for (let n = 1; n <= 3; n++) expect((await m.login('alice', `wrong-${n}`)).body.code).toBe('INVALID_CREDENTIALS');
    // Three failures: a CAPTCHA solution is needed. Without one no password is checked, so the challenge comes at
    // once, even inside the delay, and asking for it is not counted as a failure.
    const asked = await m.login('alice', PASSWORDS.alice);
    expect(asked.status).toBe(401);
    expect(asked.body).toMatchObject({ code: 'CAPTCHA_REQUIRED', challenge: { algorithm: 'SHA-256' } });
    let captcha = solve(asked.body.challenge);
    // A solved attempt inside the delay waits (429 with Retry-After); its solution is not used up.
    const early = await m.login('alice', PASSWORDS.alice, captcha);
    expect(early.status).toBe(429);
    expect(early.body).toMatchObject({ statusCode: 429, code: 'TOO_MANY_ATTEMPTS' });
    expect(early.headers['retry-after']).toBe('1');
    app.clock.advance(1000);
    expect((await m.login('alice', PASSWORDS.alice, 'bm90IGEgc29sdXRpb24=')).body.code).toBe('CAPTCHA_REQUIRED');
    expect((await m.login('alice', 'wrong-4', captcha)).body.code).toBe('INVALID_CREDENTIALS');
    app.clock.advance(4000);
    // Single use: the same solution again is refused.
    const replay = await m.login('alice', PASSWORDS.alice, captcha);
    expect(replay.body.code).toBe('CAPTCHA_REQUIRED');
    // Failures 5 to 10, each after its delay and with a fresh solution.
    let challenge = replay.body.challenge;
    for (let n = 5; n <= 10; n++) {
      captcha = solve(challenge);
      const res = await m.login('alice', `wrong-${n}`, captcha);
      expect(res.body.code).toBe('INVALID_CREDENTIALS');
      app.clock.advance(30_000);
      if (n < 10) challenge = (await m.login('alice', 'x')).body.challenge;
    }
    // Locked: 429 with the wait, even for the right password with a valid solution.
    const locked = await m.login('alice', PASSWORDS.alice, captcha);
    expect(locked.status).toBe(429);
    expect(locked.body.code).toBe('TOO_MANY_ATTEMPTS');
    const wait = Number(locked.headers['retry-after']);
    expect(wait).toBeGreaterThan(14 * 60 - 1);
    expect(wait).toBeLessThanOrEqual(15 * 60);
    expect(locked.body.retryAfter).toBe(wait);
    // A day-old session of alice elsewhere is untouched by all this.
    app.clock.advance(wait * 1000);
    const after = await m.login('alice', PASSWORDS.alice);
    expect(after.body.code).toBe('CAPTCHA_REQUIRED');
    expect((await m.login('alice', PASSWORDS.alice, solve(after.body.challenge))).status).toBe(200);
    // The success reset the account's and the client's counts: a typo now is a plain 401, no CAPTCHA, no wait.
    expect((await m.login('alice', 'typo')).body.code).toBe('INVALID_CREDENTIALS');
    expect((await m.login('alice', PASSWORDS.alice)).status).toBe(200);

    await app.close();
    const max = events(app, 'authn_login_fail_max');
    expect(max).toHaveLength(1);
    expect(max[0]).toMatchObject({ level: 'WARN', reason: 'captcha', ip: '203.0.113.10', detail: { scope: 'login', account: 'alice' } });
    const lock = events(app, 'authn_login_lock');
    expect(lock).toHaveLength(1);
    expect(lock[0]).toMatchObject({
      level: 'CRITICAL',
      reason: 'maxretries',
      detail: { scope: 'login', account: 'alice', accountFailures: 10 },
    });
    expect(events(app, 'excess_rate_limit_exceeded').length).toBeGreaterThan(0);
    expect(app.securityLog()).not.toMatch(/wrong-\d|correct-horse/);
  });

  it('counts per IP too (password spraying): three accounts failed from one address need a CAPTCHA for a fourth', async () => {
    const app = await start();
    const m = machine(app, '203.0.113.20');
    for (const username of ['alice', 'bob', 'nobody']) expect((await m.login(username, 'spray-1')).body.code).toBe('INVALID_CREDENTIALS');
    expect((await m.login('carol', 'spray-1')).body.code).toBe('CAPTCHA_REQUIRED');
    // Another address is not held.
    expect((await machine(app, '203.0.113.21').login('carol', 'spray-1')).body.code).toBe('INVALID_CREDENTIALS');
  });

  it('cannot be used to lock a victim out (BF-03): a client that signed in from its address before is held only by its own failures', async () => {
    const app = await start({ CAPTCHA_AFTER_FAILURES: '0', LOGIN_DELAY: '0' });
    const victim = machine(app, '198.51.100.5');
    expect((await victim.login('bob', PASSWORDS.bob)).status).toBe(200);
    const attacker = machine(app, '203.0.113.66');
    for (let n = 1; n <= 10; n++) expect((await attacker.login('bob', `guess-${n}`)).status).toBe(401);
    expect((await attacker.login('bob', PASSWORDS.bob)).status).toBe(429);
    // A device bob never used waits out the lock like the attacker (at most LOCKOUT_DURATION)...
    expect((await machine(app, '198.51.100.99').login('bob', PASSWORDS.bob)).status).toBe(429);
    // ...but bob's session is untouched, and he can still sign in from the address he used before.
    expect((await victim.client.get('/me')).status).toBe(200);
    expect((await victim.login('bob', PASSWORDS.bob)).status).toBe(200);
    // That success reset the account's count (BF-01): the new device is not held any more either.
    expect((await machine(app, '198.51.100.99').login('bob', PASSWORDS.bob)).status).toBe(200);
  });
});

describe('sample app: no user enumeration at sign-in (BF-06)', () => {
  it('answers an unknown user with the same status, body and headers as a wrong password', async () => {
    const app = await start({ CAPTCHA_AFTER_FAILURES: '0', LOGIN_DELAY: '0', LOCKOUT_THRESHOLD: '100' });
    const wrong = await machine(app, '192.0.2.1').login('alice', 'not-her-password');
    const unknown = await machine(app, '192.0.2.2').login('no-such-user', 'not-her-password');
    expect(unknown.status).toBe(wrong.status);
    expect(unknown.body).toEqual(wrong.body);
    const comparable = (res: Response) => {
      const headers = { ...res.headers } as Record<string, string>;
      delete headers.date;
      headers['content-security-policy'] = headers['content-security-policy']?.replace(/'nonce-[^']+'/, "'nonce-N'");
      return headers;
    };
    expect(comparable(unknown)).toEqual(comparable(wrong));
    expect(unknown.headers['set-cookie']).toBeUndefined();
  });

  it('takes as long for an unknown user as for a wrong password (medians within 50 % or 25 ms)', async () => {
    const app = await start({ CAPTCHA_AFTER_FAILURES: '0', LOGIN_DELAY: '0', LOCKOUT_THRESHOLD: '100' });
    const time = async (username: string, i: number) => {
      const started = process.hrtime.bigint();
      await machine(app, `192.0.2.${10 + i}`).login(username, 'not-the-password');
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 12; i++) {
      known.push(await time('alice', i));
      unknown.push(await time(`ghost-${i}`, i + 100));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const difference = Math.abs(median(known) - median(unknown));
    expect(difference).toBeLessThan(Math.max(0.5 * median(known), 25));
  });
});

describe('sample app: client IP (BI-02)', () => {
  it('counts the socket address: a spoofed X-Forwarded-For changes nothing without TRUST_PROXY', async () => {
    sample = await startSample({ ...BRUTE_FORCE_DEFAULTS });
    const client = sample.client();
    for (let n = 1; n <= 3; n++) {
      const res = await client.post('/auth/login', { username: 'alice', password: `wrong-${n}` }, { 'X-Forwarded-For': `203.0.113.${n}` });
      expect(res.body.code).toBe('INVALID_CREDENTIALS');
      sample.clock.advance(5000);
    }
    const fresh = sample.client();
    const res = await fresh.post('/auth/login', { username: 'bob', password: 'x' }, { 'X-Forwarded-For': '198.51.100.200' });
    expect(res.body.code).toBe('CAPTCHA_REQUIRED');
    await sample.close();
    const failures = events(sample, 'authn_login_fail_max');
    expect(failures[0]).toMatchObject({ ip: expect.stringMatching(/127\.0\.0\.1$/) });
  });
});

describe('sample app: other secret-checking routes (BF-07)', () => {
  it('limits re-authentication per user across sessions: new sign-ins buy no new guesses', async () => {
    const app = await start({ LOCKOUT_THRESHOLD: '3' });
    const first = app.client();
    await first.login('alice');
    for (let n = 1; n <= 3; n++)
      expect((await first.post('/auth/reauth', { password: `wrong-${n}` })).body.code).toBe('INVALID_CREDENTIALS');
    const refused = await first.post('/auth/reauth', { password: PASSWORDS.alice });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    const second = app.client();
    await second.login('alice');
    expect((await second.post('/auth/reauth', { password: PASSWORDS.alice })).status).toBe(429);
    app.clock.advance(15 * MIN);
    await second.login('alice');
    expect((await second.post('/auth/reauth', { password: PASSWORDS.alice })).status).toBe(200);
    await app.close();
    expect(events(app, 'excess_rate_limit_exceeded').some((e) => (e.detail as Record<string, unknown>).scope === 'reauth')).toBe(true);
  });

  it('limits TOTP enrolment confirmation per user: wrong codes are counted, then 429', async () => {
    const app = await start({ LOCKOUT_THRESHOLD: '3' });
    const alice = app.client();
    await alice.login('alice');
    expect((await alice.post('/account/mfa/totp')).status).toBe(200);
    for (let n = 1; n <= 3; n++)
      expect((await alice.post('/account/mfa/totp/confirm', { code: '000000' })).body.code).toBe('INVALID_MFA_CODE');
    const refused = await alice.post('/account/mfa/totp/confirm', { code: '000000' });
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('TOO_MANY_ATTEMPTS');
  });

  it('limits session revocation: unknown handles are counted, then 429', async () => {
    const app = await start({ LOCKOUT_THRESHOLD: '3' });
    const alice = app.client();
    await alice.login('alice');
    for (let n = 1; n <= 3; n++) expect((await alice.delete(`/sessions/guess${n}`)).status).toBe(404);
    const refused = await alice.delete('/sessions/guess4');
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('TOO_MANY_ATTEMPTS');
  });
});

describe('sample app: session id guessing (SID-06)', () => {
  it('throttles a client sending many unknown or malformed session ids (429, one event), and no one with a valid session', async () => {
    const app = await start();
    const alice = app.client();
    await alice.login('alice');
    const guesser = app.client();
    const statuses: number[] = [];
    for (let i = 0; i < 52; i++) {
      guesser.sessionCookie = `${app.config.cookie.name}=${i % 2 ? randomBytes(32).toString('base64url') : 'not-a-token'}`;
      statuses.push((await guesser.get('/me')).status);
    }
    expect(statuses.slice(0, 49).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(49)).toEqual([429, 429, 429]);
    // Same address, valid session: untouched.
    expect((await alice.get('/me')).status).toBe(200);
    app.clock.advance(10 * MIN);
    guesser.sessionCookie = `${app.config.cookie.name}=not-a-token`;
    expect((await guesser.get('/me')).status).toBe(401);
    await app.close();
    const guessing = events(app, 'excess_rate_limit_exceeded').filter((e) => e.reason === 'session_guessing');
    expect(guessing).toHaveLength(1);
    expect(guessing[0]).toMatchObject({ level: 'CRITICAL', ip: expect.stringMatching(/127\.0\.0\.1$/) });
  });
});

describe('sample app: unauthenticated traffic stores no sessions (AV-06)', () => {
  it('creates no session record for failed logins, CSRF token fetches, anonymous pages or CAPTCHA challenges', async () => {
    const app = await start({ LOCKOUT_THRESHOLD: '100' });
    const store = app.app.get(SessionStore) as unknown as { size: number };
    const before = store.size;
    for (let i = 0; i < 20; i++) {
      const m = machine(app, `192.0.2.${50 + i}`);
      await m.client.get('/auth/csrf', { 'X-Forwarded-For': `192.0.2.${50 + i}` });
      await m.client.get('/login', { Accept: 'text/html' });
      for (let n = 0; n < 4; n++) await m.login(`user-${i}`, 'wrong');
      app.clock.advance(10_000);
    }
    expect(store.size).toBe(before);
  });
});

describe('sample app: brute-force counters on Redis', () => {
  let redis: PrivateRedis;

  beforeAll(async () => {
    redis = new PrivateRedis(await freePort(), true);
    await redis.start();
  });
  afterAll(async () => {
    await redis?.dispose();
  });

  it('costs a steady-state successful login one extra round trip: one MGET of its counters (MONITOR on a private Redis)', async () => {
    const app = await start({ SESSION_STORE: 'redis', REDIS_URL: redis.url });
    const alice = app.client();
    await alice.login('alice'); // first sign-in from this address: read, then mark the client as known
    const monitor = createClient({ url: redis.url });
    await monitor.connect();
    const seen: string[] = [];
    await monitor.monitor((line: string) => seen.push(line));
    await settle(50);
    seen.length = 0;
    await alice.login('alice');
    await settle(100);
    await monitor.close();
    const counterCommands = seen.filter((line) => line.includes(':attempts:'));
    expect(counterCommands).toHaveLength(1);
    expect(counterCommands[0]).toMatch(/"MGET"/i);
  });

  it('fails closed with 503 while the counter store is down, checking no password, and recovers by itself (AV-03)', async () => {
    const logged: string[] = [];
    const logger = { log: () => undefined, warn: (m: unknown) => logged.push(String(m)), error: (m: unknown) => logged.push(String(m)) };
    sample = await startSample({ ...BRUTE_FORCE_DEFAULTS, SESSION_STORE: 'redis', REDIS_URL: redis.url }, { logger });
    const app = sample;
    const alice = app.client();
    expect((await alice.login('alice')).status).toBe(200);
    await redis.signal('SIGTERM');
    const down = await app.client().post('/auth/login', { username: 'bob', password: PASSWORDS.bob });
    expect(down.status).toBe(503);
    expect(down.body.code).toBe('ATTEMPT_LIMITER_UNAVAILABLE');
    expect(down.headers['set-cookie']).toBeUndefined();
    expect(logged.some((line) => /Attempt counter store operation "read" failed: .*Failing closed with 503/.test(line))).toBe(true);
    await redis.start();
    const deadline = Date.now() + 15_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await app.client().post('/auth/login', { username: 'bob', password: PASSWORDS.bob })).status;
      if (status === 200) break;
      await settle(200);
    }
    expect(status).toBe(200);
  });
});

/**
 * The sample's SESSION_BINDING (off, monitor, strict with SESSION_BINDING_ACTION end or reauth) and the device view of
 * `/sessions`. The test client cannot change its socket address, so these apps run with `TRUST_PROXY=loopback` and
 * each request names its client in `X-Forwarded-For`, as a reverse proxy would; the addresses come from the
 * documentation ranges the sample's demo location table knows (192.0.2.0/24 "Paris", 198.51.100.0/24 "Sydney").
 */
import { PASSWORDS, SampleClient, SampleHarness, setCookieFor, settle, startSample } from './sample-helpers';

const CHROME_120 = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36';
const CHROME_121 = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.6167.85 Safari/537.36';
const FIREFOX_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0';
const PARIS = '192.0.2.10';
const PARIS_NEIGHBOUR = '192.0.2.200';
const SYDNEY = '198.51.100.7';
/** Carrier-grade NAT space (RFC 6598), as a phone on mobile data shows up: no known place. */
const MOBILE = '100.64.1.20';
const HTML = { Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
/** Keeps the brute-force defence (CAPTCHA, lockout) out of the way of the failed sign-ins these tests make on purpose. */
const LENIENT_LOGIN = { CAPTCHA_AFTER_FAILURES: '100', LOCKOUT_THRESHOLD: '100' };

const from = (ip: string): Record<string, string> => ({ 'X-Forwarded-For': ip });

/** Signs `client` in as alice from `ip`. */
async function loginFrom(client: SampleClient, ip: string): Promise<void> {
  const res = await client.post('/auth/login', { username: 'alice', password: PASSWORDS.alice }, from(ip));
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
}

/** The security log's events of these types, parsed. */
async function eventsOf(sample: SampleHarness, ...types: string[]): Promise<Record<string, unknown>[]> {
  await settle();
  return sample
    .securityLog()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((event) => types.includes(event.type as string));
}

/** A second client holding the same session cookie (a stolen cookie replayed elsewhere). */
function thiefOf(sample: SampleHarness, victim: SampleClient, userAgent = victim.userAgent): SampleClient {
  const thief = sample.client(userAgent);
  thief.sessionCookie = victim.sessionCookie;
  for (const [name, value] of victim.otherCookies) thief.otherCookies.set(name, value);
  return thief;
}

const ANOMALY_TYPES = ['session_binding_mismatch', 'session_ip_churn', 'session_concurrent_networks', 'authn_impossible_travel'];

describe('sample app: SESSION_BINDING', () => {
  describe('monitor (the default)', () => {
    let sample: SampleHarness;
    beforeAll(async () => {
      sample = await startSample({ TRUST_PROXY: 'loopback', ...LENIENT_LOGIN });
    });
    afterAll(() => sample.close());

    it('lets a replayed cookie through and logs it: another network, impossible travel, another device', async () => {
      const alice = sample.client(CHROME_120);
      await loginFrom(alice, PARIS);
      // Twenty minutes later (within the idle timeout), from the other side of the world.
      sample.clock.advance(20 * 60_000);
      const thief = thiefOf(sample, alice, FIREFOX_WINDOWS);
      expect((await thief.get('/me', from(SYDNEY))).status).toBe(200);
      expect((await alice.get('/me', from(PARIS))).status).toBe(200);
      const [travel] = await eventsOf(sample, 'authn_impossible_travel');
      expect(travel).toMatchObject({
        userId: expect.any(String),
        ip: SYDNEY,
        level: 'WARN',
        reason: 'impossible_travel',
        detail: {
          check: 'session-anomaly',
          signals: 'impossible_travel,ip_changed,user_agent_changed',
          action: 'recorded',
          fromPlace: expect.stringContaining('Paris'),
          toPlace: expect.stringContaining('Sydney'),
          toDevice: 'Firefox on Windows',
        },
      });
    });

    it('stays quiet for another address of the same network and a browser update', async () => {
      const alice = sample.client(CHROME_120);
      await loginFrom(alice, PARIS);
      const before = (await eventsOf(sample, ...ANOMALY_TYPES)).length;
      const updated = thiefOf(sample, alice, CHROME_121);
      expect((await updated.get('/me', from(PARIS_NEIGHBOUR))).status).toBe(200);
      expect(await eventsOf(sample, ...ANOMALY_TYPES)).toHaveLength(before);
    });

    it('logs authn_login_new_device when an account signs in from a browser it did not use before', async () => {
      await sample.client(CHROME_120).login('carol');
      sample.clock.advance(60_000);
      await sample.client(CHROME_121).login('carol');
      sample.clock.advance(60_000);
      expect(await eventsOf(sample, 'authn_login_new_device')).toEqual([]);
      await sample.client(FIREFOX_WINDOWS).login('carol');
      expect(await eventsOf(sample, 'authn_login_new_device')).toEqual([
        expect.objectContaining({
          userAgent: FIREFOX_WINDOWS,
          reason: 'new_device',
          detail: { device: 'Firefox on Windows', knownDevices: 1 },
        }),
      ]);
    });

    it('logs authn_login_successafterfail when a sign-in succeeds after five failures', async () => {
      const client = sample.client(CHROME_120);
      for (let i = 0; i < 5; i++) {
        const res = await client.post('/auth/login', { username: 'bob', password: 'wrong-password' }, from(PARIS));
        expect(res.status).toBe(401);
      }
      const ok = await client.post('/auth/login', { username: 'bob', password: PASSWORDS.bob }, from(PARIS));
      expect(ok.status).toBe(200);
      const events = await eventsOf(sample, 'authn_login_successafterfail');
      expect(events).toEqual([
        expect.objectContaining({
          ip: PARIS,
          level: 'WARN',
          reason: 'failures_before_success',
          detail: expect.objectContaining({ failures: 5 }),
        }),
      ]);
    });
  });

  describe('strict (SESSION_BINDING_ACTION end, the default)', () => {
    let sample: SampleHarness;
    beforeAll(async () => {
      sample = await startSample({ TRUST_PROXY: 'loopback', SESSION_BINDING: 'strict' });
    });
    afterAll(() => sample.close());

    it('ends the session when its cookie comes from another network: 401, cookie cleared, the owner signed out too', async () => {
      const alice = sample.client(CHROME_120);
      await loginFrom(alice, PARIS);
      const thief = thiefOf(sample, alice);
      const refused = await thief.get('/me', from(SYDNEY));
      expect(refused.status).toBe(401);
      expect(refused.body.code).toBe('SESSION_REQUIRED');
      expect(setCookieFor(refused, sample.config.cookie.name)).toMatch(/^[^=]+=;/);
      expect((await alice.get('/me', from(PARIS))).status).toBe(401);
      const events = await eventsOf(sample, 'session_binding_mismatch', 'authn_impossible_travel');
      expect(events.at(-1)).toMatchObject({ ip: SYDNEY, level: 'CRITICAL', detail: { action: 'ended' } });
    });

    it('ends the session when its cookie comes from another browser family', async () => {
      const alice = sample.client(CHROME_120);
      await loginFrom(alice, PARIS);
      expect((await thiefOf(sample, alice, FIREFOX_WINDOWS).get('/me', from(PARIS))).status).toBe(401);
      expect((await alice.get('/me', from(PARIS))).status).toBe(401);
    });

    it('ends it for any other user agent the parser does not know, as long as more than its version changed', async () => {
      const scripted = sample.client('Mozilla/5.0 TestAgent-A/1.0');
      await loginFrom(scripted, PARIS);
      expect((await thiefOf(sample, scripted, 'Mozilla/5.0 TestAgent-A/1.1').get('/me', from(PARIS))).status).toBe(200);
      expect((await thiefOf(sample, scripted, 'Mozilla/5.0 TestAgent-B/1.1').get('/me', from(PARIS))).status).toBe(401);
    });

    it('keeps the session across a browser update and another address of the same /24', async () => {
      const alice = sample.client(CHROME_120);
      await loginFrom(alice, PARIS);
      const updated = thiefOf(sample, alice, CHROME_121);
      expect((await updated.get('/me', from(PARIS_NEIGHBOUR))).status).toBe(200);
      expect((await alice.get('/me', from(PARIS))).status).toBe(200);
    });
  });

  describe('strict with SESSION_BINDING_ACTION=reauth', () => {
    let sample: SampleHarness;
    beforeAll(async () => {
      sample = await startSample({ TRUST_PROXY: 'loopback', SESSION_BINDING: 'strict', SESSION_BINDING_ACTION: 'reauth' });
    });
    afterAll(() => sample.close());

    it('keeps the session but demands a re-authentication for @ReAuth routes, then adopts the new network', async () => {
      const laptop = sample.client(CHROME_120);
      await loginFrom(laptop, PARIS);
      const other = sample.client(FIREFOX_WINDOWS);
      await loginFrom(other, PARIS);
      const otherHandle = (await other.get('/me', from(PARIS))).body.session.handle as string;

      // The same browser, now on mobile data.
      const moved = await laptop.get('/me', from(MOBILE));
      expect(moved.status).toBe(200);
      const refused = await laptop.delete(`/sessions/${otherHandle}`, from(MOBILE));
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({ code: 'REAUTH_REQUIRED', reauth: { reason: 'challenged', path: '/auth/reauth' } });
      expect(refused.body.message).toContain('unfamiliar network or device');
      const account = await laptop.get('/account', { ...HTML, ...from(MOBILE) });
      expect(account.text).toContain('this session was used from an unfamiliar network or device');

      const proof = await laptop.post('/auth/reauth', { password: PASSWORDS.alice }, from(MOBILE));
      expect(proof.status).toBe(200);
      expect((await laptop.delete(`/sessions/${otherHandle}`, from(MOBILE))).status).toBe(204);
      sample.clock.advance(10 * 60_000);
      const later = await laptop.get('/me', from(MOBILE));
      expect(later.status).toBe(200);
      expect(later.body.session.authenticatedAt).toBeGreaterThan(0);
      const challenged = await eventsOf(sample, ...ANOMALY_TYPES);
      expect(challenged).toEqual([
        expect.objectContaining({
          type: 'session_binding_mismatch',
          ip: MOBILE,
          level: 'CRITICAL',
          detail: expect.objectContaining({ action: 'challenged' }),
        }),
      ]);
    });
  });

  describe('off', () => {
    let sample: SampleHarness;
    beforeAll(async () => {
      sample = await startSample({ TRUST_PROXY: 'loopback', SESSION_BINDING: 'off' });
    });
    afterAll(() => sample.close());

    it('neither checks nor logs anything', async () => {
      const alice = sample.client(CHROME_120);
      await loginFrom(alice, PARIS);
      expect((await thiefOf(sample, alice, FIREFOX_WINDOWS).get('/me', from(SYDNEY))).status).toBe(200);
      expect(await eventsOf(sample, ...ANOMALY_TYPES)).toEqual([]);
    });
  });
});

describe('sample app: /sessions as a person reads it', () => {
  let sample: SampleHarness;
  beforeAll(async () => {
    sample = await startSample({ TRUST_PROXY: 'loopback' });
  });
  afterAll(() => sample.close());

  it('GET /sessions adds device, place and "active ... ago" to the listing fields', async () => {
    const laptop = sample.client(CHROME_120);
    await loginFrom(laptop, PARIS);
    sample.clock.advance(3 * 60_000 + 5000);
    const phone = sample.client(FIREFOX_WINDOWS);
    await loginFrom(phone, '203.0.113.40');
    const res = await phone.get('/sessions', from('203.0.113.40'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual([
      {
        handle: expect.any(String),
        current: false,
        createdAt: expect.any(Number),
        lastSeenAt: expect.any(Number),
        ip: PARIS,
        userAgent: CHROME_120,
        tier: 'standard',
        impersonatedBy: null,
        device: 'Chrome on Linux',
        place: 'Paris, France (demo range 192.0.2.0/24)',
        lastActive: '3 minutes ago',
      },
      {
        handle: expect.any(String),
        current: true,
        createdAt: expect.any(Number),
        lastSeenAt: expect.any(Number),
        ip: '203.0.113.40',
        userAgent: FIREFOX_WINDOWS,
        tier: 'standard',
        impersonatedBy: null,
        device: 'Firefox on Windows',
        place: 'New York, United States (demo range 203.0.113.0/24)',
        lastActive: 'just now',
      },
    ]);
  });

  it('has no place for an address the resolver does not know', async () => {
    const bob = sample.client('curl/8.5.0');
    await bob.login('bob');
    const res = await bob.get('/sessions');
    expect(res.body.at(-1)).toMatchObject({ ip: '127.0.0.1', device: 'curl', place: null, lastActive: 'just now' });
  });

  it('the page shows the same, with a user agent holding markup escaped', async () => {
    const probe = '<img src=x onerror=alert(1)> (X11; Linux x86_64) Chrome/121.0 Safari/537.36';
    await sample.client(probe).login('carol');
    sample.clock.advance(20 * 60_000);
    const other = sample.client(CHROME_120);
    await other.login('carol');
    const page = await other.get('/sessions', HTML);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    const rows = page.text.split('data-testid="session-row"').slice(1);
    expect(rows).toHaveLength(2);
    const [probed, current] = rows;
    expect(current).toContain('this device');
    expect(current).toContain('<span data-testid="device">Chrome on Linux</span>');
    expect(current).toContain('<span data-testid="place">Unknown place</span>');
    expect(current).toContain('<span data-testid="last-active">Active just now</span>');
    expect(probed).toContain('<span data-testid="last-active">Active 20 minutes ago</span>');
    expect(probed).toContain('<small class="muted" data-testid="user-agent">&lt;img src=x onerror=alert(1)&gt;');
    expect(page.text).not.toContain('<img src=x');
  });
});

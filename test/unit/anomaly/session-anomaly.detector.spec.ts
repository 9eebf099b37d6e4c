/**
 * SessionAnomalyDetector as the session manager runs it: a real manager, in-memory store, event bus and ManualClock;
 * only the IP-to-location resolver is a fake (no GeoIP database here), as the library intends it to be plugged in.
 */
import {
  AUTHENTICATION_VOIDED,
  IpLocationResolver,
  ManualClock,
  ReAuthGuard,
  SecurityEvent,
  SecurityEventBus,
  SessionAnomalyDetector,
  SessionAnomalyOptions,
  SessionAnomalyOptionsError,
  SessionView,
  StaticIpLocationResolver,
} from '../../../lib';
import type { ClientInfo } from '../../../lib/core/client-info';
import { ActiveSession, SessionManager } from '../../../lib/core/session-manager';
import { InMemorySessionStore } from '../../../lib/stores/memory/in-memory-session.store';

const MIN = 60_000;
const HOUR = 60 * MIN;
const CHROME_120 = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36';
const CHROME_121 = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.6167.85 Safari/537.36';
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';

const PARIS = { latitude: 48.8566, longitude: 2.3522, place: 'Paris' };
const LYON = { latitude: 45.764, longitude: 4.8357, place: 'Lyon' };
const SYDNEY = { latitude: -33.8688, longitude: 151.2093, place: 'Sydney' };
/** The fake GeoIP: documentation ranges with fixed places. */
const GEO = new StaticIpLocationResolver({ '192.0.2.0/24': PARIS, '192.0.3.0/24': LYON, '198.51.100.0/24': SYDNEY });

const home: ClientInfo = { ip: '192.0.2.10', userAgent: CHROME_120 };

function setup(options: SessionAnomalyOptions = {}) {
  const clock = new ManualClock(Date.parse('2026-11-30T08:00:00Z'));
  const store = new InMemorySessionStore();
  const events: SecurityEvent[] = [];
  const bus = new SecurityEventBus([{ handle: (e) => void events.push(e) }]);
  const errors: string[] = [];
  const detector = new SessionAnomalyDetector({ onError: (error, where) => void errors.push(`${where}: ${String(error)}`), ...options });
  const manager = new SessionManager(
    store,
    clock,
    {
      idleTimeoutMs: 24 * HOUR,
      absoluteTimeoutMs: 48 * HOUR,
      rotationIntervalMs: Number.POSITIVE_INFINITY,
      rotationGraceMs: 10_000,
      touchIntervalMs: MIN,
      maxConcurrentSessions: 0,
      concurrentSessionPolicy: 'evict-oldest',
      rememberIdleTimeoutMs: 30 * 86_400_000,
      rememberAbsoluteTimeoutMs: 90 * 86_400_000,
      impersonationMaxAgeMs: HOUR,
    },
    bus,
    [detector],
  );
  const login = async (client: ClientInfo = home) => manager.create({ userId: 'alice', client });
  /** One request with `token` from `client`, `afterMs` after the previous one. */
  const request = async (token: string, client: ClientInfo, afterMs = 10_000) => {
    clock.advance(afterMs);
    return manager.resolve(token, client);
  };
  /** The detector's own events (the manager's `session_expired` of an ended session names the check too). */
  const anomalies = () => events.filter((e) => e.detail?.check === 'session-anomaly' && e.type !== 'session_expired');
  return { clock, store, events, bus, errors, detector, manager, login, request, anomalies };
}

describe('SessionAnomalyDetector', () => {
  describe('binding to the network (IP prefix)', () => {
    it('lets another address of the same IPv4 /24 through silently (NAT, DHCP renewal)', async () => {
      const t = setup();
      const { token } = await t.login();
      expect((await t.request(token, { ...home, ip: '192.0.2.200' })).kind).toBe('active');
      expect(t.anomalies()).toEqual([]);
    });

    it('records another /24 once per session in monitor mode, and lets the request through', async () => {
      const t = setup({ policy: 'monitor' });
      const { token, session } = await t.login();
      expect((await t.request(token, { ...home, ip: '192.0.3.4' })).kind).toBe('active');
      expect(t.anomalies()).toEqual([
        expect.objectContaining({
          type: 'session_binding_mismatch',
          level: 'WARN',
          outcome: 'failure',
          userId: 'alice',
          sessionHandle: session.record.handle,
          ip: '192.0.3.4',
          reason: 'ip_changed',
          detail: expect.objectContaining({
            signals: 'ip_changed',
            action: 'recorded',
            fromNetwork: '192.0.2.0/24',
            toNetwork: '192.0.3.0/24',
          }),
        }),
      ]);
      // Hours apart: back and forth within minutes would be two networks at once.
      await t.request(token, home, HOUR);
      await t.request(token, { ...home, ip: '192.0.3.99' }, HOUR);
      expect(t.anomalies()).toHaveLength(1);
    });

    it('compares IPv6 addresses by /48', async () => {
      const t = setup({ policy: 'strict' });
      const { token } = await t.login({ ...home, ip: '2001:db8:1:1::10' });
      expect((await t.request(token, { ...home, ip: '2001:db8:1:ff::99' })).kind).toBe('active');
      expect((await t.request(token, { ...home, ip: '2001:db8:2::10' })).kind).toBe('ended');
    });

    it('takes a configured prefix length', async () => {
      const t = setup({ policy: 'strict', prefixLength: { ipv4: 16 } });
      const { token } = await t.login();
      expect((await t.request(token, { ...home, ip: '192.0.200.1' })).kind).toBe('active');
      expect((await t.request(token, { ...home, ip: '192.1.0.1' })).kind).toBe('ended');
    });

    it('ends the session in strict mode (action end): destroyed, with the event and session_expired', async () => {
      const t = setup({ policy: 'strict' });
      const { token, session } = await t.login();
      const outcome = await t.request(token, { ...home, ip: '198.51.100.7' });
      expect(outcome).toMatchObject({ kind: 'ended', reason: 'ip_changed' });
      expect(t.events.map((e) => [e.type, e.reason])).toEqual(
        expect.arrayContaining([
          ['session_binding_mismatch', 'ip_changed'],
          ['session_expired', 'ip_changed'],
        ]),
      );
      expect(t.anomalies()[0]).toMatchObject({ level: 'CRITICAL', detail: { action: 'ended' } });
      expect(await t.store.listByUser('alice', t.clock.now())).toEqual([]);
      // The owner's cookie is dead too: the session is gone, not only refused once.
      expect((await t.request(token, home)).kind).toBe('unknown');
      expect(session.record.handle).toBeDefined();
    });

    it('does nothing at all when off', async () => {
      const t = setup({ policy: 'off' });
      const { token } = await t.login();
      expect((await t.request(token, { ip: '198.51.100.7', userAgent: FIREFOX })).kind).toBe('active');
      expect(t.anomalies()).toEqual([]);
    });

    it('can leave the network out (bindIp: false) and still watch the device', async () => {
      const t = setup({ policy: 'strict', bindIp: false });
      const { token } = await t.login();
      expect((await t.request(token, { ...home, ip: '198.51.100.7' })).kind).toBe('active');
      expect((await t.request(token, { ip: '198.51.100.7', userAgent: FIREFOX })).kind).toBe('ended');
    });
  });

  describe('binding to the device (browser family and OS)', () => {
    it('sees a browser update as the same device', async () => {
      const t = setup({ policy: 'strict' });
      const { token } = await t.login();
      expect((await t.request(token, { ...home, userAgent: CHROME_121 })).kind).toBe('active');
      expect(t.anomalies()).toEqual([]);
    });

    it('sees another browser as another device', async () => {
      const t = setup({ policy: 'monitor' });
      const { token } = await t.login();
      await t.request(token, { ...home, userAgent: FIREFOX });
      expect(t.anomalies()).toEqual([
        expect.objectContaining({
          type: 'session_binding_mismatch',
          reason: 'user_agent_changed',
          detail: expect.objectContaining({ signals: 'user_agent_changed', toDevice: 'Firefox on Linux' }),
        }),
      ]);
    });

    it('compares a user agent longer than the record keeps by what the record keeps', async () => {
      const t = setup({ policy: 'strict' });
      const long = `${CHROME_120} ${'x'.repeat(400)}`;
      const { token } = await t.login({ ...home, userAgent: long });
      expect((await t.request(token, { ...home, userAgent: long })).kind).toBe('active');
      expect(t.anomalies()).toEqual([]);
    });
  });

  describe('strictAction reauth', () => {
    it("voids the session's authentication (so @ReAuth routes refuse it) without ending or rotating it", async () => {
      const t = setup({ policy: 'strict', strictAction: 'reauth' });
      const { token, session } = await t.login();
      const outcome = await t.request(token, { ...home, ip: '198.51.100.7' });
      expect(outcome.kind).toBe('active');
      if (outcome.kind !== 'active') return;
      expect(outcome.issuedToken).toBeUndefined();
      expect(outcome.session.record.authenticatedAt).toBe(AUTHENTICATION_VOIDED);
      const view = { ...outcome.session.record } as unknown as SessionView;
      expect(ReAuthGuard.staleness(view, 5 * MIN, t.clock.now())).toBe('challenged');
      expect(t.anomalies()[0]).toMatchObject({ type: 'session_binding_mismatch', level: 'CRITICAL', detail: { action: 'challenged' } });
      expect(t.detector.awaitsProof(session.record.handle)).toBe(true);
      // In the store, for every instance: the owner's next request is refused on @ReAuth routes too.
      const again = await t.request(token, home);
      expect(again.kind === 'active' && again.session.record.authenticatedAt).toBe(AUTHENTICATION_VOIDED);
    });

    it('adopts the network of a re-authentication that answers the challenge', async () => {
      const t = setup({ policy: 'strict', strictAction: 'reauth' });
      const { token } = await t.login();
      const travelling = { ...home, ip: '198.51.100.7' };
      const outcome = await t.request(token, travelling);
      if (outcome.kind !== 'active') throw new Error('expected an active session');
      const handle = outcome.session.record.handle;
      // A request that did not re-authenticate proves nothing.
      t.detector.acceptProof(handle, AUTHENTICATION_VOIDED, travelling);
      expect(t.detector.awaitsProof(handle)).toBe(true);
      const newToken = await t.manager.reauthenticate(outcome.session as ActiveSession, travelling);
      t.detector.acceptProof(handle, outcome.session.record.authenticatedAt, travelling);
      expect(t.detector.awaitsProof(handle)).toBe(false);
      // Hours apart, so that going home and back is not two networks at once.
      const after = await t.request(newToken!, home, HOUR);
      expect(after.kind === 'active' && after.session.record.authenticatedAt).toBeGreaterThan(0);
      const back = await t.request(newToken!, travelling, HOUR);
      expect(back.kind === 'active' && back.session.record.authenticatedAt).toBeGreaterThan(0);
      expect(t.anomalies()).toHaveLength(1);
    });
  });

  describe('rapid IP churn', () => {
    it('reports many networks within the window once, and not the same hops spread over hours', async () => {
      const t = setup({ policy: 'monitor', churn: { networks: 4, window: '10m' } });
      const { token } = await t.login();
      for (const ip of ['203.0.113.1', '192.0.3.1', '198.51.100.1']) await t.request(token, { ...home, ip }, MIN);
      const churn = t.anomalies().filter((e) => e.type === 'session_ip_churn');
      expect(churn).toEqual([expect.objectContaining({ detail: expect.objectContaining({ networks: 4, windowMs: 10 * MIN }) })]);
      expect(churn[0].detail?.signals).toContain('ip_churn');
      await t.request(token, { ...home, ip: '203.0.112.1' }, MIN);
      expect(t.anomalies().filter((e) => e.type === 'session_ip_churn')).toHaveLength(1);

      const slow = setup({ policy: 'monitor', churn: { networks: 4, window: '10m' } });
      const second = await slow.login();
      for (const ip of ['203.0.113.1', '192.0.3.1', '198.51.100.1']) await slow.request(second.token, { ...home, ip }, HOUR);
      expect(slow.anomalies().filter((e) => e.type === 'session_ip_churn')).toEqual([]);
    });
  });

  describe('two networks at once', () => {
    it('reports a session alternating between two networks within the window', async () => {
      const t = setup({ policy: 'monitor' });
      const { token } = await t.login();
      const thief = { ...home, ip: '203.0.113.5' };
      await t.request(token, thief, 20_000);
      expect(t.anomalies().map((e) => e.type)).toEqual(['session_binding_mismatch']);
      await t.request(token, home, 20_000);
      await t.request(token, thief, 20_000);
      expect(t.anomalies().map((e) => e.type)).toEqual(['session_binding_mismatch', 'session_concurrent_networks']);
      expect(t.anomalies()[1]).toMatchObject({ reason: 'concurrent_networks', detail: { signals: 'concurrent_networks' } });
      // The pair goes on switching: reported once per window, not on every switch.
      for (const client of [home, thief, home]) await t.request(token, client, 20_000);
      expect(t.anomalies()).toHaveLength(2);
      // Past the window, a new run of switches is reported again.
      await t.request(token, thief, 6 * MIN);
      for (const client of [home, thief, home]) await t.request(token, client, 20_000);
      expect(t.anomalies().map((e) => e.type)).toEqual([
        'session_binding_mismatch',
        'session_concurrent_networks',
        'session_concurrent_networks',
      ]);
    });

    it('does not report one switch back and forth spread over hours (home, office, home, office)', async () => {
      const t = setup({ policy: 'monitor' });
      const { token } = await t.login();
      const office = { ...home, ip: '203.0.113.5' };
      for (const client of [office, home, office]) await t.request(token, client, 4 * HOUR);
      expect(t.anomalies().map((e) => e.type)).toEqual(['session_binding_mismatch']);
    });
  });

  describe('impossible travel', () => {
    it('reports Paris to Sydney in an hour as authn_impossible_travel, and ends the session in strict mode', async () => {
      const t = setup({ policy: 'strict', impossibleTravel: { resolver: GEO } });
      const { token } = await t.login();
      const outcome = await t.request(token, { ...home, ip: '198.51.100.7' }, HOUR);
      expect(outcome.kind).toBe('ended');
      expect(t.anomalies()).toEqual([
        expect.objectContaining({
          type: 'authn_impossible_travel',
          reason: 'impossible_travel',
          detail: expect.objectContaining({
            signals: 'impossible_travel,ip_changed',
            fromPlace: 'Paris',
            toPlace: 'Sydney',
            distanceKm: expect.any(Number),
            speedKmh: expect.any(Number),
          }),
        }),
      ]);
      expect(t.anomalies()[0].detail!.speedKmh).toBeGreaterThan(10_000);
    });

    it('accepts the same trip in a day (an airliner), and a short trip (under minDistanceKm) whatever the speed', async () => {
      const t = setup({ policy: 'monitor', impossibleTravel: { resolver: GEO, maxSpeedKmh: 900 } });
      const { token } = await t.login();
      await t.request(token, { ...home, ip: '198.51.100.7' }, 20 * HOUR);
      const near = setup({ policy: 'monitor', impossibleTravel: { resolver: GEO, minDistanceKm: 500 } });
      const second = await near.login();
      await near.request(second.token, { ...home, ip: '192.0.3.7' }, 1000);
      expect([...t.anomalies(), ...near.anomalies()].map((e) => e.type)).toEqual(['session_binding_mismatch', 'session_binding_mismatch']);
    });

    it('never fails the request when the resolver throws or rejects: reported to onError, the rest still checked', async () => {
      const throwing: IpLocationResolver = {
        locate: (ip) => {
          if (ip.startsWith('198.')) throw new Error('GeoIP database missing');
          return Promise.reject(new Error('GeoIP service down'));
        },
      };
      const t = setup({ policy: 'monitor', impossibleTravel: { resolver: throwing } });
      const { token } = await t.login();
      const outcome = await t.request(token, { ...home, ip: '198.51.100.7' });
      expect(outcome.kind).toBe('active');
      expect(t.errors.sort()).toEqual([
        'impossibleTravel.resolver: Error: GeoIP database missing',
        'impossibleTravel.resolver: Error: GeoIP service down',
      ]);
      expect(t.anomalies().map((e) => e.reason)).toEqual(['ip_changed']);
    });
  });

  describe('failed sign-ins followed by a success', () => {
    const failure = (time: number, userId = 'alice'): SecurityEvent => ({
      type: 'authn_login_fail',
      time,
      level: 'WARN',
      outcome: 'failure',
      userId,
      ip: '203.0.113.9',
    });
    const success = (time: number, userId = 'alice'): SecurityEvent => ({
      type: 'authn_login_success',
      time,
      level: 'INFO',
      outcome: 'success',
      userId,
      sessionHandle: 'h',
      ip: '203.0.113.9',
      userAgent: 'UA',
    });

    it('emits authn_login_successafterfail on the success after enough failures of the account, once', () => {
      const t = setup({ loginFailures: { failures: 3, window: '15m' } });
      t.detector.attach(t.bus);
      t.detector.attach(t.bus);
      const start = t.clock.now();
      for (let i = 0; i < 3; i++) t.bus.emit(failure(start + i * 1000));
      t.bus.emit(failure(start, 'bob'));
      t.bus.emit(success(start + 5000, 'bob'));
      t.bus.emit(success(start + 5000));
      t.bus.emit(success(start + 6000));
      const after = t.events.filter((e) => e.type === 'authn_login_successafterfail');
      expect(after).toEqual([
        {
          type: 'authn_login_successafterfail',
          time: start + 5000,
          level: 'WARN',
          outcome: 'success',
          userId: 'alice',
          sessionHandle: 'h',
          ip: '203.0.113.9',
          userAgent: 'UA',
          reason: 'failures_before_success',
          detail: { failures: 3, windowMs: 15 * MIN },
        },
      ]);
    });

    it('forgets failures older than the window', () => {
      const t = setup({ loginFailures: { failures: 3, window: '15m' } });
      t.detector.attach(t.bus);
      const start = t.clock.now();
      t.bus.emit(failure(start));
      t.bus.emit(failure(start + 1000));
      t.bus.emit(failure(start + 16 * MIN));
      t.bus.emit(success(start + 16 * MIN + 1000));
      expect(t.events.some((e) => e.type === 'authn_login_successafterfail')).toBe(false);
    });

    it('emits authn_login_new_device on a sign-in from a browser family and OS the account did not use before', () => {
      const t = setup();
      t.detector.attach(t.bus);
      const now = t.clock.now();
      const signIn = (userAgent: string, userId = 'alice') => t.bus.emit({ ...success(now, userId), userAgent });
      signIn(CHROME_120); // the first one an instance sees only starts the list
      signIn(CHROME_121); // a browser update
      signIn(FIREFOX);
      signIn(FIREFOX);
      signIn(FIREFOX, 'bob');
      expect(t.events.filter((e) => e.type === 'authn_login_new_device')).toEqual([
        expect.objectContaining({
          userId: 'alice',
          level: 'INFO',
          userAgent: FIREFOX,
          reason: 'new_device',
          detail: { device: 'Firefox on Linux', knownDevices: 1 },
        }),
      ]);
      const quiet = setup({ newDevice: false });
      quiet.detector.attach(quiet.bus);
      quiet.bus.emit({ ...success(now), userAgent: CHROME_120 });
      quiet.bus.emit({ ...success(now), userAgent: FIREFOX });
      expect(quiet.events.some((e) => e.type === 'authn_login_new_device')).toBe(false);
    });

    it('keeps bounded memory: the least recently failed accounts are forgotten first', () => {
      const t = setup({ loginFailures: { failures: 1 }, maxTracked: 2 });
      t.detector.attach(t.bus);
      const now = t.clock.now();
      for (const user of ['a', 'b', 'c']) t.bus.emit(failure(now, user));
      for (const user of ['a', 'b', 'c']) t.bus.emit(success(now, user));
      expect(t.events.filter((e) => e.type === 'authn_login_successafterfail').map((e) => e.userId)).toEqual(['b', 'c']);
    });
  });

  it('never fails the request when detection itself breaks: reported to onError', async () => {
    const t = setup({ policy: 'strict' });
    const { token } = await t.login();
    const broken = {
      get ip(): string {
        throw new Error('no socket');
      },
      userAgent: CHROME_120,
    };
    expect((await t.request(token, broken)).kind).toBe('active');
    expect(t.errors).toEqual(['check: Error: no socket']);
  });

  it('refuses bad options, listing every problem with its fix', () => {
    let error: unknown;
    try {
      new SessionAnomalyDetector({
        policy: 'paranoid' as 'strict',
        strictAction: 'logout' as 'end',
        prefixLength: { ipv4: 40, ipv6: 8 },
        churn: { networks: 1, window: 'soon' },
        impossibleTravel: { resolver: {} as IpLocationResolver, maxSpeedKmh: -1 },
        loginFailures: { failures: 0 },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SessionAnomalyOptionsError);
    const problems = (error as SessionAnomalyOptionsError).problems.join('\n');
    for (const key of [
      'policy',
      'strictAction',
      'prefixLength.ipv4',
      'prefixLength.ipv6',
      'churn.networks',
      'churn.window',
      'impossibleTravel.resolver',
      'impossibleTravel.maxSpeedKmh',
      'loginFailures.failures',
    ]) {
      expect(problems).toContain(key);
    }
  });
});

describe('SessionAnomalyDetector memory: it keeps histories of live sessions only', () => {
  const elsewhere: ClientInfo = { ip: '198.51.100.7', userAgent: CHROME_120 };

  it('drops the history of a session at its logout, revocation and logout everywhere (events from the bus)', async () => {
    const t = setup();
    t.detector.attach(t.bus);
    const sessions = await Promise.all([t.login(), t.login(), t.login(), t.login()]);
    for (const { token } of sessions) await t.request(token, home);
    expect(t.detector.trackedSessions).toBe(4);

    await t.manager.destroy(sessions[0].session, home);
    expect(t.detector.trackedSessions).toBe(3);
    await t.manager.revoke('alice', sessions[1].session.record.handle, home);
    expect(t.detector.trackedSessions).toBe(2);
    await t.manager.destroyAllForUser('alice', home, { reason: 'logout_everywhere' });
    expect(t.detector.trackedSessions).toBe(0);
  });

  it('drops, within a minute, the history of a session past its idle deadline that is never presented again', async () => {
    const t = setup();
    const abandoned = await t.login();
    await t.request(abandoned.token, home);
    const active = await t.login();
    await t.request(active.token, home);
    expect(t.detector.trackedSessions).toBe(2);

    // The active session keeps being used (every 10 minutes) for a day and a minute: past the abandoned one's 24 h.
    for (let elapsed = 0; elapsed <= 24 * HOUR + MIN; elapsed += 10 * MIN) {
      expect((await t.request(active.token, home, 10 * MIN)).kind).toBe('active');
    }
    expect(t.detector.trackedSessions).toBe(1);
  });

  it('keeps the history of a live session across sweeps: a network it was already reported on stays its own', async () => {
    const t = setup();
    const { token } = await t.login();
    const mismatches = () => t.anomalies().filter((e) => e.type === 'session_binding_mismatch');
    await t.request(token, elsewhere);
    expect(mismatches()).toHaveLength(1);
    // Back home, then to the same network again, with sweeps in between (one every minute). A forgotten history
    // would start again from the record (home) and report the other network a second time.
    await t.request(token, home, 2 * MIN);
    await t.request(token, elsewhere, 2 * MIN);
    expect(mismatches()).toHaveLength(1);
    expect(t.detector.trackedSessions).toBe(1);
  });

  it('drops a session past its absolute deadline even when it was used until the end', async () => {
    const t = setup();
    const { token } = await t.login();
    for (let elapsed = 0; elapsed < 48 * HOUR - HOUR; elapsed += HOUR) await t.request(token, home, HOUR);
    const other = await t.login();
    t.clock.advance(2 * HOUR);
    await t.request(other.token, home, 0);
    expect(t.detector.trackedSessions).toBe(1);
  });
});

import { createLRU } from 'lru.min';
import type { ClientInfo } from '../core/client-info';
import { AUTHENTICATION_VOIDED, SessionCheck, SessionCheckContext, SessionCheckEvent, SessionCheckVerdict } from '../core/session-check';
import { clip, MAX_USER_AGENT_LENGTH, SessionRecord } from '../core/session-record';
import type { SecurityEventBus } from '../events/security-event-bus';
import type { SecurityEvent, SecurityEventSink, SecurityEventType } from '../events/security-event';
import { ResolvedAnomalyOptions, resolveAnomalyOptions, SessionAnomalyOptions } from './anomaly.options';
import { describeDevice } from './device';
import { distanceKm, IpLocation } from './ip-location';
import { networkPrefix } from './network-prefix';

/** What one request can show: each is a `detail.signals` entry of the anomaly event. */
export type SessionAnomalySignal = 'ip_changed' | 'user_agent_changed' | 'ip_churn' | 'concurrent_networks' | 'impossible_travel';

/** The event type of a request's anomaly: the most telling of its signals names it. */
const EVENT_OF: [SessionAnomalySignal, SecurityEventType][] = [
  ['impossible_travel', 'authn_impossible_travel'],
  ['concurrent_networks', 'session_concurrent_networks'],
  ['ip_churn', 'session_ip_churn'],
  ['ip_changed', 'session_binding_mismatch'],
  ['user_agent_changed', 'session_binding_mismatch'],
];

/** Networks and devices a session keeps as its own (the one it was created on first). */
const MAX_TRUSTED = 8;

/** How often (ms, on the clock of the checks) tracks of sessions that can no longer be alive are dropped: once a minute. */
export const ANOMALY_SWEEP_INTERVAL_MS = 60_000;

/** Session end events: the ended session's track goes at once (reason `logout`, `revoked`, `replaced_on_login`, ...). */
const ENDED: ReadonlySet<SecurityEventType> = new Set(['session_logout', 'session_expired', 'session_revoked']);

/** One stretch of requests from one network. */
interface NetworkVisit {
  prefix: string;
  /** Last request from it (ms); of the current visit, `track.lastSeenAt`. */
  until: number;
}

/** What this instance remembers of one session: a few strings and numbers, bounded. */
interface SessionTrack {
  /** The raw IP and user agent of the last request: equal ones skip everything (the steady-state path). */
  lastIp: string;
  lastUserAgent: string;
  /** Network of `lastIp`, device key of `lastUserAgent`. */
  prefix: string;
  deviceKey: string;
  /** The session's own networks and devices: where it was created, and where it re-authenticated (or, in monitor mode, each one already reported). */
  trustedPrefixes: string[];
  trustedDevices: string[];
  /** The latest network visits, oldest first, at most {@link SessionAnomalyDetector.maxVisits}. */
  visits: NetworkVisit[];
  lastSeenAt: number;
  /**
   * The session's inactivity timeout (ms) and absolute deadline, from its record: once `lastSeenAt + idleSpanMs` or
   * `absoluteExpiresAt` has passed, the session cannot be alive and the sweep drops the track.
   */
  idleSpanMs: number;
  absoluteExpiresAt: number;
  /** When churn was last reported: once per churn window. */
  churnReportedAt: number;
  /** When two networks at once were last reported: once per its window, not on every switch of an ongoing pair. */
  concurrentReportedAt: number;
  /** When this session was challenged (`strictAction: 'reauth'`) and has not re-authenticated since. */
  challengedAt: number | undefined;
}

/**
 * Session binding and anomaly detection, as a request-time {@link SessionCheck} (register it in
 * `SessionModule.forRoot({ checks: [detector] })`) with its Nest half, `SessionAnomalyInterceptor`.
 *
 * **Why a check.** It runs inside session resolution, before any guard: in `strict` mode a replayed cookie is ended
 * (or its authentication voided) before a guard or handler sees the request, on every route, `@Public()` ones that
 * read the session included. The check is synchronous and allocation-free while the request's raw IP and user agent
 * equal the previous request's (two string comparisons); only a change parses anything (an IP prefix, a cached user
 * agent, a location lookup when a resolver is set).
 *
 * **What it compares.** Networks, not addresses: an IPv4 /24 or IPv6 /48 (configurable), so NAT pools and mobile
 * carriers do not raise alarms. Devices as browser family and OS (ua-parser-js), so a browser update is the same
 * device. Signals: `ip_changed` and `user_agent_changed` (not one of the session's own networks or devices),
 * `ip_churn` (many networks in a window), `concurrent_networks` (alternating between two networks: two clients at
 * once), `impossible_travel` (through the {@link IpLocationResolver}). Each anomalous request is one event:
 * `authn_impossible_travel`, `session_concurrent_networks`, `session_ip_churn` or `session_binding_mismatch`, with
 * every signal in `detail.signals`.
 *
 * **What it does.** `monitor`: records the event; the new network or device joins the session's own, so each is
 * reported once. `strict` + `end`: the session is destroyed (401, cookie cleared). `strict` + `reauth`: the session's
 * authentication is voided in the store, so `@ReAuth()` routes answer 401 `REAUTH_REQUIRED` until the user
 * re-authenticates; the interceptor then adopts that request's network and device. A failure inside detection
 * (a resolver that throws...) is reported to `onError` and the request goes on.
 *
 * **Sign-ins.** Once attached to the event bus (the interceptor does it), it counts `authn_login_fail` per account and
 * emits `authn_login_successafterfail` on the success that follows enough of them, and `authn_login_new_device` on a
 * success from a browser family and OS the account's earlier sign-ins did not use: events to notify the user or an
 * operator, nothing more (the person who just typed the right password is most likely the owner after typos; a
 * guessed password is for the brute-force defence and MFA to stop).
 *
 * **Memory and several instances.** History lives in this process, in LRU caches bounded by `maxTracked`
 * (default 10000 sessions and 10000 accounts, a few hundred bytes each). A session's history goes when the session
 * ends (its logout, revocation or expiry event, once the interceptor has attached the detector to the event bus), and
 * once a minute ({@link ANOMALY_SWEEP_INTERVAL_MS}) the histories of sessions past their idle or absolute deadline
 * and failure counts older than `loginFailureWindowMs` are dropped, so a quiet server holds only live sessions. The
 * binding itself compares with the network and device stored in the session record at login, so it holds on every
 * instance. Churn, two networks and travel see only the requests this instance served: behind a load balancer
 * without sticky sessions they detect less (each instance sees part of the pattern), never more. A re-authentication
 * after a challenge is adopted by the instance that served it; another instance challenges the new network once more.
 *
 * @example
 * const anomaly = new SessionAnomalyDetector({ policy: 'strict', strictAction: 'reauth', impossibleTravel: { resolver } });
 * SessionModule.forRoot({ checks: [anomaly] });
 * // and in the app module's providers:
 * ...SessionAnomalyInterceptor.providers(anomaly)
 */
export class SessionAnomalyDetector implements SessionCheck {
  /** The check's name, in `detail.check` of its events. */
  readonly name = 'session-anomaly';
  /** The options in force, defaults filled in. */
  readonly options: ResolvedAnomalyOptions;
  private readonly tracks: ReturnType<typeof createLRU<string, SessionTrack>>;
  private readonly failures: ReturnType<typeof createLRU<string, { count: number; since: number }>>;
  /** Per account, the device keys of its sign-ins (at most {@link MAX_TRUSTED}). */
  private readonly devices: ReturnType<typeof createLRU<string, string[]>>;
  private readonly maxVisits: number;
  private bus: SecurityEventBus | undefined;
  /** When the next sweep is due (ms, the checks' clock); the first check sets it. */
  private nextSweepAt = Number.NEGATIVE_INFINITY;

  /** @throws SessionAnomalyOptionsError listing every bad option with its fix. */
  constructor(options: SessionAnomalyOptions = {}) {
    this.options = resolveAnomalyOptions(options);
    this.tracks = createLRU({ max: this.options.maxTracked });
    this.failures = createLRU({ max: this.options.maxTracked });
    this.devices = createLRU({ max: this.options.maxTracked });
    this.maxVisits = Math.max(this.options.churnNetworks, 4);
  }

  /** The sink that counts failed sign-ins and remembers sign-in devices (see the class comment); {@link attach} subscribes it. */
  readonly loginSink: SecurityEventSink = { handle: (event) => this.onLoginEvent(event) };

  /**
   * Connects the sign-in signals to the module's event bus: {@link loginSink} listens there, and
   * `authn_login_successafterfail` and `authn_login_new_device` are emitted there. `SessionAnomalyInterceptor` calls it
   * at start-up. Idempotent.
   */
  attach(bus: SecurityEventBus): void {
    if (this.bus === bus) return;
    this.bus = bus;
    bus.subscribe(this.loginSink);
  }

  /** The request-time check (see the class comment). Never throws: a failure is reported and the request goes on. */
  check(context: SessionCheckContext): SessionCheckVerdict | undefined | Promise<SessionCheckVerdict | undefined> {
    if (this.options.policy === 'off') return undefined;
    try {
      const { session, client, now } = context;
      if (now >= this.nextSweepAt) this.sweep(now);
      let track = this.tracks.get(session.handle);
      if (track === undefined) {
        track = startTrack(session, this.options, now);
        this.tracks.set(session.handle, track);
      }
      const ua = userAgentOf(client);
      if (client.ip === track.lastIp && ua === track.lastUserAgent) {
        track.lastSeenAt = now;
        return undefined;
      }
      return this.inspect(session, track, client.ip, ua, now);
    } catch (error) {
      this.options.onError(error, 'check');
      return undefined;
    }
  }

  /** How many sessions this instance holds a history of (bounded by `maxTracked`; ended and expired ones are dropped). */
  get trackedSessions(): number {
    return this.tracks.size;
  }

  /**
   * Drops the histories of sessions that cannot be alive any more (idle or absolute deadline passed, as this
   * instance saw them) and failure counts older than their window. Runs from {@link check} once per
   * {@link ANOMALY_SWEEP_INTERVAL_MS}: a walk over at most `maxTracked` entries of each cache.
   */
  sweep(now: number): void {
    this.nextSweepAt = now + ANOMALY_SWEEP_INTERVAL_MS;
    const dead: string[] = [];
    for (const [handle, track] of this.tracks.entries()) {
      if (now >= Math.min(track.lastSeenAt + track.idleSpanMs, track.absoluteExpiresAt)) dead.push(handle);
    }
    for (const handle of dead) this.tracks.delete(handle);
    const stale: string[] = [];
    for (const [userId, entry] of this.failures.entries()) {
      if (now - entry.since > this.options.loginFailureWindowMs) stale.push(userId);
    }
    for (const userId of stale) this.failures.delete(userId);
  }

  /** True while the session was challenged and has not re-authenticated (the interceptor then watches the request). */
  awaitsProof(handle: string): boolean {
    return this.tracks.peek(handle)?.challengedAt !== undefined;
  }

  /**
   * After a request that re-authenticated a challenged session (its `authenticatedAt` is now at or after the
   * challenge): the request's network and device become the session's own. Called by the interceptor.
   */
  acceptProof(handle: string, authenticatedAt: number, client: ClientInfo): void {
    const track = this.tracks.peek(handle);
    if (track?.challengedAt === undefined || authenticatedAt === AUTHENTICATION_VOIDED || authenticatedAt < track.challengedAt) return;
    trust(track.trustedPrefixes, networkPrefix(client.ip, this.options.prefixLength));
    trust(track.trustedDevices, describeDevice(userAgentOf(client)).key);
    track.challengedAt = undefined;
  }

  /** A request whose IP or user agent differs from the previous one. */
  private inspect(
    session: Readonly<SessionRecord>,
    track: SessionTrack,
    ip: string,
    ua: string,
    now: number,
  ): SessionCheckVerdict | undefined | Promise<SessionCheckVerdict | undefined> {
    const o = this.options;
    const signals: SessionAnomalySignal[] = [];
    const detail: Record<string, string | number | boolean> = {};
    let travelFrom: { ip: string; at: number } | undefined;
    if (ip !== track.lastIp) {
      const prefix = networkPrefix(ip, o.prefixLength);
      const previousIp = track.lastIp;
      track.lastIp = ip;
      if (prefix !== track.prefix) {
        detail.fromNetwork = track.prefix;
        detail.toNetwork = prefix;
        track.visits[track.visits.length - 1].until = track.lastSeenAt;
        track.visits.push({ prefix, until: now });
        if (track.visits.length > this.maxVisits) track.visits.shift();
        track.prefix = prefix;
        if (o.bindIp && !track.trustedPrefixes.includes(prefix)) signals.push('ip_changed');
        const networks = this.recentNetworks(track, now);
        if (networks >= o.churnNetworks && now - track.churnReportedAt > o.churnWindowMs) {
          signals.push('ip_churn');
          track.churnReportedAt = now;
          detail.networks = networks;
          detail.windowMs = o.churnWindowMs;
        }
        if (alternates(track.visits, now - o.concurrentWindowMs) && now - track.concurrentReportedAt > o.concurrentWindowMs) {
          signals.push('concurrent_networks');
          track.concurrentReportedAt = now;
        }
        if (o.resolver) travelFrom = { ip: previousIp, at: track.lastSeenAt };
      }
    }
    if (ua !== track.lastUserAgent) {
      const device = describeDevice(ua);
      track.lastUserAgent = ua;
      if (device.key !== track.deviceKey) {
        track.deviceKey = device.key;
        if (o.bindUserAgent && !track.trustedDevices.includes(device.key)) {
          signals.push('user_agent_changed');
          detail.toDevice = device.label;
        }
      }
    }
    track.lastSeenAt = now;
    if (travelFrom) return this.withTravel(session, track, signals, detail, travelFrom, ip, now);
    return this.verdict(session, track, signals, detail, now);
  }

  private async withTravel(
    session: Readonly<SessionRecord>,
    track: SessionTrack,
    signals: SessionAnomalySignal[],
    detail: Record<string, string | number | boolean>,
    from: { ip: string; at: number },
    ip: string,
    now: number,
  ): Promise<SessionCheckVerdict | undefined> {
    try {
      const [a, b] = await Promise.all([this.locate(from.ip), this.locate(ip)]);
      if (a && b) {
        const km = distanceKm(a, b);
        // At least a second: two requests in the same millisecond are not infinitely fast, only close.
        const kmh = km / (Math.max(now - from.at, 1000) / 3_600_000);
        if (km >= this.options.minDistanceKm && kmh > this.options.maxSpeedKmh) {
          signals.unshift('impossible_travel');
          detail.fromPlace = a.place;
          detail.toPlace = b.place;
          detail.distanceKm = Math.round(km);
          detail.speedKmh = Math.round(kmh);
        }
      }
      return this.verdict(session, track, signals, detail, now);
    } catch (error) {
      this.options.onError(error, 'check');
      return undefined;
    }
  }

  /** The resolver's answer, or undefined when it has none or fails (reported). */
  private async locate(ip: string): Promise<IpLocation | undefined> {
    try {
      return (await this.options.resolver!.locate(ip)) ?? undefined;
    } catch (error) {
      this.options.onError(error, 'impossibleTravel.resolver');
      return undefined;
    }
  }

  private verdict(
    session: Readonly<SessionRecord>,
    track: SessionTrack,
    signals: SessionAnomalySignal[],
    detail: Record<string, string | number | boolean>,
    now: number,
  ): SessionCheckVerdict | undefined {
    if (signals.length === 0) return undefined;
    const type = EVENT_OF.find(([signal]) => signals.includes(signal))![1];
    const strict = this.options.policy === 'strict';
    detail.signals = signals.join(',');
    detail.action = !strict ? 'recorded' : this.options.strictAction === 'end' ? 'ended' : 'challenged';
    const event: SessionCheckEvent = { type, level: strict ? 'CRITICAL' : 'WARN', outcome: 'failure', reason: signals[0], detail };
    if (!strict) {
      // Reported once: the network and device join the session's own.
      trust(track.trustedPrefixes, track.prefix);
      trust(track.trustedDevices, track.deviceKey);
      return { action: 'record', event };
    }
    if (this.options.strictAction === 'end') {
      this.tracks.delete(session.handle);
      return { action: 'end', reason: signals[0], event };
    }
    track.challengedAt = now;
    return { action: 'challenge', reason: signals[0], event };
  }

  /** A successful sign-in: `authn_login_new_device` when its device is not one the account signed in with before. */
  private noteDevice(event: SecurityEvent, userId: string): void {
    if (!this.options.newDevice || event.userAgent === undefined) return;
    const device = describeDevice(event.userAgent);
    const known = this.devices.get(userId);
    if (known === undefined) {
      this.devices.set(userId, [device.key]);
      return;
    }
    if (known.includes(device.key)) return;
    trust(known, device.key);
    this.bus?.emit({
      type: 'authn_login_new_device',
      time: event.time,
      level: 'INFO',
      outcome: 'success',
      userId,
      sessionHandle: event.sessionHandle,
      ip: event.ip,
      userAgent: event.userAgent,
      reason: 'new_device',
      detail: { device: device.label, knownDevices: known.length - 1 },
    });
  }

  /** Distinct networks used within the churn window (the current one included). */
  private recentNetworks(track: SessionTrack, now: number): number {
    const since = now - this.options.churnWindowMs;
    const seen = new Set<string>();
    for (const visit of track.visits) if (visit.until >= since) seen.add(visit.prefix);
    return seen.size;
  }

  private onLoginEvent(event: SecurityEvent): void {
    if (this.options.policy === 'off') return;
    if (ENDED.has(event.type)) {
      if (event.sessionHandle !== undefined) this.tracks.delete(event.sessionHandle);
      return;
    }
    // A re-authentication (password, or password and second factor, or a passkey) answers a challenge: the session
    // manager announces it synchronously, with the request's IP and user agent, as the rotation completes.
    if (event.type === 'session_renewed' && event.reason === 'reauthentication' && event.sessionHandle !== undefined) {
      try {
        if (this.awaitsProof(event.sessionHandle)) {
          this.acceptProof(event.sessionHandle, event.time, { ip: event.ip ?? '', userAgent: event.userAgent ?? '' });
        }
      } catch (error) {
        this.options.onError(error, 'acceptProof');
      }
      return;
    }
    if (event.userId === undefined) return;
    if (event.type === 'authn_login_fail') {
      const entry = this.failures.get(event.userId);
      if (entry === undefined || event.time - entry.since > this.options.loginFailureWindowMs) {
        this.failures.set(event.userId, { count: 1, since: event.time });
      } else entry.count++;
      return;
    }
    if (event.type !== 'authn_login_success') return;
    this.noteDevice(event, event.userId);
    const entry = this.failures.get(event.userId);
    if (entry === undefined) return;
    this.failures.delete(event.userId);
    if (entry.count < this.options.loginFailures || event.time - entry.since > this.options.loginFailureWindowMs) return;
    this.bus?.emit({
      type: 'authn_login_successafterfail',
      time: event.time,
      level: 'WARN',
      outcome: 'success',
      userId: event.userId,
      sessionHandle: event.sessionHandle,
      ip: event.ip,
      userAgent: event.userAgent,
      reason: 'failures_before_success',
      detail: { failures: entry.count, windowMs: this.options.loginFailureWindowMs },
    });
  }
}

/**
 * The first time this instance sees a session: its baseline is where it was created (the stored record). The last
 * time it was used from there is only known to be its creation (the record's `lastSeenAt` may already be this very
 * request's touch), which makes travel from it look slower and visits older: fewer alarms, never false ones.
 */
function startTrack(session: Readonly<SessionRecord>, o: ResolvedAnomalyOptions, now: number): SessionTrack {
  const prefix = networkPrefix(session.ip, o.prefixLength);
  const deviceKey = describeDevice(session.userAgent).key;
  return {
    lastIp: session.ip,
    lastUserAgent: session.userAgent,
    prefix,
    deviceKey,
    trustedPrefixes: [prefix],
    trustedDevices: [deviceKey],
    visits: [{ prefix, until: session.createdAt }],
    lastSeenAt: session.createdAt,
    // Records stored before `idleTimeoutMs` existed: what is left of the idle span now is a lower bound of it.
    idleSpanMs: session.idleTimeoutMs ?? Math.max(0, session.idleExpiresAt - now),
    absoluteExpiresAt: session.absoluteExpiresAt,
    churnReportedAt: Number.NEGATIVE_INFINITY,
    concurrentReportedAt: Number.NEGATIVE_INFINITY,
    challengedAt: undefined,
  };
}

/** The user agent as the record keeps it (clipped), so a long one compares equal to what was stored. */
function userAgentOf(client: ClientInfo): string {
  const ua = client.userAgent;
  return ua.length > MAX_USER_AGENT_LENGTH ? clip(ua, MAX_USER_AGENT_LENGTH) : ua;
}

/** Adds `value` to a bounded list; the first entry (where the session was created) is kept, the next oldest goes. */
function trust(list: string[], value: string): void {
  if (list.includes(value)) return;
  list.push(value);
  if (list.length > MAX_TRUSTED) list.splice(1, 1);
}

/** The last four visits alternate between two networks (A, B, A, B), all since `since`. */
function alternates(visits: NetworkVisit[], since: number): boolean {
  const n = visits.length;
  if (n < 4) return false;
  const [a, b, c, d] = visits.slice(n - 4);
  return a.prefix !== b.prefix && a.prefix === c.prefix && b.prefix === d.prefix && a.until >= since;
}

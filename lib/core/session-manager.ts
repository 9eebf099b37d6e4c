import { ReadResult, SessionStore, StoredSession } from '../stores/session-store';
import { SecurityEventBus } from '../events/security-event-bus';
import { SecurityEvent } from '../events/security-event';
import { CircuitState, StoreCircuitBreaker } from './circuit-breaker';
import { Clock } from './clock';
import type { ClientInfo } from './client-info';
import { isStoreConnectionError, SessionGoneError, SessionInputError, SessionStoreUnavailableError, TooManySessionsError } from './errors';
import { absoluteCap, countsTowardLimit, DEFAULT_PENDING_TIMEOUT_MS, freshDeadlines, startsCounting, tierTimeouts } from './lifecycle';
import { AUTHENTICATION_VOIDED, SessionCheck, SessionCheckEvent } from './session-check';
import { asPromise, isPromiseLike } from './promise';
import {
  clip,
  isAssuranceLevel,
  MAX_DATA_BYTES,
  MAX_IP_LENGTH,
  MAX_ROLE_LENGTH,
  MAX_ROLES,
  MAX_USER_AGENT_LENGTH,
  MAX_USER_ID_LENGTH,
  SessionChanges,
  SessionData,
  SessionRecord,
  SESSION_STAGES,
  SessionStage,
  SessionTier,
} from './session-record';
import { generateHandle, generateSessionToken, isWellFormedHandle, isWellFormedSessionToken, sessionIdOf } from './token';

export type { ClientInfo } from './client-info';

/** The lifecycle numbers the manager enforces. All durations in milliseconds. */
export interface SessionPolicy {
  /** Inactivity timeout (ms). */
  idleTimeoutMs: number;
  /** Lifetime from authentication (ms); only re-authentication resets it. */
  absoluteTimeoutMs: number;
  /** Periodic rotation (ms); `Infinity` = off. */
  rotationIntervalMs: number;
  /** How long a periodically rotated-away id resolves to its successor (ms). */
  rotationGraceMs: number;
  /** Minimum time between two idle touches (ms). */
  touchIntervalMs: number;
  /** Live sessions per user; 0 = unlimited. Used when {@link maxConcurrentSessionsFor} is not set. */
  maxConcurrentSessions: number;
  /**
   * The limit of one user, computed at each login from who signs in (a whole number, 0 = unlimited); when set it
   * replaces {@link maxConcurrentSessions}. Default none.
   */
  maxConcurrentSessionsFor?: (user: { userId: string; roles: readonly string[] }) => number | Promise<number>;
  /** A login beyond the limit: end the oldest session, or refuse the login. */
  concurrentSessionPolicy: 'evict-oldest' | 'deny-new';
  /** Inactivity timeout of the "remember me" tier (ms). */
  rememberIdleTimeoutMs: number;
  /** Absolute lifetime of the "remember me" tier (ms). */
  rememberAbsoluteTimeoutMs: number;
  /** Longest life of an impersonation session (ms). */
  impersonationMaxAgeMs: number;
  /**
   * Longest life of a pending session (second factor due), from its creation (ms): its absolute deadline is at most
   * `createdAt + pendingTimeoutMs`, re-authentication included, until it completes. Default
   * {@link DEFAULT_PENDING_TIMEOUT_MS} (5 minutes).
   */
  pendingTimeoutMs?: number;
}

/** A live session in the hands of one request. `id` is the storage id (SHA-256 of the token). */
/** Sessions that ended explicitly, as {@link SessionManager.onSessionsEnded} listeners receive them. */
export interface SessionsEnded {
  userId: string;
  /** Handles of the sessions that ended (may be empty for `allOfUser`: the user had no other session). */
  handles: string[];
  /** Why: `logout`, `revoked`, `logout_everywhere`, `password_change`, a check's reason, ... */
  reason: string;
  /** True for "every session of the user" (logout everywhere, password change, account disabled, admin revoke). */
  allOfUser: boolean;
}

/** Called, and awaited, when sessions end explicitly. */
export type SessionEndListener = (ended: SessionsEnded) => Promise<void> | void;

export interface ActiveSession {
  id: string;
  record: SessionRecord;
}

/** What a token resolved to. */
export type ResolveOutcome =
  /** No session cookie at all. */
  | { kind: 'none' }
  /** A cookie that cannot be a token of ours (wrong length, alphabet...). Never hashed, never looked up. */
  | { kind: 'malformed' }
  /** Well-formed, but no such session (never existed, ended, or its pointer was forgotten). */
  | { kind: 'unknown' }
  /**
   * A rotated-away id past its grace window (a tombstone): it never authenticates again, and the answer must
   * not clear the cookie, since the request that rotated has set the new one and a clearing `Set-Cookie`
   * arriving after it would erase it.
   */
  | { kind: 'rotated' }
  /** It named a session that has timed out. */
  | { kind: 'expired'; record: SessionRecord; reason: 'idle_timeout' | 'absolute_timeout' }
  /** A request-time check ended the session on this request. */
  | { kind: 'ended'; record: SessionRecord; reason: string }
  /** A live session. `issuedToken` is set when this request rotated it: the caller must send the new cookie. */
  | { kind: 'active'; session: ActiveSession; issuedToken?: string };

/** Input to {@link SessionManager.create}. */
export interface CreateSessionInput {
  userId: string;
  client: ClientInfo;
  /** Authentication assurance level. Default 1. */
  aal?: number;
  /** `pending` while a second factor is due. Default `complete`. */
  stage?: SessionStage;
  /** Initial application data. */
  data?: SessionData;
  /** The token the client presented before logging in: that session is destroyed (no fixation). */
  previousToken?: string;
  /** Copy the previous session's data: `true` for all keys, or a list of keys. Default: nothing. */
  carryOver?: boolean | string[];
  /**
   * The user's roles, a snapshot kept in the session: strings of 1 to {@link MAX_ROLE_LENGTH} (64) characters, at
   * most {@link MAX_ROLES} (64) of them; repeats are dropped. Default none.
   */
  roles?: readonly string[];
  /** "Remember me": the `remember` tier, with the remember timeouts (and a persistent cookie). Default `false`. */
  remember?: boolean;
  /**
   * The administrator's user id, for an impersonation session: standard tier, lives at most
   * `impersonationMaxAgeMs` from creation, exempt from the user's concurrent-session limit. Default none.
   */
  impersonatedBy?: string;
  /**
   * When the user actually authenticated (ms since the epoch), if not now: a federated login takes the ID token's
   * `auth_time`. At most {@link AUTHENTICATED_AT_MAX_SKEW_MS} in the future (a later value is clamped to now).
   * Default: now.
   */
  authenticatedAt?: number;
}

/**
 * How far (ms) a given `authenticatedAt` may lie in the future, for the clock skew between this server and an
 * identity provider: 30 s (the tolerance openid-client applies to ID tokens). A value within it counts as now.
 */
export const AUTHENTICATED_AT_MAX_SKEW_MS = 30_000;

const MAX_UPDATE_ATTEMPTS = 100;
/** An explicit rotation that finds the id already rotated (grace) rotates the successor: at most this often. */
const MAX_ROTATE_HOPS = 3;

/**
 * The session lifecycle, free of Nest and HTTP: create on authentication, resolve a presented token
 * (timeouts, periodic and privilege rotation, request-time checks), update data with compare-and-set,
 * re-authenticate, complete a pending sign-in, destroy.
 *
 * Every decision about time uses the injected {@link Clock}; the rules themselves live in `lifecycle.ts`. Every
 * store call is one atomic operation. Errors keep their meaning: a store that cannot be reached surfaces as
 * {@link SessionStoreUnavailableError} (503, fail closed), bad input as {@link SessionInputError}, anything
 * else as itself (a bug: 500).
 */
export class SessionManager {
  private readonly checks: readonly SessionCheck[];
  private readonly endListeners: SessionEndListener[] = [];
  /** The store keeps the session in the token (sealed cookie): ids are cookie values, and every write answers a new one. */
  private readonly sealed: boolean;

  constructor(
    private readonly store: SessionStore,
    private readonly clock: Clock,
    private readonly policy: SessionPolicy,
    private readonly events: SecurityEventBus,
    checks: readonly SessionCheck[] = [],
    /**
     * Around every store call (AV-04): after repeated connectivity failures, calls fail at once (503) instead of
     * each waiting out the store's timeout. Default none.
     */
    private readonly breaker?: StoreCircuitBreaker,
  ) {
    this.checks = checks;
    this.sealed = store.keepsSessionInToken === true;
  }

  /**
   * Creates a session for a freshly authenticated user; always a new token. Returns the token to set.
   *
   * @throws SessionInputError when an input cannot be stored (user id, stage, aal, data, roles, impersonatedBy).
   * @throws TooManySessionsError when the policy is `deny-new` and the user is at the limit (nothing is created).
   */
  async create(input: CreateSessionInput): Promise<{ token: string; session: ActiveSession }> {
    assertUserId(input.userId);
    const stage = input.stage ?? 'complete';
    if (!SESSION_STAGES.includes(stage)) throw new SessionInputError('stage', `must be 'pending' or 'complete' (got ${String(stage)})`);
    const aal = input.aal ?? 1;
    if (!isAssuranceLevel(aal)) throw new SessionInputError('aal', `must be 1, 2 or 3 (got ${String(aal)})`);
    if (input.data !== undefined) assertData(input.data);
    const roles = normalizeRoles(input.roles ?? []);
    const impersonatedBy = input.impersonatedBy ?? null;
    if (impersonatedBy !== null) assertImpersonator(impersonatedBy, input.remember);
    const tier: SessionTier = input.remember === true ? 'remember' : 'standard';
    const authenticatedAt = this.authenticatedAtOf(input.authenticatedAt);
    // Computed before anything is destroyed: a limit function that throws is a bug and must leave no trace. A
    // session that does not count (impersonation, pending) needs none: a pending one meets the limit on completion.
    const limit = countsTowardLimit({ impersonatedBy, stage }) ? await this.limitFor(input.userId, roles) : 0;
    const now = this.clock.now();
    let carried: SessionData = {};
    const previousId = input.previousToken === undefined ? undefined : this.idOfToken(input.previousToken);
    if (previousId !== undefined) {
      const previous = await this.call('destroy', () => this.store.destroy(previousId));
      if (previous) {
        if (input.carryOver === true) carried = previous.data;
        else if (Array.isArray(input.carryOver)) {
          for (const key of input.carryOver) if (key in previous.data) carried[key] = previous.data[key];
        }
        this.emit('session_expired', previous, input.client, { reason: 'replaced_on_login' });
      }
    }
    // A sharded store routes by user (routingTagFor): the token and id carry the user's tag, see lib/core/token.ts.
    const token = generateSessionToken(this.store.routingTagFor?.(input.userId));
    const id = sessionIdOf(token);
    const record: SessionRecord = {
      handle: generateHandle(),
      userId: input.userId,
      createdAt: now,
      ...freshDeadlines(now, tierTimeouts(tier, this.policy), this.capOf({ createdAt: now, impersonatedBy, stage })),
      ...(authenticatedAt === undefined ? {} : { authenticatedAt }),
      rotatedAt: now,
      aal,
      stage,
      roles,
      rolesVersion: 0,
      rotateRequired: false,
      ip: clip(input.client.ip, MAX_IP_LENGTH),
      userAgent: clip(input.client.userAgent, MAX_USER_AGENT_LENGTH),
      tier,
      impersonatedBy,
      version: 1,
      data: { ...carried, ...(input.data ?? {}) },
    };
    const result = await this.call('create', () =>
      this.store.create(id, record, { now, maxConcurrent: limit, onLimit: this.policy.concurrentSessionPolicy }),
    );
    if (result.status === 'denied') {
      this.events.emit({
        type: 'excess_sessions_exceeded',
        time: this.clock.now(),
        level: 'WARN',
        outcome: 'failure',
        userId: input.userId,
        ip: input.client.ip,
        userAgent: input.client.userAgent,
        reason: 'denied',
        detail: { limit, live: result.live.length },
      });
      throw new TooManySessionsError(input.userId, limit, result.live);
    }
    const detail: Record<string, string | number> = { aal: record.aal, stage, tier };
    if (impersonatedBy !== null) detail.impersonatedBy = impersonatedBy;
    this.emit('session_created', record, input.client, { detail });
    // A store written before `deny-new` existed answers `{ evicted }` without a status.
    await this.endEvicted(result.evicted ?? [], input.client, limit, record.handle);
    // A sealed store names the session itself: its id is the cookie value.
    const storedId = result.id ?? id;
    return { token: this.sealed ? storedId : token, session: { id: storedId, record } };
  }

  /**
   * Resolves a presented token: timeouts, then rotation if due (privilege change: at once, the old id becomes
   * a tombstone; periodic: with a grace window in which the old id resolves to the one successor), then the
   * request-time checks.
   */
  resolve(token: string | undefined, client: ClientInfo): Promise<ResolveOutcome> {
    return asPromise(() => this.resolveNow(token, client));
  }

  /**
   * {@link resolve} for the request path: the outcome itself when everything answered at once (a store that reads
   * without I/O, no rotation due, every check content), else a promise. Errors may be thrown synchronously.
   */
  resolveNow(token: string | undefined, client: ClientInfo): ResolveOutcome | Promise<ResolveOutcome> {
    const outcome = this.resolveToken(token, client);
    if (!this.sealed || token === undefined) return outcome;
    return isPromiseLike(outcome) ? outcome.then((o) => reissuedSeal(o, token)) : reissuedSeal(outcome, token);
  }

  private resolveToken(token: string | undefined, client: ClientInfo): ResolveOutcome | Promise<ResolveOutcome> {
    if (token === undefined || token === '') return { kind: 'none' };
    const id = this.idOfToken(token);
    if (id === undefined) return { kind: 'malformed' };
    const now = this.clock.now();
    // No this.call(): the hot path, where a closure and an extra promise per request show.
    const refused = this.breaker?.refusal();
    if (refused) throw storeError('read', refused);
    let read: ReadResult | Promise<ReadResult>;
    try {
      read = this.store.read(id, { now, idleTimeoutMs: this.policy.idleTimeoutMs, touchIntervalMs: this.policy.touchIntervalMs });
    } catch (error) {
      throw this.readFailed(error);
    }
    return isPromiseLike(read) ? this.awaitRead(read, client, now) : this.afterRead(read, client, now);
  }

  /** The store answered with a promise (every store with I/O): wait for it, then go on as {@link afterRead}. */
  private async awaitRead(read: Promise<ReadResult>, client: ClientInfo, now: number): Promise<ResolveOutcome> {
    let result: ReadResult;
    try {
      result = await read;
    } catch (error) {
      throw this.readFailed(error);
    }
    return this.afterRead(result, client, now);
  }

  /** A failed read: counted by the breaker when the store could not be reached, then reported as such. */
  private readFailed(error: unknown): unknown {
    if (this.breaker && isStoreConnectionError(error)) this.breaker.failed(error);
    return storeError('read', error);
  }

  /** What a read means: timeouts, then a due rotation, then the checks. Synchronous unless one of them waits. */
  private afterRead(result: ReadResult, client: ClientInfo, now: number): ResolveOutcome | Promise<ResolveOutcome> {
    this.breaker?.succeeded();
    if (result.status === 'missing') return { kind: 'unknown' };
    if (result.status === 'tombstone') return { kind: 'rotated' };
    if (result.status === 'expired') {
      const reason = now >= result.record.absoluteExpiresAt ? 'absolute_timeout' : 'idle_timeout';
      this.emit('session_expired', result.record, client, { reason });
      this.emit('session_use_after_expire', result.record, client, { level: 'WARN', reason, outcome: 'failure' });
      return { kind: 'expired', record: result.record, reason };
    }
    const session: ActiveSession = { id: result.id, record: result.record };
    // A request arriving through the grace pointer is served by the successor as is: the request that rotated
    // has already sent the new cookie, and minting another would split the session.
    if (!result.viaGrace) {
      if (result.record.rotateRequired) {
        return this.checkedAfter(
          this.rotateInternal(session, 'privilege_change', { rotateRequired: false }, 0, client, false),
          client,
          now,
        );
      }
      if (now - result.record.rotatedAt >= this.policy.rotationIntervalMs) {
        return this.checkedAfter(this.rotateInternal(session, 'periodic', {}, this.policy.rotationGraceMs, client, false), client, now);
      }
    }
    return this.checked({ kind: 'active', session }, client, now);
  }

  /** The checks, once the rotation has settled. */
  private async checkedAfter(rotation: Promise<ResolveOutcome>, client: ClientInfo, now: number): Promise<ResolveOutcome> {
    return this.checked(await rotation, client, now);
  }

  /** The request-time checks on an active outcome. */
  private checked(outcome: ResolveOutcome, client: ClientInfo, now: number): ResolveOutcome | Promise<ResolveOutcome> {
    if (outcome.kind !== 'active' || this.checks.length === 0) return outcome;
    // The steady state: every check answers at once with nothing to do. That costs no promise and no await; the
    // first check with something to say (or a promise) hands over to runChecks, from that check on.
    const checks = this.checks;
    for (let i = 0; i < checks.length; i++) {
      const verdict = checks[i].check({ session: outcome.session.record, client, now });
      if (verdict === undefined || (!isPromiseLike(verdict) && (!verdict || verdict.action === 'allow'))) continue;
      return this.runChecks(outcome, client, now, i, verdict);
    }
    return outcome;
  }

  /**
   * Changes the session's data with compare-and-set, retrying from the current record on conflict, so
   * parallel requests never lose each other's changes, even across a rotation (the store follows the pointer
   * and the session object moves to the successor's id). `mutate` gets a copy and may be called several times:
   * keep it free of side effects. The session object is updated in place.
   *
   * @throws SessionInputError when the new data is not a JSON-serialisable object or is too large.
   */
  async updateData(session: ActiveSession, mutate: (data: SessionData) => SessionData | void): Promise<SessionRecord> {
    let current = session.record;
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      const draft = structuredClone(current.data) as SessionData;
      const next = mutate(draft) ?? draft;
      assertData(next);
      const now = this.clock.now();
      const res = await this.call('update', () => this.store.update(session.id, current.version, { data: next }, now));
      if (res.status === 'missing') throw new SessionGoneError();
      session.id = res.id;
      if (res.status === 'ok') {
        session.record = res.record;
        return res.record;
      }
      current = res.record;
    }
    // Not an outage: a hundred lost races in a row means something rewrites this session in a loop.
    throw new Error(`Session update still conflicting after ${MAX_UPDATE_ATTEMPTS} attempts: something rewrites this session in a loop`);
  }

  /**
   * Issues a new token for the session now (privilege change, MFA step-up, password change). The old token
   * never authenticates again. Returns the new token, or null when the session has ended (or another request
   * rotated it at the same moment) meanwhile.
   *
   * When `changes` make the session start counting toward the concurrent-session limit (`stage: 'complete'` on a
   * pending session: see {@link complete}), the store holds the user's limit in the same atomic step.
   *
   * @throws TooManySessionsError when such a rotation meets the limit under `deny-new`: nothing changed.
   */
  async rotate(session: ActiveSession, reason: string, client: ClientInfo, changes: SessionChanges = {}): Promise<string | null> {
    const { record } = session;
    // Only a completion pays for the limit (the user's function may query a database): other rotations never start
    // counting, and the store would ignore it.
    const limit = startsCounting(record, { ...record, ...definedChanges(changes) })
      ? await this.limitFor(record.userId, record.roles)
      : undefined;
    const outcome = await this.rotateInternal(session, reason, changes, 0, client, true, limit);
    if (outcome.kind !== 'active') return null;
    session.id = outcome.session.id;
    session.record = outcome.session.record;
    return outcome.issuedToken ?? null;
  }

  /**
   * Records a fresh re-authentication: rotates the id, sets `authenticatedAt`, and resets both the idle and
   * the absolute timeout (NIST SP 800-63B-4 §5.2) with the timeouts of the session's tier. An impersonation
   * session's absolute deadline never passes its creation plus `impersonationMaxAgeMs`. Returns the new token,
   * or null if the session ended. `changes.authenticatedAt` (ms) is when the user proved it if not now (a federated
   * re-authentication: the ID token's `auth_time`), validated as on {@link create}.
   *
   * @throws SessionInputError when `changes.authenticatedAt` is not a time (ms) or lies in the future.
   */
  async reauthenticate(session: ActiveSession, client: ClientInfo, changes: SessionChanges = {}): Promise<string | null> {
    const { record } = session;
    const authenticatedAt = this.authenticatedAtOf(changes.authenticatedAt);
    // A pending session stays within its pendingTimeout: re-authenticating does not lengthen a sign-in that has not
    // proven its second factor.
    const deadlines = freshDeadlines(this.clock.now(), tierTimeouts(record.tier, this.policy), this.capOf(record));
    return this.rotate(session, 'reauthentication', client, {
      ...deadlines,
      ...changes,
      authenticatedAt: authenticatedAt ?? deadlines.authenticatedAt,
    });
  }

  /**
   * A given `authenticatedAt` checked: a whole number of ms since the epoch, not in the future beyond
   * {@link AUTHENTICATED_AT_MAX_SKEW_MS} (clamped to now within it). Undefined stays undefined (now).
   */
  private authenticatedAtOf(value: number | undefined): number | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
      throw new SessionInputError('authenticatedAt', `must be a time in ms since the epoch (got ${String(value)})`);
    }
    const now = this.clock.now();
    if (value > now + AUTHENTICATED_AT_MAX_SKEW_MS) {
      throw new SessionInputError(
        'authenticatedAt',
        `lies ${value - now} ms in the future (at most ${AUTHENTICATED_AT_MAX_SKEW_MS} ms of clock skew is accepted): check the clocks of this server and the identity provider`,
      );
    }
    return Math.min(value, now);
  }

  /**
   * Completes a pending sign-in (the second factor is proven): the stage becomes `complete`, the assurance
   * level is raised, and the id rotates like on any privilege change. Returns the new token, or null.
   *
   * The sign-in is now whole, so its timeouts start again from now, those of its tier (like a re-authentication):
   * the short `pendingTimeout` cap is lifted, and the absolute timeout runs from the completion. Only a pending
   * session gets new deadlines; completing one that is already complete (a step-up) only raises `aal` and
   * `authenticatedAt`.
   *
   * The completed session starts counting toward the user's concurrent-session limit, which the store holds in the
   * same atomic step as the rotation: under `evict-oldest` the user's oldest other sessions end (events
   * `excess_sessions_exceeded` and `session_expired`, as on a login); under `deny-new` a user at the limit is
   * refused and nothing changes: the session stays pending, under its id and within its `pendingTimeout`, so the
   * app may let the user sign out a device and complete again, or end it.
   *
   * @throws TooManySessionsError under `deny-new` when the user already has as many counted sessions as allowed.
   */
  async complete(session: ActiveSession, client: ClientInfo, aal: number): Promise<string | null> {
    if (!isAssuranceLevel(aal)) throw new SessionInputError('aal', `must be 1, 2 or 3 (got ${String(aal)})`);
    const { record } = session;
    const now = this.clock.now();
    const deadlines =
      record.stage === 'pending'
        ? freshDeadlines(now, tierTimeouts(record.tier, this.policy), this.capOf({ ...record, stage: 'complete' }))
        : { authenticatedAt: now };
    return this.rotate(session, 'authentication_completed', client, { ...deadlines, stage: 'complete', aal });
  }

  /**
   * Calls `listener` (and awaits it) every time sessions end explicitly: logout, revocation by handle, logout
   * everywhere, a request-time check ending one, and the oldest sessions a login evicts beyond the
   * concurrent-session limit (reason `excess_sessions`). Not for timeouts (nothing ended them: they ran out). What
   * depends on a session (the access tokens exchanged from it) dies with it there. A listener that throws a store
   * connection error fails the call with 503, after the sessions have ended.
   */
  onSessionsEnded(listener: SessionEndListener): void {
    this.endListeners.push(listener);
  }

  /** Ends one session (logout). */
  async destroy(session: ActiveSession, client: ClientInfo, reason = 'logout'): Promise<void> {
    const record = await this.call('destroy', () => this.store.destroy(session.id));
    if (record) this.emit(reason === 'logout' ? 'session_logout' : 'session_expired', record, client, { reason });
    if (record) await this.notifyEnded({ userId: record.userId, handles: [record.handle], reason, allOfUser: false });
  }

  /** Ends every session of a user except `exceptId` (logout everywhere). Returns how many ended. */
  async destroyAllForUser(userId: string, client?: ClientInfo, options: { exceptId?: string; reason?: string } = {}): Promise<number> {
    const ended = await this.call('destroyByUser', () => this.store.destroyByUser(userId, options.exceptId));
    const reason = options.reason ?? 'logout_everywhere';
    for (const record of ended) this.emit('session_expired', record, client, { reason });
    // Also when no session ended: what the user holds besides sessions (refresh tokens) ends everywhere too.
    await this.notifyEnded({ userId, handles: ended.map((r) => r.handle), reason, allOfUser: true });
    return ended.length;
  }

  /** Live sessions of a user, oldest first. */
  async list(userId: string): Promise<StoredSession[]> {
    return this.call('listByUser', () => this.store.listByUser(userId, this.clock.now()));
  }

  /** Ends the user's session with this handle. False when the user has no such session. */
  async revoke(userId: string, handle: string, client?: ClientInfo): Promise<boolean> {
    // A handle that cannot be one of ours (e.g. a 10 KB path parameter) never reaches the store.
    if (!isWellFormedHandle(handle)) return false;
    const record = await this.call('destroyByHandle', () => this.store.destroyByHandle(userId, handle));
    if (record) this.emit('session_revoked', record, client, { reason: 'revoked' });
    if (record) await this.notifyEnded({ userId, handles: [record.handle], reason: 'revoked', allOfUser: false });
    return record !== null;
  }

  /** The user's privileges changed: every live session rotates at its next request. Returns how many. */
  async bumpPrivileges(userId: string): Promise<number> {
    return this.call('requireRotationForUser', () => this.store.requireRotationForUser(userId));
  }

  /**
   * The user's roles changed: every live session of the user (impersonation sessions included) gets `roles` as
   * its snapshot at once. A session that gains a role rotates its id at its next request (RO-01); one that only
   * loses roles keeps its id, and the loss applies to its next request. Emits `authz_change`. Returns how many
   * sessions changed (those whose roles already were `roles` are left alone).
   *
   * @throws SessionInputError when `roles` is not a list of at most 64 role names of 1 to 64 characters.
   */
  async setRoles(userId: string, roles: readonly string[], client?: ClientInfo): Promise<number> {
    assertUserId(userId);
    const next = normalizeRoles(roles);
    const changed = await this.call('updateUserRoles', () => this.store.updateUserRoles(userId, next, this.clock.now()));
    this.events.emit({
      type: 'authz_change',
      time: this.clock.now(),
      level: 'INFO',
      outcome: 'success',
      userId,
      ip: client?.ip,
      userAgent: client?.userAgent,
      reason: 'roles_changed',
      detail: { roles: next.join(','), sessions: changed },
    });
    return changed;
  }

  /**
   * Checks that the store answers. Always asks the store, even with the circuit open: a health check must report
   * the store, not the breaker; and its answer counts like any call's (a success closes the circuit at once).
   */
  async ping(): Promise<void> {
    await this.call('ping', () => this.store.ping(), false);
  }

  /** The circuit breaker's state, `closed` without one. */
  get circuitState(): CircuitState {
    return this.breaker?.state ?? 'closed';
  }

  /**
   * Rotates `session`. A parallel rotation may have won: within its grace window the successor serves this
   * request as is (a resolve), or is rotated again (an explicit rotation, which must hand this request a token
   * minted for it); past it, the old id is a tombstone and this request lost (`rotated`).
   */
  private async rotateInternal(
    session: ActiveSession,
    reason: string,
    changes: SessionChanges,
    graceMs: number,
    client: ClientInfo,
    explicit: boolean,
    limit?: number,
  ): Promise<ResolveOutcome> {
    let fromId = session.id;
    const held = limit === undefined ? undefined : { maxConcurrent: limit, onLimit: this.policy.concurrentSessionPolicy };
    for (let hop = 0; hop < MAX_ROTATE_HOPS; hop++) {
      const now = this.clock.now();
      // The successor keeps the user's routing tag (same shard as the session and the user's index).
      const token = generateSessionToken(this.store.routingTagFor?.(session.record.userId));
      const id = sessionIdOf(token);
      const res = await this.call('rotate', () =>
        this.store.rotate(fromId, id, { now, graceMs, changes: { rotatedAt: now, ...changes }, limit: held }),
      );
      if (res.status === 'missing') return { kind: 'unknown' };
      if (res.status === 'tombstone') return { kind: 'rotated' };
      if (res.status === 'denied') {
        this.emit('excess_sessions_exceeded', session.record, client, {
          level: 'WARN',
          outcome: 'failure',
          reason: 'denied',
          detail: { limit: limit ?? 0, live: res.live.length },
        });
        throw new TooManySessionsError(session.record.userId, limit ?? 0, res.live);
      }
      if (res.status === 'rotated') {
        this.emit('session_renewed', res.record, client, { reason });
        await this.endEvicted(res.evicted ?? [], client, limit ?? 0, res.record.handle);
        // A sealed store names the successor itself: its id is the new cookie value.
        const newId = res.id ?? id;
        return { kind: 'active', session: { id: newId, record: res.record }, issuedToken: this.sealed ? newId : token };
      }
      if (!explicit) return { kind: 'active', session: { id: res.id, record: res.record } };
      fromId = res.id;
    }
    return { kind: 'rotated' };
  }

  /**
   * The store id of a presented token, or `undefined` when it cannot be one of ours (never hashed, never looked up):
   * the SHA-256 of a well-formed random token, or, for a store that keeps the session in the token (sealed cookie),
   * the token itself when the store recognises its shape.
   */
  private idOfToken(token: string): string | undefined {
    if (this.sealed) return this.store.isWellFormedToken?.(token) === true ? token : undefined;
    return isWellFormedSessionToken(token) ? sessionIdOf(token) : undefined;
  }

  /**
   * The latest absolute deadline `record` may have (`absoluteCap` in `lib/core/lifecycle.ts`): impersonation and
   * pending sessions are capped from their creation.
   */
  private capOf(record: Pick<SessionRecord, 'createdAt' | 'impersonatedBy' | 'stage'>): number {
    return absoluteCap(record, this.policy.impersonationMaxAgeMs, this.policy.pendingTimeoutMs ?? DEFAULT_PENDING_TIMEOUT_MS);
  }

  /**
   * Sessions a login or a completion evicted to respect the limit: each is named in the events, then the end
   * listeners hear of them (reason `excess_sessions`), so what hangs on them (access tokens exchanged from them)
   * ends too. Evictions of one user only: the limit is per user.
   */
  private async endEvicted(evicted: readonly SessionRecord[], client: ClientInfo, limit: number, newSession: string): Promise<void> {
    if (evicted.length === 0) return;
    for (const old of evicted) {
      this.emit('excess_sessions_exceeded', old, client, { level: 'WARN', reason: 'oldest_revoked', detail: { limit, newSession } });
      this.emit('session_expired', old, client, { reason: 'excess_sessions' });
    }
    await this.notifyEnded({
      userId: evicted[0].userId,
      handles: evicted.map((old) => old.handle),
      reason: 'excess_sessions',
      allOfUser: false,
    });
  }

  /** The concurrent-session limit of this user: the function's answer when the module has one, else the number. */
  private async limitFor(userId: string, roles: readonly string[]): Promise<number> {
    const compute = this.policy.maxConcurrentSessionsFor;
    if (!compute) return this.policy.maxConcurrentSessions;
    const limit = await compute({ userId, roles });
    if (!Number.isInteger(limit) || limit < 0) {
      throw new TypeError(
        `maxConcurrentSessions function answered ${String(limit)} for user "${userId}": it must return a whole number >= 0 (0 = unlimited)`,
      );
    }
    return limit;
  }

  /** The checks from `start` on, the verdict of `checks[start]` already asked for (`first`). */
  private async runChecks(
    outcome: Extract<ResolveOutcome, { kind: 'active' }>,
    client: ClientInfo,
    now: number,
    start: number,
    first: ReturnType<SessionCheck['check']>,
  ): Promise<ResolveOutcome> {
    let record = outcome.session.record;
    for (let i = start; i < this.checks.length; i++) {
      const check = this.checks[i];
      const verdict = await (i === start ? first : check.check({ session: record, client, now }));
      if (!verdict || verdict.action === 'allow') continue;
      if (verdict.action === 'record') {
        this.emitCheckEvent(check, verdict.event, record, client);
        continue;
      }
      if (verdict.action === 'challenge') {
        if (verdict.event) this.emitCheckEvent(check, verdict.event, record, client);
        if (!(await this.voidAuthentication(outcome.session, now))) return { kind: 'unknown' };
        record = outcome.session.record;
        continue;
      }
      if (verdict.event) this.emitCheckEvent(check, verdict.event, record, client);
      const ended = await this.call('destroy', () => this.store.destroy(outcome.session.id));
      if (ended) this.emit('session_expired', ended, client, { reason: verdict.reason, detail: { check: check.name } });
      if (ended) await this.notifyEnded({ userId: ended.userId, handles: [ended.handle], reason: verdict.reason, allOfUser: false });
      return { kind: 'ended', record, reason: verdict.reason };
    }
    return outcome;
  }

  /**
   * Sets `authenticatedAt` to {@link AUTHENTICATION_VOIDED} with compare-and-set (no rotation: the new token would
   * go to whoever sent the suspicious request). False when the session is gone.
   */
  private async voidAuthentication(session: ActiveSession, now: number): Promise<boolean> {
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      if (session.record.authenticatedAt === AUTHENTICATION_VOIDED) return true;
      const current = session.record;
      const res = await this.call('update', () =>
        this.store.update(session.id, current.version, { authenticatedAt: AUTHENTICATION_VOIDED }, now),
      );
      if (res.status === 'missing') return false;
      session.id = res.id;
      session.record = res.record;
      if (res.status === 'ok') return true;
    }
    throw new Error(`Session update still conflicting after ${MAX_UPDATE_ATTEMPTS} attempts: something rewrites this session in a loop`);
  }

  /** Runs the end listeners (none: no cost); a connectivity failure among them is a 503 like a store's. */
  private async notifyEnded(ended: SessionsEnded): Promise<void> {
    if (this.endListeners.length === 0) return;
    await this.call('sessionsEnded', () => Promise.all(this.endListeners.map((listener) => listener(ended))));
  }

  private emitCheckEvent(check: SessionCheck, event: SessionCheckEvent, record: SessionRecord, client: ClientInfo): void {
    this.emit(event.type, record, client, {
      level: event.level ?? 'WARN',
      outcome: event.outcome ?? 'failure',
      reason: event.reason,
      detail: { check: check.name, ...event.detail },
    });
  }

  private emit(
    type: SecurityEvent['type'],
    record: SessionRecord,
    client: ClientInfo | undefined,
    extra: Partial<SecurityEvent> = {},
  ): void {
    this.events.emit({
      type,
      time: this.clock.now(),
      level: 'INFO',
      outcome: 'success',
      userId: record.userId,
      sessionHandle: record.handle,
      // Without a request of its own (an admin ending a user's sessions, logout everywhere from elsewhere), the
      // event still says where the session was used from, as the session recorded it (LG-01..03: IP and UA where known).
      ip: client ? client.ip : record.ip || undefined,
      userAgent: client ? client.userAgent : record.userAgent || undefined,
      ...extra,
    });
  }

  /**
   * Runs one store operation. Only a connectivity failure becomes {@link SessionStoreUnavailableError} (503);
   * anything else is a bug or bad input and keeps its identity and stack.
   */
  private call<T>(operation: string, fn: () => Promise<T>, gated = true): Promise<T> {
    const breaker = this.breaker;
    const refused = gated ? breaker?.refusal() : undefined;
    if (refused) return Promise.reject(storeError(operation, refused));
    const wrap = (error: unknown): never => {
      if (breaker && isStoreConnectionError(error)) breaker.failed(error);
      throw storeError(operation, error);
    };
    let pending: Promise<T>;
    try {
      pending = fn();
    } catch (error) {
      return Promise.reject(error).catch(wrap);
    }
    // .catch, not an async wrapper: this is on every request's path.
    if (!breaker) return pending.catch(wrap);
    return pending.then((value) => {
      breaker.succeeded();
      return value;
    }, wrap);
  }
}

/**
 * Sealed cookie: any write during the resolution (idle touch, rotation, a check voiding the authentication) re-sealed
 * the session, and its id is the new cookie value, which the caller must send.
 */
function reissuedSeal(outcome: ResolveOutcome, presented: string): ResolveOutcome {
  if (outcome.kind !== 'active' || outcome.session.id === presented) return outcome;
  return { ...outcome, issuedToken: outcome.session.id };
}

/** `changes` without the keys present as `undefined`, which leave their field as it was (see `applyChanges`). */
function definedChanges(changes: SessionChanges): SessionChanges {
  return Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)) as SessionChanges;
}

/** A connectivity failure becomes {@link SessionStoreUnavailableError} (503); anything else stays as it is. */
function storeError(operation: string, error: unknown): unknown {
  return isStoreConnectionError(error) ? new SessionStoreUnavailableError(operation, error) : error;
}

function assertUserId(userId: unknown): void {
  if (typeof userId !== 'string' || userId.length === 0) {
    throw new SessionInputError(
      'userId',
      `must be a non-empty string (got ${typeof userId === 'string' ? 'an empty string' : typeof userId})`,
    );
  }
  if (userId.length > MAX_USER_ID_LENGTH) {
    throw new SessionInputError('userId', `has ${userId.length} characters; at most ${MAX_USER_ID_LENGTH} fit every store`);
  }
}

/**
 * Checks a roles list and returns it without repeats (first occurrence kept): a set of role names every store
 * can hold. Throws {@link SessionInputError} naming what is wrong.
 */
export function normalizeRoles(roles: unknown): string[] {
  if (!Array.isArray(roles)) {
    throw new SessionInputError('roles', `must be an array of role names (got ${roles === null ? 'null' : typeof roles})`);
  }
  const unique = [...new Set(roles as unknown[])];
  if (unique.length > MAX_ROLES) {
    throw new SessionInputError(
      'roles',
      `has ${unique.length} roles; at most ${MAX_ROLES} fit a session: keep coarse roles there and derive permissions from them`,
    );
  }
  for (const role of unique) {
    if (typeof role !== 'string' || role.length === 0 || role.length > MAX_ROLE_LENGTH) {
      throw new SessionInputError(
        'roles',
        `must hold only role names of 1 to ${MAX_ROLE_LENGTH} characters (got ${typeof role === 'string' ? `a string of ${role.length}` : typeof role})`,
      );
    }
  }
  return unique as string[];
}

function assertImpersonator(impersonatedBy: unknown, remember: boolean | undefined): void {
  if (typeof impersonatedBy !== 'string' || impersonatedBy.length === 0 || impersonatedBy.length > MAX_USER_ID_LENGTH) {
    throw new SessionInputError(
      'impersonatedBy',
      `must be the administrator's user id, a string of 1 to ${MAX_USER_ID_LENGTH} characters (got ${typeof impersonatedBy === 'string' ? `${impersonatedBy.length} characters` : typeof impersonatedBy})`,
    );
  }
  if (remember === true) {
    throw new SessionInputError(
      'remember',
      'cannot be true for an impersonation session (impersonatedBy): it lives at most impersonation.maxAge; drop remember',
    );
  }
}

/** Session data must survive every store unchanged: a plain JSON object of bounded size. */
function assertData(data: unknown): void {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new SessionInputError(
      'data',
      `must be a plain object (got ${Array.isArray(data) ? 'an array' : data === null ? 'null' : typeof data})`,
    );
  }
  let json: string;
  try {
    json = JSON.stringify(data);
  } catch (error) {
    throw new SessionInputError(
      'data',
      `is not JSON-serialisable (${error instanceof Error ? error.message : String(error)}): keep strings, numbers, booleans, null, arrays and plain objects (store a BigInt as a string)`,
    );
  }
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > MAX_DATA_BYTES) {
    throw new SessionInputError(
      'data',
      `is ${bytes} bytes as JSON; at most ${MAX_DATA_BYTES} fit every store: keep large state elsewhere and its id in the session`,
    );
  }
}

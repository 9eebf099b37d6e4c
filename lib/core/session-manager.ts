import { SessionStore, StoredSession } from '../stores/session-store';
import { SecurityEventBus } from '../events/security-event-bus';
import { SecurityEvent } from '../events/security-event';
import { Clock } from './clock';
import { SessionGoneError, SessionStoreUnavailableError } from './errors';
import { MAX_IP_LENGTH, MAX_USER_AGENT_LENGTH, SessionChanges, SessionData, SessionRecord } from './session-record';
import { generateHandle, generateToken, hashToken, isWellFormedToken } from './token';

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
  /** Live sessions per user; 0 = unlimited. */
  maxConcurrentSessions: number;
}

/** Who is on the other end of the request. */
export interface ClientInfo {
  ip: string;
  userAgent: string;
}

/** A live session in the hands of one request. `id` is the storage id (SHA-256 of the token). */
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
  /** Well-formed, but no such session (never existed, ended, or its grace window passed). */
  | { kind: 'unknown' }
  /** It named a session that has timed out. */
  | { kind: 'expired'; record: SessionRecord; reason: 'idle_timeout' | 'absolute_timeout' }
  /** A live session. `issuedToken` is set when this request rotated it: the caller must send the new cookie. */
  | { kind: 'active'; session: ActiveSession; issuedToken?: string };

/** Input to {@link SessionManager.create}. */
export interface CreateSessionInput {
  userId: string;
  client: ClientInfo;
  /** Authentication assurance level. Default 1. */
  aal?: number;
  /** Initial application data. */
  data?: SessionData;
  /** The token the client presented before logging in: that session is destroyed (no fixation). */
  previousToken?: string;
  /** Copy the previous session's data: `true` for all keys, or a list of keys. Default: nothing. */
  carryOver?: boolean | string[];
}

const MAX_UPDATE_ATTEMPTS = 100;

/**
 * The session lifecycle, free of Nest and HTTP: create on authentication, resolve a presented token
 * (timeouts, periodic and privilege rotation), update data with compare-and-set, re-authenticate, destroy.
 *
 * Every decision about time uses the injected {@link Clock}; every store call is one atomic operation, and a
 * failing store surfaces as {@link SessionStoreUnavailableError} so callers fail closed.
 */
export class SessionManager {
  constructor(
    private readonly store: SessionStore,
    private readonly clock: Clock,
    private readonly policy: SessionPolicy,
    private readonly events: SecurityEventBus,
  ) {}

  /** Creates a session for a freshly authenticated user; always a new token. Returns the token to set. */
  async create(input: CreateSessionInput): Promise<{ token: string; session: ActiveSession }> {
    const now = this.clock.now();
    let carried: SessionData = {};
    if (input.previousToken !== undefined && isWellFormedToken(input.previousToken)) {
      const previous = await this.call('destroy', () => this.store.destroy(hashToken(input.previousToken!)));
      if (previous) {
        if (input.carryOver === true) carried = previous.data;
        else if (Array.isArray(input.carryOver)) {
          for (const key of input.carryOver) if (key in previous.data) carried[key] = previous.data[key];
        }
        this.emit('session_expired', previous, input.client, { reason: 'replaced_on_login' });
      }
    }
    const token = generateToken();
    const id = hashToken(token);
    const record: SessionRecord = {
      handle: generateHandle(),
      userId: input.userId,
      createdAt: now,
      lastSeenAt: now,
      idleExpiresAt: Math.min(now + this.policy.idleTimeoutMs, now + this.policy.absoluteTimeoutMs),
      absoluteExpiresAt: now + this.policy.absoluteTimeoutMs,
      authenticatedAt: now,
      rotatedAt: now,
      aal: input.aal ?? 1,
      rolesVersion: 0,
      rotateRequired: false,
      ip: clip(input.client.ip, MAX_IP_LENGTH),
      userAgent: clip(input.client.userAgent, MAX_USER_AGENT_LENGTH),
      version: 1,
      data: { ...carried, ...(input.data ?? {}) },
    };
    const { evicted } = await this.call('create', () =>
      this.store.create(id, record, { now, maxConcurrent: this.policy.maxConcurrentSessions }),
    );
    this.emit('session_created', record, input.client, { detail: { aal: record.aal } });
    for (const old of evicted) {
      this.emit('excess_sessions_exceeded', old, input.client, {
        level: 'WARN',
        reason: 'oldest_revoked',
        detail: { limit: this.policy.maxConcurrentSessions, newSession: record.handle },
      });
      this.emit('session_expired', old, input.client, { reason: 'excess_sessions' });
    }
    return { token, session: { id, record } };
  }

  /**
   * Resolves a presented token: timeouts, then rotation if due (privilege change: at once, the old id dies;
   * periodic: with a grace window in which the old id resolves to the one successor).
   */
  async resolve(token: string | undefined, client: ClientInfo): Promise<ResolveOutcome> {
    if (token === undefined || token === '') return { kind: 'none' };
    if (!isWellFormedToken(token)) return { kind: 'malformed' };
    const now = this.clock.now();
    const result = await this.call('read', () =>
      this.store.read(hashToken(token), {
        now,
        idleTimeoutMs: this.policy.idleTimeoutMs,
        touchIntervalMs: this.policy.touchIntervalMs,
      }),
    );
    if (result.status === 'missing') return { kind: 'unknown' };
    if (result.status === 'expired') {
      const reason = now >= result.record.absoluteExpiresAt ? 'absolute_timeout' : 'idle_timeout';
      this.emit('session_expired', result.record, client, { reason });
      this.emit('session_use_after_expire', result.record, client, { level: 'WARN', reason, outcome: 'failure' });
      return { kind: 'expired', record: result.record, reason };
    }
    const session: ActiveSession = { id: result.id, record: result.record };
    // A request arriving through the grace pointer is served by the successor as is: the request that rotated
    // has already sent the new cookie, and minting another would split the session.
    if (result.viaGrace) return { kind: 'active', session };
    if (session.record.rotateRequired) {
      const rotated = await this.rotateInternal(session, 'privilege_change', { rotateRequired: false }, 0, client);
      return rotated ? { kind: 'active', ...rotated } : { kind: 'unknown' };
    }
    if (now - session.record.rotatedAt >= this.policy.rotationIntervalMs) {
      const rotated = await this.rotateInternal(session, 'periodic', {}, this.policy.rotationGraceMs, client);
      return rotated ? { kind: 'active', ...rotated } : { kind: 'unknown' };
    }
    return { kind: 'active', session };
  }

  /**
   * Changes the session's data with compare-and-set, retrying from the current record on conflict, so
   * parallel requests never lose each other's changes. `mutate` gets a copy and may be called several times:
   * keep it free of side effects. The session object is updated in place.
   */
  async updateData(session: ActiveSession, mutate: (data: SessionData) => SessionData | void): Promise<SessionRecord> {
    let current = session.record;
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      const draft = structuredClone(current.data);
      const next = mutate(draft) ?? draft;
      const now = this.clock.now();
      const res = await this.call('update', () => this.store.update(session.id, current.version, { data: next }, now));
      if (res.status === 'ok') {
        session.record = res.record;
        return res.record;
      }
      if (res.status === 'missing') throw new SessionGoneError();
      current = res.record;
    }
    throw new SessionStoreUnavailableError('update', new Error(`still conflicting after ${MAX_UPDATE_ATTEMPTS} attempts`));
  }

  /**
   * Issues a new token for the session now (privilege change, MFA step-up, password change). The old token
   * dies at once. Returns the new token, or null when the session has ended meanwhile.
   */
  async rotate(session: ActiveSession, reason: string, client: ClientInfo, changes: SessionChanges = {}): Promise<string | null> {
    const rotated = await this.rotateInternal(session, reason, changes, 0, client);
    if (!rotated) return null;
    session.id = rotated.session.id;
    session.record = rotated.session.record;
    return rotated.issuedToken ?? null;
  }

  /**
   * Records a fresh re-authentication: rotates the id, sets `authenticatedAt`, and resets both the idle and
   * the absolute timeout (NIST SP 800-63B-4 §5.2). Returns the new token, or null if the session ended.
   */
  async reauthenticate(session: ActiveSession, client: ClientInfo, changes: SessionChanges = {}): Promise<string | null> {
    const now = this.clock.now();
    return this.rotate(session, 'reauthentication', client, {
      authenticatedAt: now,
      lastSeenAt: now,
      idleExpiresAt: Math.min(now + this.policy.idleTimeoutMs, now + this.policy.absoluteTimeoutMs),
      absoluteExpiresAt: now + this.policy.absoluteTimeoutMs,
      ...changes,
    });
  }

  /** Ends one session (logout). */
  async destroy(session: ActiveSession, client: ClientInfo, reason = 'logout'): Promise<void> {
    const record = await this.call('destroy', () => this.store.destroy(session.id));
    if (record) this.emit(reason === 'logout' ? 'session_logout' : 'session_expired', record, client, { reason });
  }

  /** Ends every session of a user except `exceptId` (logout everywhere). Returns how many ended. */
  async destroyAllForUser(userId: string, client?: ClientInfo, options: { exceptId?: string; reason?: string } = {}): Promise<number> {
    const ended = await this.call('destroyByUser', () => this.store.destroyByUser(userId, options.exceptId));
    for (const record of ended) this.emit('session_expired', record, client, { reason: options.reason ?? 'logout_everywhere' });
    return ended.length;
  }

  /** Live sessions of a user, oldest first. */
  async list(userId: string): Promise<StoredSession[]> {
    return this.call('listByUser', () => this.store.listByUser(userId, this.clock.now()));
  }

  /** Ends the user's session with this handle. False when the user has no such session. */
  async revoke(userId: string, handle: string, client?: ClientInfo): Promise<boolean> {
    const record = await this.call('destroyByHandle', () => this.store.destroyByHandle(userId, handle));
    if (record) this.emit('session_revoked', record, client, { reason: 'revoked' });
    return record !== null;
  }

  /** The user's privileges changed: every live session rotates at its next request. Returns how many. */
  async bumpPrivileges(userId: string): Promise<number> {
    return this.call('requireRotationForUser', () => this.store.requireRotationForUser(userId));
  }

  /** Checks that the store answers. */
  async ping(): Promise<void> {
    await this.call('ping', () => this.store.ping());
  }

  private async rotateInternal(
    session: ActiveSession,
    reason: string,
    changes: SessionChanges,
    graceMs: number,
    client: ClientInfo,
  ): Promise<{ session: ActiveSession; issuedToken?: string } | null> {
    let fromId = session.id;
    // A parallel rotation may win the race; for a privilege rotation we then rotate the winner's successor,
    // so this request still ends up with a token that has just been issued for it.
    for (let attempt = 0; attempt < 3; attempt++) {
      const now = this.clock.now();
      const token = generateToken();
      const id = hashToken(token);
      const res = await this.call('rotate', () => this.store.rotate(fromId, id, { now, graceMs, changes: { rotatedAt: now, ...changes } }));
      if (res.status === 'missing') return null;
      if (res.status === 'rotated') {
        this.emit('session_renewed', res.record, client, { reason });
        return { session: { id, record: res.record }, issuedToken: token };
      }
      if (graceMs > 0) return { session: { id: res.id, record: res.record } };
      fromId = res.id;
    }
    return null;
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
      ip: client ? clip(client.ip, MAX_IP_LENGTH) : undefined,
      userAgent: client ? clip(client.userAgent, MAX_USER_AGENT_LENGTH) : undefined,
      ...extra,
    });
  }

  private call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    const wrap = (error: unknown): never => {
      if (error instanceof SessionStoreUnavailableError) throw error;
      throw new SessionStoreUnavailableError(operation, error);
    };
    let pending: Promise<T>;
    try {
      pending = fn();
    } catch (error) {
      return Promise.reject(error).catch(wrap);
    }
    // .catch, not an async wrapper: this is on every request's path.
    return pending.catch(wrap);
  }
}

function clip(value: string, max: number): string {
  return value.length > max ? value.slice(0, max) : value;
}

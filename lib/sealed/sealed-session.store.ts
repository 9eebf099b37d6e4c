import { randomBytes } from 'node:crypto';
import { Clock, SystemClock } from '../core/clock';
import { applyChanges, isExpired, touchChanges } from '../core/lifecycle';
import { isSessionRecord, SessionChanges, SessionRecord } from '../core/session-record';
import { hashToken } from '../core/token';
import {
  CounterState,
  CreateOptions,
  CreateResult,
  ReadOptions,
  ReadResult,
  RotateOptions,
  RotateResult,
  SessionStore,
  StoredSession,
  UpdateResult,
} from '../stores/session-store';
import type { TokenStore } from '../tokens/token-store';
import { SealedKeyRing, SealingKey } from './sealed-key-ring';
import { MAX_COOKIE_BYTES, SealedCookieTooLargeError, SealedSessionsUnlistedError } from './sealed-session.errors';

/** Options of {@link SealedSessionStore}. `SessionModule` builds the store from its `sealed` option. */
export interface SealedSessionStoreOptions {
  /** The key ring, newest first: the first key seals, every key opens (see {@link SealedKeyRing}). */
  keys: readonly SealingKey[];
  /**
   * Where the small server-side revocation record lives: a per-user cut-off and a per-session denylist, each entry
   * kept until nothing it refuses can be alive. A `TokenStore`: `InMemoryTokenStore`, `RedisTokenStore`
   * (`nest-session-kit/redis`) or `TypeOrmTokenStore` (`nest-session-kit/typeorm`), the same record the API-token
   * layer keeps.
   */
  revocations: TokenStore;
  /** The longest life of any session (ms): how long a user cut-off or an admin revocation is kept. */
  maxLifetimeMs: number;
  /** The module's one clock, for the operations that take no `now` (logout, admin revoke). Default the system clock. */
  clock?: Clock;
  /**
   * The bytes of the `Set-Cookie` line that would carry a given cookie value (name, value and attributes). Default:
   * `__Host-sid` with the module's default attributes and a `Max-Age`.
   */
  cookieBytes?: (value: string) => number;
}

/** What a sealed cookie holds. */
interface SealedPayload {
  /** Format version. */
  v: 1;
  /** Random per rotation (128 bits): the cookies of one rotation generation, denied together when it rotates away. */
  n: string;
  /** Revocation epoch (ms): when this generation was minted (creation or rotation); compared with the user's cut-off. */
  ep: number;
  /** The session. */
  s: SessionRecord;
}

type Opened = { payload: SealedPayload; record: SessionRecord };

/** Compact JWE with `dir`: an empty encrypted-key part, a 96-bit IV (16 characters), a 128-bit tag (22 characters). */
const SEALED_SHAPE = /^[A-Za-z0-9_-]{2,}\.\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/;

const DEFAULT_ATTRIBUTES = '; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=7776000';

/**
 * Client-side sessions: the whole session record travels in the cookie, sealed (encrypted and authenticated) as a
 * compact JWE `dir` + `A256GCM` with a `kid` from a key ring, so app instances share no session storage. It implements
 * the `SessionStore` contract with {@link keepsSessionInToken}: the ids are the cookie values, and every write (idle
 * touch, data update, rotation) answers a freshly sealed one that the module sends as the new cookie.
 *
 * What it keeps server-side, in a `TokenStore` (one round trip per request, a single `MGET` on Redis): a per-user
 * cut-off (logout everywhere, role changes: cookies of earlier generations are refused), a denylist of ended sessions
 * (logout, admin revoke: by user and handle, until the session's absolute deadline) and of rotated-away generations (an
 * explicit rotation: the old cookie dies at once).
 *
 * What it cannot do, and says so: list or count a user's sessions (`listByUser`, `countByUser` throw
 * {@link SealedSessionsUnlistedError}), hold a concurrent-session limit (`create` with `maxConcurrent > 0` throws),
 * know how many sessions a user-wide operation ended (they answer 0), keep named counters (`increment` throws).
 * Parallel writes of one session from two requests cannot be compared-and-set: the browser keeps the cookie of the
 * last answer.
 */
export class SealedSessionStore extends SessionStore {
  override readonly keepsSessionInToken = true;
  private readonly ring: SealedKeyRing;
  private readonly revocations: TokenStore;
  private readonly maxLifetimeMs: number;
  private readonly clock: Clock;
  private readonly cookieBytes: (value: string) => number;

  /** @throws TypeError naming what is wrong with the options (keys, revocations, maxLifetimeMs). */
  constructor(options: SealedSessionStoreOptions) {
    super();
    this.ring = new SealedKeyRing(options.keys);
    if (typeof options.revocations?.checkAccess !== 'function') {
      throw new TypeError(
        'SealedSessionStore: revocations must be a TokenStore (InMemoryTokenStore, RedisTokenStore, TypeOrmTokenStore) to keep logouts in',
      );
    }
    if (!Number.isSafeInteger(options.maxLifetimeMs) || options.maxLifetimeMs <= 0) {
      throw new TypeError(`SealedSessionStore: maxLifetimeMs must be a positive whole number of ms (got ${String(options.maxLifetimeMs)})`);
    }
    this.revocations = options.revocations;
    this.maxLifetimeMs = options.maxLifetimeMs;
    this.clock = options.clock ?? new SystemClock();
    this.cookieBytes = options.cookieBytes ?? ((value) => Buffer.byteLength(`__Host-sid=${value}${DEFAULT_ATTRIBUTES}`));
  }

  /** A compact JWE of our shape, short enough to be a cookie. Cheap: no decryption. */
  override isWellFormedToken(token: string): boolean {
    return typeof token === 'string' && token.length <= MAX_COOKIE_BYTES && SEALED_SHAPE.test(token);
  }

  override async connect(): Promise<void> {
    await this.revocations.connect();
  }

  /** Seals the new session. There is no server-side list, hence no concurrent-session limit to hold. */
  async create(_id: string, record: SessionRecord, options: CreateOptions): Promise<CreateResult> {
    assertNoLimit(options.maxConcurrent);
    const id = await this.seal({ v: 1, n: nonce(), ep: options.now, s: record });
    return { status: 'created', evicted: [], id };
  }

  /** Opens the cookie; expired → `expired`; revoked → `missing`; a due idle touch re-seals (a new id). */
  async read(id: string, options: ReadOptions): Promise<ReadResult> {
    const opened = await this.open(id);
    if (!opened) return { status: 'missing' };
    if (isExpired(opened.record, options.now)) return { status: 'expired', record: opened.record };
    if (await this.isRevoked(opened.payload, options.now)) return { status: 'missing' };
    const touch = touchChanges(opened.record, options.now, options.idleTimeoutMs, options.touchIntervalMs);
    if (!touch) return { status: 'active', id, record: opened.record, viaGrace: false };
    const record = applyChanges(opened.record, touch, false);
    return { status: 'active', id: await this.seal({ ...opened.payload, s: record }), record, viaGrace: false };
  }

  /** Compare-and-set within the cookie presented: applies `changes` and re-seals (a new id). */
  async update(id: string, expectedVersion: number, changes: SessionChanges, now: number): Promise<UpdateResult> {
    const opened = await this.openLive(id, now);
    if (!opened) return { status: 'missing' };
    if (opened.record.version !== expectedVersion) return { status: 'conflict', id, record: opened.record };
    const record = applyChanges(opened.record, changes);
    return { status: 'ok', id: await this.seal({ ...opened.payload, s: record }), record };
  }

  /**
   * Re-seals with a fresh nonce and `changes` (a new id; `newId` is ignored). An explicit rotation (`graceMs` 0: login
   * completion, re-authentication, privilege change) also denies the old generation until its absolute deadline, so
   * the old cookie never authenticates again; a periodic one (grace) leaves it to expire.
   */
  async rotate(oldId: string, _newId: string, options: RotateOptions): Promise<RotateResult> {
    assertNoLimit(options.limit?.maxConcurrent ?? 0);
    const opened = await this.openLive(oldId, options.now);
    if (!opened) return { status: 'missing' };
    const record = applyChanges(opened.record, options.changes);
    const id = await this.seal({ v: 1, n: nonce(), ep: options.now, s: record });
    if (options.graceMs <= 0) {
      await this.revocations.denyAccessToken(jtiOf(opened.payload.n), opened.record.absoluteExpiresAt, options.now);
    }
    return { status: 'rotated', record, id };
  }

  /** Logout: denies the session (every cookie of it, by user and handle) until its absolute deadline. */
  async destroy(id: string): Promise<SessionRecord | null> {
    const now = this.clock.now();
    const opened = await this.openLive(id, now);
    if (!opened) return null;
    await this.revocations.denySession(sidOf(opened.record.userId, opened.record.handle), opened.record.absoluteExpiresAt, now);
    return opened.record;
  }

  /** Lists nothing: the server keeps no list of sealed sessions. @throws SealedSessionsUnlistedError */
  async listByUser(): Promise<StoredSession[]> {
    throw new SealedSessionsUnlistedError('listByUser');
  }

  /**
   * Logout everywhere: sets the user's cut-off, so every cookie of the user minted before it is refused, for the longest
   * session lifetime. With `exceptId` (the cookie of a session to keep, which the module has just rotated), the cut-off
   * is that session's rotation time, so it survives. Answers `[]`: the server cannot know which sessions ended.
   */
  async destroyByUser(userId: string, exceptId?: string): Promise<SessionRecord[]> {
    const now = this.clock.now();
    const kept = exceptId === undefined ? null : await this.openLive(exceptId, now);
    const notBefore = kept && kept.record.userId === userId ? kept.payload.ep : now + 1;
    await this.revocations.revokeAllForUser(userId, notBefore, now + this.maxLifetimeMs, now);
    return [];
  }

  /**
   * Admin revoke: denies the user's session `handle` for the longest session lifetime. The server cannot tell whether
   * the user has such a session, so it always answers a record naming the user and handle (other fields empty).
   */
  async destroyByHandle(userId: string, handle: string): Promise<SessionRecord | null> {
    const now = this.clock.now();
    await this.revocations.denySession(sidOf(userId, handle), now + this.maxLifetimeMs, now);
    return revokedStub(userId, handle, now);
  }

  /** A privilege change ends the user's sealed sessions (a cut-off): they sign in again with the new privileges. Answers 0. */
  async requireRotationForUser(userId: string): Promise<number> {
    await this.destroyByUser(userId);
    return 0;
  }

  /**
   * A role change ends the user's sealed sessions (a cut-off): the roles are sealed in each cookie and cannot be
   * replaced from the server, and a demotion must apply at once. They sign in again with the new roles. Answers 0.
   */
  async updateUserRoles(userId: string): Promise<number> {
    await this.destroyByUser(userId);
    return 0;
  }

  /** @throws SealedSessionsUnlistedError: the server keeps no list of sealed sessions. */
  async countByUser(): Promise<number> {
    throw new SealedSessionsUnlistedError('countByUser');
  }

  /** @throws Error: a sealed store keeps no counters. */
  async increment(): Promise<CounterState> {
    throw new Error(
      'SealedSessionStore keeps no named counters: give rate limits and lockouts a store of their own (BruteForceModule attempt counter stores)',
    );
  }

  /** @throws Error: a sealed store keeps no counters. */
  async resetCounter(): Promise<void> {
    return this.increment().then(() => undefined);
  }

  /** Checks that the revocation record's backend answers. */
  async ping(): Promise<void> {
    await this.revocations.ping();
  }

  /**
   * Closes the revocation store, which releases only what it opened itself (the Redis client it created from `url`, its
   * cleanup timer), never a client or DataSource you gave it. The module calls it at shutdown (`closeStoreOnShutdown`).
   */
  async close(): Promise<void> {
    await this.revocations.close();
  }

  /** Seals a payload, refusing one whose cookie would pass the browsers' limit. */
  private async seal(payload: SealedPayload): Promise<string> {
    const jwe = await this.ring.seal(JSON.stringify(payload));
    const bytes = this.cookieBytes(jwe);
    if (bytes > MAX_COOKIE_BYTES) {
      throw new SealedCookieTooLargeError(bytes, MAX_COOKIE_BYTES, Buffer.byteLength(JSON.stringify(payload.s.data)));
    }
    return jwe;
  }

  /** The payload of a cookie sealed by a key of the ring, or null (anything else: never trusted, never a crash). */
  private async open(id: string): Promise<Opened | null> {
    if (!this.isWellFormedToken(id)) return null;
    const text = await this.ring.open(id);
    if (text === null) return null;
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      return null;
    }
    if (!isPayload(payload)) return null;
    return { payload, record: payload.s };
  }

  /** Opened, not expired at `now`, not revoked; else null. */
  private async openLive(id: string, now: number): Promise<Opened | null> {
    const opened = await this.open(id);
    if (!opened || isExpired(opened.record, now)) return null;
    return (await this.isRevoked(opened.payload, now)) ? null : opened;
  }

  /** One round trip: the generation denied, the user's cut-off, or the session denied. */
  private async isRevoked(payload: SealedPayload, now: number): Promise<boolean> {
    const verdict = await this.revocations.checkAccess(
      { userId: payload.s.userId, jti: jtiOf(payload.n), issuedAt: payload.ep, sid: sidOf(payload.s.userId, payload.s.handle) },
      now,
    );
    return verdict !== null;
  }
}

function isPayload(value: unknown): value is SealedPayload {
  if (typeof value !== 'object' || value === null) return false;
  const p = value as Record<string, unknown>;
  return p.v === 1 && typeof p.n === 'string' && p.n.length > 0 && Number.isFinite(p.ep) && isSessionRecord(p.s);
}

function nonce(): string {
  return randomBytes(16).toString('base64url');
}

/** Denylist key of one rotation generation, apart from the API tokens' `jti`s (those are `iss + ' ' + jti`). */
function jtiOf(n: string): string {
  return `sealed ${n}`;
}

/**
 * Denylist key of one session: bound to its user, so a user who learns another user's handle cannot end that
 * session through `revoke(ownUserId, handle)`. Apart from the API tokens' `sid`s (plain handles).
 */
function sidOf(userId: string, handle: string): string {
  return `sealed ${hashToken(`${userId}\n${handle}`)}`;
}

function assertNoLimit(maxConcurrent: number): void {
  if (maxConcurrent > 0) {
    throw new TypeError(
      `SealedSessionStore cannot hold a concurrent-session limit (${maxConcurrent}): the server keeps no list of sealed sessions; set maxConcurrentSessions to 0`,
    );
  }
}

/** What an admin revocation reports: the user and handle it denied. Nothing else is known without the cookie. */
function revokedStub(userId: string, handle: string, now: number): SessionRecord {
  return {
    handle,
    userId,
    createdAt: now,
    lastSeenAt: now,
    idleExpiresAt: now,
    absoluteExpiresAt: now,
    authenticatedAt: now,
    rotatedAt: now,
    aal: 1,
    stage: 'complete',
    roles: [],
    rolesVersion: 0,
    rotateRequired: false,
    ip: '',
    userAgent: '',
    tier: 'standard',
    impersonatedBy: null,
    idleTimeoutMs: null,
    version: 0,
    data: {},
  };
}

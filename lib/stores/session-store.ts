import type { SessionChanges, SessionRecord } from '../core/session-record';

/**
 * Options for {@link SessionStore.read}. The store folds the idle "touch" into the read, so an authenticated
 * request in steady state costs one backend round trip.
 */
export interface ReadOptions {
  /** Current time (ms since epoch), from the module's clock. */
  now: number;
  /**
   * The module's idle timeout (ms), for records without their own `idleTimeoutMs` (stored before sessions had
   * one): a touch sets `idleExpiresAt = min(now + timeout, absoluteExpiresAt)` with the record's own timeout when it
   * has one, else this (`touchChanges` in `lib/core/lifecycle.ts`).
   */
  idleTimeoutMs: number;
  /** Touch only when `now - lastSeenAt >= touchIntervalMs` (ms), so steady reads do not write every time. */
  touchIntervalMs: number;
}

/** What a read found. */
export type ReadResult =
  /** A live session. `id` is the id the record lives under now: the successor's when `viaGrace`. */
  | { status: 'active'; id: string; record: SessionRecord; viaGrace: boolean }
  /**
   * A rotated-away id past its grace window but still remembered (`pointerState` is `tombstone`): it must not
   * authenticate, and the caller answers without clearing the cookie (the winner of the rotation set a new one).
   */
  | { status: 'tombstone' }
  /** The session existed but had timed out (idle or absolute). The store has already deleted it. */
  | { status: 'expired'; record: SessionRecord }
  /** No such session (unknown, destroyed, corrupted, or a rotated-away id whose grace window ended). */
  | { status: 'missing' };

/** What a login beyond the concurrent-session limit does: see {@link CreateOptions.onLimit}. */
export type ConcurrentSessionPolicy = 'evict-oldest' | 'deny-new';

/** Options for {@link SessionStore.create}. */
export interface CreateOptions {
  /** Current time (ms since epoch). */
  now: number;
  /**
   * Live sessions allowed per user, this one included. 0 = no limit. Only sessions that count toward the limit
   * are counted (`countsTowardLimit` in `lib/core/lifecycle.ts`: impersonation and pending sessions do not), and a
   * new session that does not count is created whatever the count, evicting nothing. A pending session meets the
   * limit when it completes (see {@link RotateOptions.limit}).
   */
  maxConcurrent: number;
  /**
   * Beyond `maxConcurrent`: `'evict-oldest'` (default) destroys the oldest counted sessions (by `createdAt`) in the
   * same atomic operation; `'deny-new'` creates nothing and answers `denied` with the user's live counted
   * sessions. Either way the count and the write are one atomic operation, so parallel logins never exceed it.
   */
  onLimit?: ConcurrentSessionPolicy;
}

/**
 * Result of {@link SessionStore.create}. A store written before `deny-new` existed may answer `{ evicted }`
 * without a status; callers read that as `created`.
 */
export type CreateResult =
  /**
   * The session was stored. `evicted`: sessions destroyed to respect `maxConcurrent` (oldest first). `id`: set only
   * by a store that {@link SessionStore.keepsSessionInToken keeps the session in the token}: the id (the cookie
   * value) it lives under, in place of the one it was given.
   */
  | { status: 'created'; evicted: SessionRecord[]; id?: string }
  /** `onLimit: 'deny-new'` and the user is at the limit: nothing was stored. `live`: the counted live sessions, oldest first. */
  | { status: 'denied'; live: SessionRecord[] };

/**
 * Result of {@link SessionStore.update}. `id` is where the session lives now: the successor's when the id
 * written to had been rotated away (the write followed the pointer). Callers keep using that id.
 */
export type UpdateResult =
  | { status: 'ok'; id: string; record: SessionRecord }
  /** The version did not match: someone else wrote (or rotated) first. `record` is the current one: retry from it, at `id`. */
  | { status: 'conflict'; id: string; record: SessionRecord }
  | { status: 'missing' };

/** Options for {@link SessionStore.rotate}. */
export interface RotateOptions {
  /** Current time (ms since epoch). */
  now: number;
  /**
   * How long (ms) the old id keeps resolving to the successor. 0 = the old id never authenticates again
   * (required on privilege changes and re-authentication). Either way the store keeps the old id as a pointer
   * until `pointerWindows(now, graceMs).until` (see `lib/core/lifecycle.ts`): a tombstone after the grace
   * window, which writes still follow and reads and rotations answer with `tombstone`.
   */
  graceMs: number;
  /** Changes applied to the record as it moves (e.g. `aal`, `authenticatedAt`, `rotatedAt`). */
  changes: SessionChanges;
  /**
   * The user's concurrent-session limit, held when this rotation makes the session start counting toward it
   * (`startsCounting(record, changed record)` in `lib/core/lifecycle.ts`: a pending session completing). Ignored by
   * any other rotation, and when absent or `maxConcurrent` is 0. Counted are the user's other live sessions that
   * count (`countsTowardLimit`), oldest first; the rotating session itself is never a victim (its completion is the
   * newest sign-in). Beyond the limit, `'evict-oldest'` (default) destroys the oldest of them in the same atomic
   * operation and reports them in `evicted`; `'deny-new'` changes nothing at all (no rotation, no pointer: the
   * session stays as it was under its old id) and answers `denied`. Default none.
   */
  limit?: RotationLimit;
}

/** The concurrent-session limit a rotation holds: see {@link RotateOptions.limit}. */
export interface RotationLimit {
  /** Live counted sessions allowed for the user, the rotating one included. 0 = no limit. */
  maxConcurrent: number;
  /** Beyond it: `'evict-oldest'` (default) or `'deny-new'`. */
  onLimit?: ConcurrentSessionPolicy;
}

/** Result of {@link SessionStore.rotate}. */
export type RotateResult =
  /**
   * This call rotated the session: the record now lives under the new id. `evicted`: sessions destroyed to respect
   * {@link RotateOptions.limit} (oldest first); absent (or empty) when none were. `id`: set only by a store that
   * {@link SessionStore.keepsSessionInToken keeps the session in the token}: the id (the new cookie value) the
   * session lives under, in place of the one it was given.
   */
  | { status: 'rotated'; record: SessionRecord; evicted?: SessionRecord[]; id?: string }
  /**
   * {@link RotateOptions.limit} with `'deny-new'`, and the rotation would make the session count beyond it: nothing
   * changed. `live`: the user's other live counted sessions, oldest first.
   */
  | { status: 'denied'; live: SessionRecord[] }
  /**
   * Someone rotated it first (parallel requests): the old id is a pointer to `id`, within its grace window.
   * The caller must use that successor and must not mint another.
   */
  | { status: 'superseded'; id: string; record: SessionRecord }
  /** Someone rotated it first and the old id is a tombstone (past its grace window): the caller lost the race. */
  | { status: 'tombstone' }
  | { status: 'missing' };

/** A live session with the id it is stored under (the SHA-256 of its token). */
export interface StoredSession {
  id: string;
  record: SessionRecord;
}

/** Result of {@link SessionStore.increment}. */
export interface CounterState {
  /** Value after the increment. */
  count: number;
  /** When the counter's window ends (ms since epoch); the counter restarts at 0 after it. */
  resetAt: number;
}

/**
 * The contract every session backend implements.
 *
 * Every method is ONE atomic operation on the backend: no caller ever reads, decides and writes across two
 * awaits. Ids are SHA-256 hashes of tokens (the store never sees a token), prefixed with the user's routing tag
 * (`<tag>.<hash>`) for a store that has {@link SessionStore.routingTagFor}. Implementations must treat a
 * corrupted record as missing (see `isSessionRecord`), must not keep expired sessions alive, and must follow
 * the lifecycle rules of `lib/core/lifecycle.ts` (expiry, touch, pointers), calling them where they can.
 *
 * Errors: when the backend cannot be reached, times out or drops the connection, throw a
 * `SessionStoreConnectionError` (never return "missing"), so the module fails closed with a 503 and recovers.
 * Anything else a store throws is reported as a bug (500 with its stack).
 *
 * The conformance suite `describeSessionStore` (`nest-session-kit/testing`) checks all of this.
 */
export abstract class SessionStore {
  /**
   * `true` for a store that keeps the whole session in the token itself (`SealedSessionStore`, the sealed cookie):
   * the ids it is given and answers ARE cookie values (never hashed), the id given to `create` and `rotate` is
   * ignored and the result's `id` names the session instead, and every write answers a new id, which the module
   * sends as the new cookie. Default `false`: ids are SHA-256 hashes of random tokens, as described above.
   */
  readonly keepsSessionInToken: boolean = false;

  /**
   * For a store that {@link keepsSessionInToken keeps the session in the token}: whether a cookie value has the shape
   * of one of its tokens (a cheap check before any decryption; a value failing it is a malformed cookie). Unused
   * otherwise. Default: none.
   */
  isWellFormedToken?(token: string): boolean;

  /**
   * Makes the store ready to serve: opens connections it owns and checks that the backend answers. The module
   * awaits it at start-up, so a store handed to `SessionModule.forRoot()` needs no other call, and an
   * unreachable backend stops start-up with a message naming it. Safe to call more than once. The default does
   * nothing (for stores with nothing to open).
   *
   * @throws SessionStoreConnectionError when the backend cannot be reached.
   */
  async connect(): Promise<void> {
    // Nothing to open by default.
  }

  /**
   * Optional: the routing tag of a user's sessions, for a store that shards (Redis Cluster). When a store has this
   * method, the module mints `<tag>.<token>` and stores under `<tag>.<SHA-256 of the token>`
   * (`sessionIdOf` in `lib/core/token.ts`), so the store can put a session, its rotation pointers and the user's
   * index in one shard and keep every per-user operation atomic. It must be a pure function of `userId`
   * (the same on every instance, for ever: rotation keeps it), answer 1 to 16 base64url characters, and carry no
   * personal data (a short hash). Stores without it (the default) get plain 43-character tokens and ids.
   */
  routingTagFor?(userId: string): string;

  /**
   * Inserts a new session under `id` and adds it to the user's index, holding the concurrent-session limit in the
   * same atomic operation: beyond `maxConcurrent` it evicts the oldest or, with `onLimit: 'deny-new'`, stores
   * nothing and answers `denied` (see {@link CreateOptions}).
   */
  abstract create(id: string, record: SessionRecord, options: CreateOptions): Promise<CreateResult>;

  /**
   * Reads a session. A rotated-away id inside its grace window resolves to its one successor. An expired
   * session is deleted and reported as `expired`. When a touch is due it is written in the same operation.
   *
   * A store that answers without I/O (the in-memory store) may return the result itself rather than a promise:
   * the module then admits the request without a promise hop. Such a store reports its failures by throwing. Callers that `await` the result work with both forms.
   */
  abstract read(id: string, options: ReadOptions): Promise<ReadResult> | ReadResult;

  /**
   * Compare-and-set: applies `changes` only if the stored `version` equals `expectedVersion`, and increments
   * the version. Callers retry on `conflict` from the returned record. When `id` is a rotated-away id whose
   * pointer is still remembered (grace or tombstone), the write follows it (one hop) to the successor and
   * compares there; the result's `id` says where the session lives now.
   */
  abstract update(id: string, expectedVersion: number, changes: SessionChanges, now: number): Promise<UpdateResult>;

  /**
   * Moves the session from `oldId` to `newId` (new token), keeping handle, user, `createdAt` and
   * `absoluteExpiresAt` unless `changes` say otherwise. Leaves `oldId` as a pointer to `newId` for `graceMs`.
   * Never mints a second successor: if `oldId` is already a pointer, returns `superseded` with the successor
   * (within its grace window) or `tombstone` (past it). Increments the version.
   *
   * When the changes make the session start counting toward the concurrent-session limit (a pending session
   * completing, `stage: 'complete'`), holds `options.limit` in the same atomic operation: evicts the user's oldest
   * counted sessions, or answers `denied` and changes nothing (see {@link RotateOptions.limit}). Completing a
   * session goes through here: `update` applies a stage change without any limit.
   */
  abstract rotate(oldId: string, newId: string, options: RotateOptions): Promise<RotateResult>;

  /** Deletes a session (and, if `id` is a rotation pointer, its successor). Returns the record or null. */
  abstract destroy(id: string): Promise<SessionRecord | null>;

  /** Live sessions of a user, oldest first. Prunes index entries of sessions that no longer exist. */
  abstract listByUser(userId: string, now: number): Promise<StoredSession[]>;

  /** Deletes every session of a user except `exceptId` (logout everywhere). Returns the deleted records. */
  abstract destroyByUser(userId: string, exceptId?: string): Promise<SessionRecord[]>;

  /** Deletes the user's session with this handle. Returns null when the user has no such session. */
  abstract destroyByHandle(userId: string, handle: string): Promise<SessionRecord | null>;

  /**
   * Marks every live session of the user so that its next request rotates the id, and increments their
   * `rolesVersion` (privilege change). Returns how many sessions were marked.
   */
  abstract requireRotationForUser(userId: string): Promise<number>;

  /**
   * Replaces the roles snapshot of every live session of the user (impersonation sessions included) whose roles
   * differ from `roles` as a set (`rolesChange` in `lib/core/lifecycle.ts`): sets them, increments `rolesVersion`
   * and `version`, and on an elevation (a role the session lacked) sets `rotateRequired`, so the next request
   * rotates the id. A demotion applies at once without rotation, and never clears a rotation already due. Sessions
   * whose roles are the same are left untouched. One atomic operation for all of the user's sessions.
   *
   * @param now ms since epoch: sessions over at `now` are not changed.
   * @returns how many sessions were changed.
   */
  abstract updateUserRoles(userId: string, roles: string[], now: number): Promise<number>;

  /** Live sessions of a user, impersonation and pending sessions included (every session, counted or not). */
  abstract countByUser(userId: string, now: number): Promise<number>;

  /**
   * Atomically increments a named counter in a fixed window of `windowMs` that starts at the first
   * increment. For rate limits and lockouts that all app instances share.
   */
  abstract increment(key: string, windowMs: number, now: number): Promise<CounterState>;

  /** Deletes a named counter (e.g. failures after a successful login). */
  abstract resetCounter(key: string): Promise<void>;

  /** Resolves when the backend answers; throws when it does not. Used by health checks. */
  abstract ping(): Promise<void>;

  /** Releases what the store created (connections, timers). Never closes a client the user passed in. */
  abstract close(): Promise<void>;
}

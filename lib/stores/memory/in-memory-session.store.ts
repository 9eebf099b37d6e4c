import {
  applyChanges,
  countsTowardLimit,
  isExpired,
  pointerState,
  pointerWindows,
  rolesChange,
  RotationPointer,
  startsCounting,
  touchChanges,
} from '../../core/lifecycle';
import { SessionChanges, SessionData, SessionRecord, isSessionRecord } from '../../core/session-record';
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
} from '../session-store';

/** Default of {@link InMemorySessionStoreOptions.maxSessions}: 1,000,000 sessions. */
export const DEFAULT_MEMORY_MAX_SESSIONS = 1_000_000;
/** Default of {@link InMemorySessionStoreOptions.maxCounters}: 100,000 counters. */
export const DEFAULT_MEMORY_MAX_COUNTERS = 100_000;

/** Options for {@link InMemorySessionStore}. */
export interface InMemorySessionStoreOptions {
  /**
   * Most sessions kept at once (a count). When full, the least recently used session is dropped to make room,
   * so memory stays bounded whatever happens. A session with empty data costs about 520 bytes (bench/heap.ts:
   * 514 at 100k sessions), so the default {@link DEFAULT_MEMORY_MAX_SESSIONS} (1,000,000) holds at most about
   * 520 MB plus the sessions' data. The same bound applies to rotation pointers, which live 60 s each.
   */
  maxSessions?: number;
  /** Most counters kept at once (brute-force windows); the oldest is dropped beyond it. Default {@link DEFAULT_MEMORY_MAX_COUNTERS} (100,000). */
  maxCounters?: number;
}

/**
 * Sessions without data share this one frozen object: most sessions of a typical app hold nothing but identity,
 * and an empty object per session would cost more than the rest of its record.
 */
const EMPTY_DATA: SessionData = Object.freeze({});
/** The same for roles: most sessions of most apps hold none. */
const EMPTY_ROLES = Object.freeze([]) as unknown as string[];
const SWEEP_STEP = 32;
const INTERN_LIMIT = 10_000;

/**
 * The embedded default store: sessions in this process's memory.
 *
 * Fit for one instance (development, tests, single-node apps); sessions die with the process. Every operation
 * is synchronous inside, so it is atomic by construction (nothing interleaves between its read and its write).
 * The lifecycle rules (expiry, idle touch, changes and version bumps, rotation pointers) come from
 * `lib/core/lifecycle.ts`; this class only decides where things are kept.
 *
 * Records are copy-on-write: each session is one frozen snapshot (its data deep-frozen), which reads hand out
 * as is, so a read that needs no touch allocates nothing but its result. Every write builds a new snapshot.
 * Callers therefore get read-only records: copy before changing (`structuredClone(record.data)`).
 *
 * Memory stays bounded: the session map is kept in least-recently-used order (a touch moves an entry to the
 * end), so expired sessions gather at the front and each write sweeps a few of them; no timer per key, no
 * interval. Beyond `maxSessions` the least recently used session is dropped.
 *
 * @example SessionModule.forRoot({ store: new InMemorySessionStore({ maxSessions: 100_000 }) })
 */
export class InMemorySessionStore extends SessionStore {
  private readonly sessions = new Map<string, SessionRecord>();
  /**
   * Rotated-away ids. Insertion order is `until` order, which sweeping relies on: `until = now +
   * max(graceMs, ROTATION_TOMBSTONE_MS)` and the grace window is at most ROTATION_TOMBSTONE_MS (options
   * validation), so every pointer lives exactly that long from its rotation.
   */
  private readonly pointers = new Map<string, RotationPointer>();
  /** userId → one id, or several: most users have one session, and a bare string is far smaller than a Set. */
  private readonly byUser = new Map<string, string | string[]>();
  private readonly counters = new Map<string, CounterState>();
  private readonly userAgents = new Map<string, string>();
  private readonly maxSessions: number;
  private readonly maxCounters: number;

  constructor(options: InMemorySessionStoreOptions = {}) {
    super();
    this.maxSessions = options.maxSessions ?? DEFAULT_MEMORY_MAX_SESSIONS;
    this.maxCounters = options.maxCounters ?? DEFAULT_MEMORY_MAX_COUNTERS;
    const problems: string[] = [];
    if (!Number.isInteger(this.maxSessions) || this.maxSessions < 1) {
      problems.push(
        `maxSessions must be a positive integer (got ${String(options.maxSessions)}); omit it for ${DEFAULT_MEMORY_MAX_SESSIONS}`,
      );
    }
    if (!Number.isInteger(this.maxCounters) || this.maxCounters < 1) {
      problems.push(
        `maxCounters must be a positive integer (got ${String(options.maxCounters)}); omit it for ${DEFAULT_MEMORY_MAX_COUNTERS}`,
      );
    }
    if (problems.length > 0) throw new RangeError(`InMemorySessionStore: ${problems.join('; ')}`);
  }

  /** Number of sessions held (live or not yet swept). For metrics and tests. */
  get size(): number {
    return this.sessions.size;
  }

  async create(id: string, record: SessionRecord, options: CreateOptions): Promise<CreateResult> {
    if (!isSessionRecord(record)) {
      throw new TypeError(
        'InMemorySessionStore.create: not a valid SessionRecord; build it with SessionManager.create or check it with isSessionRecord',
      );
    }
    if (this.sessions.has(id) || this.pointers.has(id)) {
      throw new Error(
        'InMemorySessionStore.create: a session with this id already exists; hash a freshly generated token for every new session',
      );
    }
    const { now, maxConcurrent } = options;
    this.sweep(now);
    // The limit counts only sessions that count toward it, and a session that does not count is never refused
    // and evicts nothing (lifecycle.countsTowardLimit: impersonation and pending sessions).
    const limited = maxConcurrent > 0 && countsTowardLimit(record);
    if (limited && options.onLimit === 'deny-new') {
      const counted = this.liveOfUser(record.userId, now).filter((s) => countsTowardLimit(s.record));
      if (counted.length >= maxConcurrent) return { status: 'denied', live: counted.map((s) => s.record) };
    }
    if (this.sessions.size >= this.maxSessions) this.dropLeastRecentlyUsed();
    const snapshot = this.snapshot(record, ownData(record.data));
    this.sessions.set(id, snapshot);
    this.indexAdd(snapshot.userId, id);
    const evicted: SessionRecord[] = [];
    if (limited) {
      const counted = this.liveOfUser(snapshot.userId, now).filter((s) => countsTowardLimit(s.record));
      for (let i = 0; i < counted.length - maxConcurrent; i++) {
        evicted.push(counted[i].record);
        this.remove(counted[i].id);
      }
    }
    return { status: 'created', evicted };
  }

  /**
   * Answers at once, without a promise (see {@link SessionStore.read}): the request path awaits nothing. Declared
   * with both forms, so a subclass may still override it with an `async` method.
   */
  read(id: string, options: ReadOptions): Promise<ReadResult> | ReadResult {
    const { now } = options;
    let targetId = id;
    let viaGrace = false;
    const pointer = this.pointers.get(id);
    if (pointer) {
      const state = pointerState(pointer, now);
      if (state === 'tombstone') return { status: 'tombstone' };
      if (state === 'gone') {
        this.pointers.delete(id);
        return { status: 'missing' };
      }
      targetId = pointer.successor;
      viaGrace = true;
    }
    const record = this.sessions.get(targetId);
    if (!record) return { status: 'missing' };
    if (isExpired(record, now)) {
      this.remove(targetId);
      return { status: 'expired', record };
    }
    const touch = touchChanges(record, now, options.idleTimeoutMs, options.touchIntervalMs);
    if (touch === null) return { status: 'active', id: targetId, record, viaGrace };
    const touched = this.snapshot(applyChanges(record, touch, false), record.data);
    // Delete, then set: moves the entry to the end, so the map stays in least-recently-used order for sweeping.
    this.sessions.delete(targetId);
    this.sessions.set(targetId, touched);
    return { status: 'active', id: targetId, record: touched, viaGrace };
  }

  async update(id: string, expectedVersion: number, changes: SessionChanges, now: number): Promise<UpdateResult> {
    const targetId = this.follow(id, now);
    if (targetId === null) return { status: 'missing' };
    const record = this.sessions.get(targetId);
    if (!record) return { status: 'missing' };
    if (isExpired(record, now)) {
      this.remove(targetId);
      return { status: 'missing' };
    }
    if (record.version !== expectedVersion) return { status: 'conflict', id: targetId, record };
    const next = this.write(record, changes);
    this.sessions.set(targetId, next);
    return { status: 'ok', id: targetId, record: next };
  }

  async rotate(oldId: string, newId: string, options: RotateOptions): Promise<RotateResult> {
    const { now } = options;
    const pointer = this.pointers.get(oldId);
    if (pointer) {
      const state = pointerState(pointer, now);
      if (state === 'tombstone') return { status: 'tombstone' };
      if (state === 'gone') {
        this.pointers.delete(oldId);
        return { status: 'missing' };
      }
      const successor = this.sessions.get(pointer.successor);
      if (!successor || isExpired(successor, now)) return { status: 'missing' };
      return { status: 'superseded', id: pointer.successor, record: successor };
    }
    const record = this.sessions.get(oldId);
    if (!record) return { status: 'missing' };
    if (isExpired(record, now)) {
      this.remove(oldId);
      return { status: 'missing' };
    }
    if (this.sessions.has(newId) || this.pointers.has(newId)) {
      throw new Error('InMemorySessionStore.rotate: the new id is already in use; hash a freshly generated token for every rotation');
    }
    this.sweep(now);
    const next = this.write(record, options.changes);
    // A pending session completing starts to count: the limit is held here, before anything moves, so a refusal
    // leaves the session exactly as it was.
    const limit = options.limit;
    const limited = limit !== undefined && limit.maxConcurrent > 0 && startsCounting(record, next);
    let victims: StoredSession[] = [];
    if (limited) {
      const others = this.liveOfUser(record.userId, now).filter((s) => s.id !== oldId && countsTowardLimit(s.record));
      const excess = others.length + 1 - limit.maxConcurrent;
      if (excess > 0) {
        if (limit.onLimit === 'deny-new') return { status: 'denied', live: others.map((s) => s.record) };
        victims = others.slice(0, excess);
      }
    }
    this.sessions.delete(oldId);
    this.sessions.set(newId, next);
    this.indexReplace(next.userId, oldId, newId);
    // Pointers live as long as each other, so the first is the nearest its end: dropping it keeps the bound
    // at the lowest cost (an in-flight write of that old id then finds nothing, as after the window).
    if (this.pointers.size >= this.maxSessions) this.pointers.delete(this.pointers.keys().next().value as string);
    // Even with graceMs 0 the old id stays remembered (as a tombstone): see pointerWindows.
    this.pointers.set(oldId, { successor: newId, ...pointerWindows(now, options.graceMs) });
    if (!limited) return { status: 'rotated', record: next };
    for (const victim of victims) this.remove(victim.id);
    return { status: 'rotated', record: next, evicted: victims.map((v) => v.record) };
  }

  async destroy(id: string): Promise<SessionRecord | null> {
    const pointer = this.pointers.get(id);
    if (pointer) {
      this.pointers.delete(id);
      // The clock is not passed to destroy: a pointer past `until` that the sweep has not reached yet still
      // leads to its successor, which is harmless (whoever holds the old id could have destroyed it a moment ago).
      return this.remove(pointer.successor);
    }
    return this.remove(id);
  }

  async listByUser(userId: string, now: number): Promise<StoredSession[]> {
    return this.liveOfUser(userId, now);
  }

  async destroyByUser(userId: string, exceptId?: string): Promise<SessionRecord[]> {
    const destroyed: SessionRecord[] = [];
    for (const id of this.idsOf(userId)) {
      if (id === exceptId) continue;
      const record = this.remove(id);
      if (record) destroyed.push(record);
    }
    return destroyed;
  }

  async destroyByHandle(userId: string, handle: string): Promise<SessionRecord | null> {
    for (const id of this.idsOf(userId)) {
      if (this.sessions.get(id)?.handle === handle) return this.remove(id);
    }
    return null;
  }

  async requireRotationForUser(userId: string): Promise<number> {
    let marked = 0;
    for (const id of this.idsOf(userId)) {
      const record = this.sessions.get(id);
      if (!record) continue;
      this.sessions.set(id, this.write(record, { rotateRequired: true, rolesVersion: record.rolesVersion + 1 }));
      marked++;
    }
    return marked;
  }

  async updateUserRoles(userId: string, roles: string[], now: number): Promise<number> {
    const frozen = ownRoles(roles);
    let changed = 0;
    for (const { id, record } of this.liveOfUser(userId, now)) {
      const change = rolesChange(record.roles, frozen);
      if (change === 'same') continue;
      const next = applyChanges(record, {
        rolesVersion: record.rolesVersion + 1,
        // An elevation rotates at the next request; a demotion never cancels a rotation already due.
        rotateRequired: record.rotateRequired || change === 'elevation',
      });
      this.sessions.set(id, this.snapshot({ ...next, roles: frozen }, record.data));
      changed++;
    }
    return changed;
  }

  async countByUser(userId: string, now: number): Promise<number> {
    return this.liveOfUser(userId, now).length;
  }

  async increment(key: string, windowMs: number, now: number): Promise<CounterState> {
    const current = this.counters.get(key);
    if (current && now < current.resetAt) {
      current.count += 1;
      return { ...current };
    }
    if (!current && this.counters.size >= this.maxCounters) {
      // Counters are kept in insertion order: the first is the oldest window.
      const oldest = this.counters.keys().next();
      if (!oldest.done) this.counters.delete(oldest.value);
    }
    const fresh = { count: 1, resetAt: now + windowMs };
    this.counters.set(key, fresh);
    return { ...fresh };
  }

  async resetCounter(key: string): Promise<void> {
    this.counters.delete(key);
  }

  async ping(): Promise<void> {
    // Always reachable: it lives in this process.
  }

  async close(): Promise<void> {
    this.sessions.clear();
    this.pointers.clear();
    this.byUser.clear();
    this.counters.clear();
    this.userAgents.clear();
  }

  /**
   * Where a write to `id` lands: `id` itself, or the successor when `id` is a remembered pointer (grace or
   * tombstone: writes of requests in flight during a rotation must not be lost). Null for a forgotten pointer.
   */
  private follow(id: string, now: number): string | null {
    const pointer = this.pointers.get(id);
    if (!pointer) return id;
    if (pointerState(pointer, now) === 'gone') {
      this.pointers.delete(id);
      return null;
    }
    return pointer.successor;
  }

  /** The snapshot after a versioned write of `changes` (the rule is applyChanges'; new data is copied and frozen). */
  private write(record: SessionRecord, changes: SessionChanges): SessionRecord {
    const data = changes.data === undefined ? record.data : ownData(changes.data);
    return this.snapshot(applyChanges(record, changes), data);
  }

  /**
   * A frozen copy of `r` with `data` (already owned and frozen) and an interned user agent. Always built as one
   * literal in one field order: every snapshot then shares one compact shape with all fields inside the object
   * (a spread copy of a frozen object, as applyChanges makes, keeps most fields in a separate array: 112 bytes
   * more per session).
   */
  private snapshot(r: SessionRecord, data: SessionData): SessionRecord {
    return Object.freeze<SessionRecord>({
      handle: r.handle,
      userId: r.userId,
      createdAt: r.createdAt,
      lastSeenAt: r.lastSeenAt,
      idleExpiresAt: r.idleExpiresAt,
      absoluteExpiresAt: r.absoluteExpiresAt,
      authenticatedAt: r.authenticatedAt,
      rotatedAt: r.rotatedAt,
      aal: r.aal,
      stage: r.stage,
      roles: Object.isFrozen(r.roles) ? r.roles : ownRoles(r.roles),
      rolesVersion: r.rolesVersion,
      rotateRequired: r.rotateRequired,
      ip: r.ip,
      userAgent: this.intern(r.userAgent),
      tier: r.tier,
      impersonatedBy: r.impersonatedBy,
      idleTimeoutMs: r.idleTimeoutMs,
      version: r.version,
      data,
    });
  }

  /** Removes expired sessions from the least recently used end, and forgotten pointers. Bounded work. */
  private sweep(now: number): void {
    let budget = SWEEP_STEP;
    for (const [id, record] of this.sessions) {
      if (budget-- === 0 || !isExpired(record, now)) break;
      this.remove(id);
    }
    budget = SWEEP_STEP;
    for (const [id, pointer] of this.pointers) {
      if (budget-- === 0 || pointerState(pointer, now) !== 'gone') break;
      this.pointers.delete(id);
    }
  }

  private dropLeastRecentlyUsed(): void {
    const first = this.sessions.keys().next();
    if (!first.done) this.remove(first.value);
  }

  private remove(id: string): SessionRecord | null {
    const record = this.sessions.get(id);
    if (!record) return null;
    this.sessions.delete(id);
    this.indexRemove(record.userId, id);
    return record;
  }

  private liveOfUser(userId: string, now: number): StoredSession[] {
    const live: StoredSession[] = [];
    for (const id of this.idsOf(userId)) {
      const record = this.sessions.get(id);
      if (!record) continue;
      if (isExpired(record, now)) this.remove(id);
      else live.push({ id, record });
    }
    return live.sort((a, b) => a.record.createdAt - b.record.createdAt);
  }

  private idsOf(userId: string): string[] {
    const ids = this.byUser.get(userId);
    if (ids === undefined) return [];
    return typeof ids === 'string' ? [ids] : [...ids];
  }

  private indexAdd(userId: string, id: string): void {
    const ids = this.byUser.get(userId);
    if (ids === undefined) this.byUser.set(userId, id);
    else if (typeof ids === 'string') this.byUser.set(userId, [ids, id]);
    else ids.push(id);
  }

  private indexRemove(userId: string, id: string): void {
    const ids = this.byUser.get(userId);
    if (ids === undefined) return;
    if (typeof ids === 'string') {
      if (ids === id) this.byUser.delete(userId);
      return;
    }
    const rest = ids.filter((x) => x !== id);
    if (rest.length === 0) this.byUser.delete(userId);
    else this.byUser.set(userId, rest.length === 1 ? rest[0] : rest);
  }

  private indexReplace(userId: string, oldId: string, newId: string): void {
    const ids = this.byUser.get(userId);
    if (ids === oldId) this.byUser.set(userId, newId);
    else if (Array.isArray(ids))
      this.byUser.set(
        userId,
        ids.map((x) => (x === oldId ? newId : x)),
      );
    else this.indexAdd(userId, newId);
  }

  private intern(userAgent: string): string {
    const known = this.userAgents.get(userAgent);
    if (known !== undefined) return known;
    if (this.userAgents.size >= INTERN_LIMIT) this.userAgents.clear();
    this.userAgents.set(userAgent, userAgent);
    return userAgent;
  }
}

/**
 * A deep-frozen copy of session data that the caller cannot reach. Through JSON, as every other store keeps
 * it, so a value reads back from memory exactly as it would from Redis or SQL (a Date becomes a string, an
 * `undefined` field disappears) and code tested on memory behaves the same in production.
 */
function ownData(data: SessionData): SessionData {
  const json = JSON.stringify(data);
  if (json === '{}') return EMPTY_DATA;
  return deepFreeze(JSON.parse(json) as SessionData);
}

/** A frozen copy of a roles list that the caller cannot reach; every session without roles shares one. */
function ownRoles(roles: readonly string[]): string[] {
  return roles.length === 0 ? EMPTY_ROLES : (Object.freeze([...roles]) as string[]);
}

/** Freezes a JSON value and everything in it (a tree: JSON.parse makes no cycles). */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

import { SessionChanges, SessionRecord, isSessionRecord } from '../../core/session-record';
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

/** Options for {@link InMemorySessionStore}. */
export interface InMemorySessionStoreOptions {
  /**
   * Most sessions kept at once. When full, the least recently used session is dropped to make room, so memory
   * stays bounded whatever happens. Default 1,000,000 (about 500 MB at most).
   */
  maxSessions?: number;
  /** Most counters kept at once (brute-force windows); the oldest is dropped beyond it. Default 100,000. */
  maxCounters?: number;
}

/** A rotated-away id, pointing at its one successor until `graceUntil` (ms since epoch). */
interface Pointer {
  successor: string;
  graceUntil: number;
}

/**
 * What one session costs in memory. A class, so V8 gives every entry the same compact shape; the data is kept
 * as its JSON text, which both copies it (callers can never mutate the stored state) and is smaller than an
 * object graph. User agents are interned: thousands of sessions from one browser build share one string.
 */
class Entry {
  constructor(
    public handle: string,
    public userId: string,
    public createdAt: number,
    public lastSeenAt: number,
    public idleExpiresAt: number,
    public absoluteExpiresAt: number,
    public authenticatedAt: number,
    public rotatedAt: number,
    public aal: number,
    public rolesVersion: number,
    public rotateRequired: boolean,
    public ip: string,
    public userAgent: string,
    public version: number,
    public data: string,
  ) {}
}

const EMPTY_DATA = '{}';
const SWEEP_STEP = 32;
const INTERN_LIMIT = 10_000;

/**
 * The embedded default store: sessions in this process's memory.
 *
 * Fit for one instance (development, tests, single-node apps); sessions die with the process. Every operation
 * is synchronous inside, so it is atomic by construction (nothing interleaves between its read and its write).
 *
 * Memory stays bounded: the session map is kept in least-recently-used order (a touch moves an entry to the
 * end), so expired sessions gather at the front and each write sweeps a few of them; no timer per key, no
 * interval. Beyond `maxSessions` the least recently used session is dropped.
 */
export class InMemorySessionStore extends SessionStore {
  private readonly sessions = new Map<string, Entry>();
  private readonly pointers = new Map<string, Pointer>();
  /** userId → one id, or several: most users have one session, and a bare string is far smaller than a Set. */
  private readonly byUser = new Map<string, string | string[]>();
  private readonly counters = new Map<string, CounterState>();
  private readonly userAgents = new Map<string, string>();
  private readonly maxSessions: number;
  private readonly maxCounters: number;

  constructor(options: InMemorySessionStoreOptions = {}) {
    super();
    this.maxSessions = options.maxSessions ?? 1_000_000;
    this.maxCounters = options.maxCounters ?? 100_000;
    if (!Number.isInteger(this.maxSessions) || this.maxSessions < 1) {
      throw new RangeError(`InMemorySessionStore: maxSessions must be a positive integer (got ${options.maxSessions})`);
    }
  }

  /** Number of sessions held (live or not yet swept). For metrics and tests. */
  get size(): number {
    return this.sessions.size;
  }

  async create(id: string, record: SessionRecord, options: CreateOptions): Promise<CreateResult> {
    if (!isSessionRecord(record)) throw new TypeError('InMemorySessionStore.create: not a valid SessionRecord');
    if (this.sessions.has(id) || this.pointers.has(id)) {
      throw new Error('InMemorySessionStore.create: a session with this id already exists; ids must be fresh');
    }
    this.sweep(options.now);
    if (this.sessions.size >= this.maxSessions) this.dropLeastRecentlyUsed();
    this.sessions.set(id, this.toEntry(record));
    this.indexAdd(record.userId, id);
    const evicted: SessionRecord[] = [];
    if (options.maxConcurrent > 0) {
      const live = this.liveOfUser(record.userId, options.now);
      for (let i = 0; i < live.length - options.maxConcurrent; i++) {
        evicted.push(live[i].record);
        this.remove(live[i].id);
      }
    }
    return { evicted };
  }

  async read(id: string, options: ReadOptions): Promise<ReadResult> {
    let targetId = id;
    let viaGrace = false;
    const pointer = this.pointers.get(id);
    if (pointer) {
      if (options.now >= pointer.graceUntil) {
        this.pointers.delete(id);
        return { status: 'missing' };
      }
      targetId = pointer.successor;
      viaGrace = true;
    }
    const entry = this.sessions.get(targetId);
    if (!entry) return { status: 'missing' };
    if (isExpired(entry, options.now)) {
      this.remove(targetId);
      return { status: 'expired', record: toRecord(entry) };
    }
    if (options.now - entry.lastSeenAt >= options.touchIntervalMs) {
      entry.lastSeenAt = options.now;
      entry.idleExpiresAt = Math.min(options.now + options.idleTimeoutMs, entry.absoluteExpiresAt);
      // Move to the end: the map stays in least-recently-used order, which is what sweeping relies on.
      this.sessions.delete(targetId);
      this.sessions.set(targetId, entry);
    }
    return { status: 'active', id: targetId, record: toRecord(entry), viaGrace };
  }

  async update(id: string, expectedVersion: number, changes: SessionChanges, now: number): Promise<UpdateResult> {
    const entry = this.sessions.get(id);
    if (!entry) return { status: 'missing' };
    if (isExpired(entry, now)) {
      this.remove(id);
      return { status: 'missing' };
    }
    if (entry.version !== expectedVersion) return { status: 'conflict', record: toRecord(entry) };
    this.applyTo(entry, changes);
    entry.version += 1;
    return { status: 'ok', record: toRecord(entry) };
  }

  async rotate(oldId: string, newId: string, options: RotateOptions): Promise<RotateResult> {
    const pointer = this.pointers.get(oldId);
    if (pointer) {
      const successor = options.now < pointer.graceUntil ? this.sessions.get(pointer.successor) : undefined;
      if (!successor || isExpired(successor, options.now)) return { status: 'missing' };
      return { status: 'superseded', id: pointer.successor, record: toRecord(successor) };
    }
    const entry = this.sessions.get(oldId);
    if (!entry) return { status: 'missing' };
    if (isExpired(entry, options.now)) {
      this.remove(oldId);
      return { status: 'missing' };
    }
    if (this.sessions.has(newId) || this.pointers.has(newId)) {
      throw new Error('InMemorySessionStore.rotate: the new id is already in use; ids must be fresh');
    }
    this.applyTo(entry, options.changes);
    entry.version += 1;
    this.sessions.delete(oldId);
    this.sessions.set(newId, entry);
    this.indexReplace(entry.userId, oldId, newId);
    if (options.graceMs > 0) this.pointers.set(oldId, { successor: newId, graceUntil: options.now + options.graceMs });
    return { status: 'rotated', record: toRecord(entry) };
  }

  async destroy(id: string): Promise<SessionRecord | null> {
    const pointer = this.pointers.get(id);
    if (pointer) {
      this.pointers.delete(id);
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
      const entry = this.sessions.get(id);
      if (!entry) continue;
      entry.rotateRequired = true;
      entry.rolesVersion += 1;
      entry.version += 1;
      marked++;
    }
    return marked;
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

  /** Removes expired sessions from the least recently used end, and pointers past their grace. Bounded work. */
  private sweep(now: number): void {
    let budget = SWEEP_STEP;
    for (const [id, entry] of this.sessions) {
      if (budget-- === 0 || !isExpired(entry, now)) break;
      this.remove(id);
    }
    budget = SWEEP_STEP;
    // Pointers are inserted with the same grace, so the map is in expiry order.
    for (const [id, pointer] of this.pointers) {
      if (budget-- === 0 || now < pointer.graceUntil) break;
      this.pointers.delete(id);
    }
  }

  private dropLeastRecentlyUsed(): void {
    const first = this.sessions.keys().next();
    if (!first.done) this.remove(first.value);
  }

  private remove(id: string): SessionRecord | null {
    const entry = this.sessions.get(id);
    if (!entry) return null;
    this.sessions.delete(id);
    this.indexRemove(entry.userId, id);
    return toRecord(entry);
  }

  private liveOfUser(userId: string, now: number): StoredSession[] {
    const live: StoredSession[] = [];
    for (const id of this.idsOf(userId)) {
      const entry = this.sessions.get(id);
      if (!entry) continue;
      if (isExpired(entry, now)) this.remove(id);
      else live.push({ id, record: toRecord(entry) });
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

  private toEntry(r: SessionRecord): Entry {
    return new Entry(
      r.handle,
      r.userId,
      r.createdAt,
      r.lastSeenAt,
      r.idleExpiresAt,
      r.absoluteExpiresAt,
      r.authenticatedAt,
      r.rotatedAt,
      r.aal,
      r.rolesVersion,
      r.rotateRequired,
      r.ip,
      this.intern(r.userAgent),
      r.version,
      serialiseData(r.data),
    );
  }

  private applyTo(entry: Entry, changes: SessionChanges): void {
    for (const key of Object.keys(changes) as (keyof SessionChanges)[]) {
      const value = changes[key];
      if (value === undefined) continue;
      if (key === 'data') entry.data = serialiseData(value as SessionRecord['data']);
      else (entry as unknown as Record<string, unknown>)[key] = value;
    }
  }

  private intern(userAgent: string): string {
    const known = this.userAgents.get(userAgent);
    if (known !== undefined) return known;
    if (this.userAgents.size >= INTERN_LIMIT) this.userAgents.clear();
    this.userAgents.set(userAgent, userAgent);
    return userAgent;
  }
}

function isExpired(entry: Entry, now: number): boolean {
  return now >= entry.idleExpiresAt || now >= entry.absoluteExpiresAt;
}

function serialiseData(data: SessionRecord['data']): string {
  const json = JSON.stringify(data);
  return json === EMPTY_DATA ? EMPTY_DATA : json;
}

function toRecord(e: Entry): SessionRecord {
  return {
    handle: e.handle,
    userId: e.userId,
    createdAt: e.createdAt,
    lastSeenAt: e.lastSeenAt,
    idleExpiresAt: e.idleExpiresAt,
    absoluteExpiresAt: e.absoluteExpiresAt,
    authenticatedAt: e.authenticatedAt,
    rotatedAt: e.rotatedAt,
    aal: e.aal,
    rolesVersion: e.rolesVersion,
    rotateRequired: e.rotateRequired,
    ip: e.ip,
    userAgent: e.userAgent,
    version: e.version,
    data: JSON.parse(e.data) as SessionRecord['data'],
  };
}

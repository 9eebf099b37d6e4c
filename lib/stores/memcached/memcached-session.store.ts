import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { MemcacheClient } from 'memcache-client';
import type { MultiRetrievalResponse } from 'memcache-client';
import {
  applyChanges,
  countsTowardLimit,
  expiresAt,
  isExpired,
  pointerState,
  pointerWindows,
  rolesChange,
  RotationPointer,
  startsCounting,
  touchChanges,
} from '../../core/lifecycle';
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
import { MemcachedSessionStoreError, MemcachedStoreUnavailableError, messageOf } from './memcached-session-store.errors';
import { BoundedCall, DeadlineSweeper, runBounded } from '../deadline-sweeper';

/** Options for {@link MemcachedSessionStore}. Give `client` or `server`, not both. */
export interface MemcachedSessionStoreOptions {
  /**
   * A memcache-client `MemcacheClient` that you own: the store uses it and never shuts it down. Its `cmdTimeout`
   * and `connectTimeout` apply, not the store's (memcache-client judges `cmdTimeout` from a timer, so after the
   * process was paused for longer, the commands in flight fail even when memcached had answered in time).
   * Default: none (the store creates its own from `server`).
   */
  client?: MemcacheClient;
  /**
   * `host:port` of the memcached server when no `client` is given. The store then creates, owns and shuts down the
   * client, which reconnects by itself on the next command after an outage. Default `'127.0.0.1:11211'`.
   */
  server?: string;
  /**
   * Prefix of every key the store writes (`<prefix>s:<id>`, `<prefix>u:<sha256 of userId>`,
   * `<prefix>c:<sha256 of counter key>`): printable ASCII without spaces, at most 64 characters. Give each
   * application sharing a memcached its own. Default `'nsk:'`.
   */
  prefix?: string;
  /**
   * Longest wait (ms) for one memcached command, reply included; past it the store throws a 503 error and opens a
   * new connection for the next command. A reply that arrived while the process could not run (a long synchronous
   * task, a paused VM) counts as in time. Default 2000 ms.
   */
  commandTimeoutMs?: number;
  /** Longest wait (ms) to open a connection, and for the start-up check in `connect()`. Default 5000 ms. */
  connectTimeoutMs?: number;
  /**
   * Largest item the store writes (bytes, key included). A user's sessions share one item (so that every per-user
   * operation is one check-and-set), so this bounds the sessions and data of one user. Keep it below memcached's
   * item size limit (`-I`, 1 MiB by default). Default {@link DEFAULT_MEMCACHED_MAX_ITEM_BYTES} (1 MiB - 1 KiB).
   */
  maxItemBytes?: number;
  /** Check-and-set attempts of one operation before it gives up with an error (a count). Default 200. */
  maxCasAttempts?: number;
}

/** Default {@link MemcachedSessionStoreOptions.server}. */
export const DEFAULT_MEMCACHED_SERVER = '127.0.0.1:11211';
/** Default {@link MemcachedSessionStoreOptions.prefix}. */
export const DEFAULT_MEMCACHED_PREFIX = 'nsk:';
/** Default {@link MemcachedSessionStoreOptions.commandTimeoutMs}, in ms. */
export const DEFAULT_MEMCACHED_COMMAND_TIMEOUT_MS = 2000;
/** Default {@link MemcachedSessionStoreOptions.connectTimeoutMs}, in ms. */
export const DEFAULT_MEMCACHED_CONNECT_TIMEOUT_MS = 5000;
/** Default {@link MemcachedSessionStoreOptions.maxItemBytes}, in bytes: memcached's default 1 MiB item limit less room for its header. */
export const DEFAULT_MEMCACHED_MAX_ITEM_BYTES = 1024 * 1024 - 1024;
/** Default {@link MemcachedSessionStoreOptions.maxCasAttempts}. */
export const DEFAULT_MEMCACHED_MAX_CAS_ATTEMPTS = 200;

/**
 * memcache-client's own `cmdTimeout` for the client the store creates: out of the way (about 24 days), since the
 * store bounds commands itself (see MemcachedSessionStore's `call`).
 */
const CLIENT_CMD_TIMEOUT_MS = 2 ** 31 - 1;

/** Memcached reads an expiry above 30 days (in seconds) as a Unix time, not a duration. */
const MAX_RELATIVE_EXPIRY_S = 30 * 24 * 3600;
/** How long the route of a new id lives before the rotation that needs it has written its real deadline (ms). */
const PROVISIONAL_ROUTE_MS = 24 * 3600 * 1000;
/** Memcached's reply words to a store or delete that did not happen: outcomes, not failures. */
const OUTCOME_REPLIES = new Set(['NOT_STORED', 'EXISTS', 'NOT_FOUND']);
const SOCKET_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * Everything of one user, in one item: sessions by id and rotation pointers by old id. Every operation on a user's
 * sessions (create with its concurrent-session limit, rotation with its pointer, logout everywhere, role changes) is
 * then ONE check-and-set of this item, atomic whatever else happens.
 */
interface UserItem {
  s: Record<string, SessionRecord>;
  p: Record<string, RotationPointer>;
}

/** What one attempt of a check-and-set decided: the result, the state to write (`null` = remove), route clean-ups. */
interface Step<S, T> {
  result: T;
  /** `undefined`: nothing to write. `null`: remove the item. */
  next?: S | null;
  /** Session ids whose routes to delete once the write is in. */
  dropRoutes?: string[];
}

/** A step that writes `state` back (or removes the item when nothing is left in it). */
function writeUser<T>(state: UserItem, result: T, dropRoutes: string[] = []): Step<UserItem, T> {
  const empty = Object.keys(state.s).length === 0 && Object.keys(state.p).length === 0;
  return { result, next: empty ? null : state, dropRoutes };
}

/**
 * Sessions in memcached, with check-and-set (`gets`/`cas`) for every read-modify-write.
 *
 * Layout, under the prefix: `u:<sha256 of userId>` holds every session and rotation pointer of one user (JSON), and
 * `s:<id>` is a route from a session id (or a rotated-away id) to its user. Each contract operation is one
 * check-and-set of the user's item, retried when another writer got there first, so the concurrent-session limit,
 * rotation (successor and pointer together), logout everywhere and role changes are atomic. Routes are written before
 * the item names an id and deleted after it stops naming it; a route alone leads nowhere (the item decides).
 *
 * What memcached cannot promise, and what the store makes of it (the README's "Memcached store" section):
 * - an item can be evicted under memory pressure and nothing survives a restart. An evicted user item, or an evicted
 *   route, means those sessions are logged out, never let in; a session whose route is gone stops counting toward the
 *   limit (the store checks routes when the limit bites and when listing). An evicted counter restarts at zero;
 * - one user's sessions share one item: `maxItemBytes` bounds them, and parallel writes of one user are ordered by
 *   retries.
 *
 * Decisions follow the `now` the caller passes and `lib/core/lifecycle.ts`; item lifetimes only collect garbage after
 * the logical end. Connection failures and timeouts throw {@link MemcachedStoreUnavailableError} (503), and the
 * store recovers by itself when memcached answers again.
 *
 * @example
 * SessionModule.forRoot({ store: new MemcachedSessionStore({ server: process.env.MEMCACHED_URL ?? '127.0.0.1:11211' }) });
 */
export class MemcachedSessionStore extends SessionStore {
  private readonly logger = new Logger('MemcachedSessionStore');
  private readonly client: MemcacheClient;
  private readonly owned: boolean;
  private readonly target: string;
  private readonly prefix: string;
  private readonly connectTimeoutMs: number;
  private readonly commandTimeoutMs: number;
  private readonly maxItemBytes: number;
  private readonly maxCasAttempts: number;
  private connectionLost = false;
  private closed = false;
  /** Commands in flight on the store's own client, with their deadlines (see {@link bounded}). */
  private readonly pending: DeadlineSweeper<BoundedCall>;

  constructor(options: MemcachedSessionStoreOptions = {}) {
    super();
    const problems: string[] = [];
    if (options.client && options.server) problems.push('give `client` or `server`, not both');
    const server = options.server ?? DEFAULT_MEMCACHED_SERVER;
    if (!options.client && !/^[^\s:]+:\d{1,5}$/.test(server)) {
      problems.push(`server must be host:port, e.g. 127.0.0.1:11211 (got ${JSON.stringify(server)})`);
    }
    const prefix = options.prefix ?? DEFAULT_MEMCACHED_PREFIX;
    if (!/^[\x21-\x7e]{0,64}$/.test(prefix)) {
      problems.push(`prefix must be at most 64 printable ASCII characters without spaces (got ${JSON.stringify(prefix)})`);
    }
    const commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_MEMCACHED_COMMAND_TIMEOUT_MS;
    const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_MEMCACHED_CONNECT_TIMEOUT_MS;
    const maxItemBytes = options.maxItemBytes ?? DEFAULT_MEMCACHED_MAX_ITEM_BYTES;
    const maxCasAttempts = options.maxCasAttempts ?? DEFAULT_MEMCACHED_MAX_CAS_ATTEMPTS;
    for (const [name, value, fallback] of [
      ['commandTimeoutMs', commandTimeoutMs, DEFAULT_MEMCACHED_COMMAND_TIMEOUT_MS],
      ['connectTimeoutMs', connectTimeoutMs, DEFAULT_MEMCACHED_CONNECT_TIMEOUT_MS],
      ['maxItemBytes', maxItemBytes, DEFAULT_MEMCACHED_MAX_ITEM_BYTES],
      ['maxCasAttempts', maxCasAttempts, DEFAULT_MEMCACHED_MAX_CAS_ATTEMPTS],
    ] as const) {
      if (!Number.isInteger(value) || value < 1)
        problems.push(`${name} must be a positive integer (got ${String(value)}); omit it for ${fallback}`);
    }
    // A client that resolves NOT_STORED as success would make `add` (the "this id is new" check) always succeed.
    if (options.client?.options?.ignoreNotStored) {
      problems.push('the client passed in has ignoreNotStored: true; give the store a client without it (the store relies on NOT_STORED)');
    }
    if (problems.length > 0) throw new TypeError(`MemcachedSessionStore: ${problems.join('; ')}`);
    this.prefix = prefix;
    this.connectTimeoutMs = connectTimeoutMs;
    this.commandTimeoutMs = commandTimeoutMs;
    this.pending = new DeadlineSweeper(commandTimeoutMs, (overdue) => {
      for (const call of overdue) call.reject(new Error(`Command timeout: no answer within ${commandTimeoutMs} ms`));
      // Fails the commands queued behind the silent one; the next command connects again.
      if (!this.closed) this.client.shutdown();
    });
    this.maxItemBytes = maxItemBytes;
    this.maxCasAttempts = maxCasAttempts;
    if (options.client) {
      this.client = options.client;
      this.owned = false;
      this.target = 'the client passed in';
    } else {
      this.owned = true;
      this.target = server;
      this.client = new MemcacheClient({
        // One server: the client keeps it even after a failed connection (its `keepLastServer` default), so the
        // next command after an outage connects again at once and the store recovers by itself.
        server: { server, maxConnections: 1 },
        cmdTimeout: CLIENT_CMD_TIMEOUT_MS,
        connectTimeout: connectTimeoutMs,
        noDelay: true,
        // The store logs one line per outage and per recovery itself; the client would log every failed command.
        logger: QUIET_LOGGER,
      });
    }
  }

  /**
   * Checks that memcached answers (`version`), so an unreachable server stops start-up with a message naming
   * `host:port`. The module awaits it; safe to call more than once.
   *
   * @throws MemcachedStoreUnavailableError when memcached does not answer within `connectTimeoutMs`.
   */
  override async connect(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(() => this.client.version()),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
        }),
      ]);
    } catch (error) {
      throw MemcachedStoreUnavailableError.notAnswering(this.target, this.connectTimeoutMs, error);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Creates a store and waits until memcached answers: see {@link MemcachedSessionStore.connect}. */
  static async connect(options: MemcachedSessionStoreOptions = {}): Promise<MemcachedSessionStore> {
    const store = new MemcachedSessionStore(options);
    try {
      await store.connect();
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }

  async create(id: string, record: SessionRecord, options: CreateOptions): Promise<CreateResult> {
    if (!isSessionRecord(record)) {
      throw new TypeError(
        'MemcachedSessionStore.create: not a valid SessionRecord; build it with SessionManager.create or check it with isSessionRecord',
      );
    }
    const copy = clone(record);
    const { now, maxConcurrent } = options;
    // The route first: `add` fails when the id exists (a session or a pointer), which makes the check atomic.
    if (!(await this.addRoute('create', id, copy.userId, copy.absoluteExpiresAt, now))) {
      throw new MemcachedSessionStoreError(
        'MemcachedSessionStore.create: a session with this id already exists; hash a freshly generated token for every new session',
      );
    }
    const limited = maxConcurrent > 0 && countsTowardLimit(copy);
    const stored = this.mutateUser('create', copy.userId, now, async (state) => {
      if (state.s[id] || state.p[id]) {
        throw new MemcachedSessionStoreError('MemcachedSessionStore.create: the id is already in use in the user item');
      }
      const dropped = prune(state, now);
      if (limited) {
        let counted = liveCounted(state, now);
        if (counted.length >= maxConcurrent) {
          // At the limit: sessions whose route was evicted are logged out already; they must not count.
          dropped.push(
            ...(await this.dropGhosts(
              state,
              counted.map((s) => s.id),
            )),
          );
          counted = liveCounted(state, now);
        }
        if (options.onLimit === 'deny-new' && counted.length >= maxConcurrent) {
          return {
            result: { status: 'denied', live: counted.map((s) => s.record) } as CreateResult,
            next: dropped.length ? state : undefined,
            dropRoutes: dropped,
          };
        }
      }
      state.s[id] = clone(copy);
      const evicted: SessionRecord[] = [];
      if (limited) {
        const counted = liveCounted(state, now);
        for (const victim of counted.slice(0, Math.max(0, counted.length - maxConcurrent))) {
          evicted.push(victim.record);
          delete state.s[victim.id];
          dropped.push(victim.id);
        }
      }
      return writeUser(state, { status: 'created', evicted } as CreateResult, dropped);
    });
    // Nothing stored (a failure, or too large): the route goes too, so the id can still be created (or is left to expire).
    const result = await stored.catch(async (error: unknown) => {
      await this.deleteRoutes('create', [id], false);
      throw error;
    });
    if (result.status === 'denied') await this.deleteRoutes('create', [id], true);
    return result;
  }

  async read(id: string, options: ReadOptions): Promise<ReadResult> {
    const { now } = options;
    const userId = await this.route('read', id);
    if (userId === null) return { status: 'missing' };
    return this.mutateUser<ReadResult>('read', userId, now, (state) => {
      let targetId = id;
      let viaGrace = false;
      const pointer = state.p[id];
      if (pointer) {
        const where = pointerState(pointer, now);
        if (where === 'tombstone') return { result: { status: 'tombstone' } };
        if (where === 'gone') {
          delete state.p[id];
          return writeUser(state, { status: 'missing' }, [id]);
        }
        targetId = pointer.successor;
        viaGrace = true;
      }
      const record = state.s[targetId];
      if (!record) return { result: { status: 'missing' } };
      if (isExpired(record, now)) {
        delete state.s[targetId];
        return writeUser(state, { status: 'expired', record }, [targetId]);
      }
      const touch = touchChanges(record, now, options.idleTimeoutMs, options.touchIntervalMs);
      if (touch === null) return { result: { status: 'active', id: targetId, record, viaGrace } };
      const touched = applyChanges(record, touch, false);
      state.s[targetId] = touched;
      return writeUser(state, { status: 'active', id: targetId, record: clone(touched), viaGrace });
    });
  }

  async update(id: string, expectedVersion: number, changes: SessionChanges, now: number): Promise<UpdateResult> {
    const userId = await this.route('update', id);
    if (userId === null) return { status: 'missing' };
    const own = clone(changes);
    let moved: { id: string; absoluteExpiresAt: number } | undefined;
    const result = await this.mutateUser<UpdateResult>('update', userId, now, (state) => {
      moved = undefined;
      let targetId = id;
      const pointer = state.p[id];
      if (pointer) {
        if (pointerState(pointer, now) === 'gone') {
          delete state.p[id];
          return writeUser(state, { status: 'missing' }, [id]);
        }
        targetId = pointer.successor;
      }
      const record = state.s[targetId];
      if (!record) return { result: { status: 'missing' } };
      if (isExpired(record, now)) {
        delete state.s[targetId];
        return writeUser(state, { status: 'missing' }, [targetId]);
      }
      if (record.version !== expectedVersion) return { result: { status: 'conflict', id: targetId, record } };
      const next = applyChanges(record, own);
      state.s[targetId] = next;
      if (next.absoluteExpiresAt > record.absoluteExpiresAt) moved = { id: targetId, absoluteExpiresAt: next.absoluteExpiresAt };
      return writeUser(state, { status: 'ok', id: targetId, record: clone(next) });
    });
    // Re-authentication moved the absolute deadline: the route must live as long. Should this fail, the route ends
    // at the old deadline and the session is logged out early (never kept longer).
    if (result.status === 'ok' && moved) await this.touchRoute('update', moved.id, moved.absoluteExpiresAt, now);
    return result;
  }

  async rotate(oldId: string, newId: string, options: RotateOptions): Promise<RotateResult> {
    const { now } = options;
    const userId = await this.route('rotate', oldId);
    if (userId === null) return { status: 'missing' };
    if (!(await this.addRoute('rotate', newId, userId, now + PROVISIONAL_ROUTE_MS, now))) {
      throw new MemcachedSessionStoreError(
        'MemcachedSessionStore.rotate: the new id is already in use; hash a freshly generated token for every rotation',
      );
    }
    const changes = clone(options.changes);
    const limit = options.limit;
    let result: RotateResult;
    try {
      result = await this.mutateUser<RotateResult>('rotate', userId, now, async (state) => {
        const pointer = state.p[oldId];
        if (pointer) {
          const where = pointerState(pointer, now);
          if (where === 'tombstone') return { result: { status: 'tombstone' } };
          if (where === 'gone') {
            delete state.p[oldId];
            return writeUser(state, { status: 'missing' }, [oldId]);
          }
          const successor = state.s[pointer.successor];
          if (!successor || isExpired(successor, now)) return { result: { status: 'missing' } };
          return { result: { status: 'superseded', id: pointer.successor, record: successor } };
        }
        const record = state.s[oldId];
        if (!record) return { result: { status: 'missing' } };
        if (isExpired(record, now)) {
          delete state.s[oldId];
          return writeUser(state, { status: 'missing' }, [oldId]);
        }
        if (state.s[newId] || state.p[newId]) {
          throw new MemcachedSessionStoreError('MemcachedSessionStore.rotate: the new id is already in use in the user item');
        }
        const dropped = prune(state, now);
        const next = applyChanges(record, changes);
        const limited = limit !== undefined && limit.maxConcurrent > 0 && startsCounting(record, next);
        let victims: StoredSession[] = [];
        if (limited) {
          const othersOf = () => liveCounted(state, now).filter((s) => s.id !== oldId);
          let others = othersOf();
          if (others.length + 1 > limit.maxConcurrent) {
            dropped.push(
              ...(await this.dropGhosts(
                state,
                others.map((s) => s.id),
              )),
            );
            others = othersOf();
          }
          const excess = others.length + 1 - limit.maxConcurrent;
          if (excess > 0) {
            if (limit.onLimit === 'deny-new') {
              return {
                result: { status: 'denied', live: others.map((s) => s.record) },
                next: dropped.length ? state : undefined,
                dropRoutes: dropped,
              };
            }
            victims = others.slice(0, excess);
          }
        }
        delete state.s[oldId];
        state.s[newId] = next;
        // Even with graceMs 0 the old id stays remembered (as a tombstone): see pointerWindows.
        state.p[oldId] = { successor: newId, ...pointerWindows(now, options.graceMs) };
        for (const victim of victims) {
          delete state.s[victim.id];
          dropped.push(victim.id);
        }
        const rotated: RotateResult = limited
          ? { status: 'rotated', record: clone(next), evicted: victims.map((v) => v.record) }
          : { status: 'rotated', record: clone(next) };
        return writeUser(state, rotated, dropped);
      });
    } catch (error) {
      await this.deleteRoutes('rotate', [newId], false).catch(() => undefined);
      throw error;
    }
    if (result.status === 'rotated') await this.touchRoute('rotate', newId, result.record.absoluteExpiresAt, now);
    else await this.deleteRoutes('rotate', [newId], true);
    return result;
  }

  async destroy(id: string): Promise<SessionRecord | null> {
    const userId = await this.route('destroy', id);
    if (userId === null) return null;
    return this.mutateUser<SessionRecord | null>('destroy', userId, undefined, (state) => {
      const pointer = state.p[id];
      if (pointer) {
        delete state.p[id];
        const successor = state.s[pointer.successor] ?? null;
        delete state.s[pointer.successor];
        return writeUser(state, successor, [id, pointer.successor]);
      }
      const record = state.s[id];
      if (!record) return { result: null };
      delete state.s[id];
      return writeUser(state, record, [id]);
    });
  }

  async listByUser(userId: string, now: number): Promise<StoredSession[]> {
    return this.liveOf('listByUser', userId, now);
  }

  async countByUser(userId: string, now: number): Promise<number> {
    return (await this.liveOf('countByUser', userId, now)).length;
  }

  async destroyByUser(userId: string, exceptId?: string): Promise<SessionRecord[]> {
    return this.mutateUser<SessionRecord[]>('destroyByUser', userId, undefined, (state) => {
      const destroyed: SessionRecord[] = [];
      const ids: string[] = [];
      for (const [id, record] of Object.entries(state.s)) {
        if (id === exceptId) continue;
        destroyed.push(record);
        ids.push(id);
        delete state.s[id];
      }
      if (ids.length === 0) return { result: [] };
      return writeUser(state, destroyed, ids);
    });
  }

  async destroyByHandle(userId: string, handle: string): Promise<SessionRecord | null> {
    return this.mutateUser<SessionRecord | null>('destroyByHandle', userId, undefined, (state) => {
      const found = Object.entries(state.s).find(([, record]) => record.handle === handle);
      if (!found) return { result: null };
      delete state.s[found[0]];
      return writeUser(state, found[1], [found[0]]);
    });
  }

  async requireRotationForUser(userId: string): Promise<number> {
    return this.mutateUser<number>('requireRotationForUser', userId, undefined, (state) => {
      const ids = Object.keys(state.s);
      if (ids.length === 0) return { result: 0 };
      for (const id of ids) {
        const record = state.s[id];
        state.s[id] = applyChanges(record, { rotateRequired: true, rolesVersion: record.rolesVersion + 1 });
      }
      return writeUser(state, ids.length);
    });
  }

  async updateUserRoles(userId: string, roles: string[], now: number): Promise<number> {
    const own = [...roles];
    return this.mutateUser<number>('updateUserRoles', userId, now, (state) => {
      let changed = 0;
      for (const [id, record] of Object.entries(state.s)) {
        if (isExpired(record, now)) continue;
        const change = rolesChange(record.roles, own);
        if (change === 'same') continue;
        const next = applyChanges(record, {
          rolesVersion: record.rolesVersion + 1,
          // An elevation rotates at the next request; a demotion never cancels a rotation already due.
          rotateRequired: record.rotateRequired || change === 'elevation',
        });
        state.s[id] = { ...next, roles: [...own] };
        changed++;
      }
      return changed === 0 ? { result: 0 } : writeUser(state, changed);
    });
  }

  async increment(key: string, windowMs: number, now: number): Promise<CounterState> {
    return this.checkAndSet<CounterState | undefined, CounterState>(
      'increment',
      this.counterKey(key),
      parseCounter,
      (state) => {
        const next =
          state && now < state.resetAt ? { count: state.count + 1, resetAt: state.resetAt } : { count: 1, resetAt: now + windowMs };
        return { result: { ...next }, next };
      },
      (state) => JSON.stringify({ n: state.count, r: state.resetAt }),
      (state) => state.resetAt,
      now,
    );
  }

  async resetCounter(key: string): Promise<void> {
    await this.call('resetCounter', async (client) => {
      try {
        await client.delete(this.counterKey(key));
      } catch (error) {
        if (replyOf(error) !== 'NOT_FOUND') throw error;
      }
    });
  }

  async ping(): Promise<void> {
    await this.call('ping', (client) => client.version());
  }

  /** Shuts down the client the store created; never a client passed in. Safe to call more than once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.owned) this.client.shutdown();
    this.pending.stopNow();
  }

  // --- keys -------------------------------------------------------------------------------------------------------

  /** Memcached keys are at most 250 bytes without spaces or control characters: ids of that shape are used as they are. */
  private routeKey(id: string): string {
    return /^[A-Za-z0-9_-]{1,128}$/.test(id) ? `${this.prefix}s:${id}` : `${this.prefix}s#${sha256(id)}`;
  }

  private userKey(userId: string): string {
    return `${this.prefix}u:${sha256(userId)}`;
  }

  private counterKey(key: string): string {
    return `${this.prefix}c:${sha256(key)}`;
  }

  // --- routes -----------------------------------------------------------------------------------------------------

  /** The user a session id (or a rotated-away id) belongs to, or null. */
  private async route(operation: string, id: string): Promise<string | null> {
    const got = await this.call(operation, (client) => client.get<string>(this.routeKey(id)));
    return parseRoute(got?.value);
  }

  /** Adds the route of a new id; false when the key exists already. */
  private async addRoute(operation: string, id: string, userId: string, until: number, now: number): Promise<boolean> {
    return this.call(operation, async (client) => {
      try {
        await client.add(this.routeKey(id), JSON.stringify({ u: userId }), { lifetime: lifetime(until, now) });
        return true;
      } catch (error) {
        if (replyOf(error) === 'NOT_STORED') return false;
        throw error;
      }
    });
  }

  private async touchRoute(operation: string, id: string, until: number, now: number): Promise<void> {
    await this.call(operation, async (client) => {
      try {
        await client.touch(this.routeKey(id), lifetime(until, now));
      } catch (error) {
        // Evicted meanwhile: the session is logged out, as the README says an eviction does.
        if (replyOf(error) !== 'NOT_FOUND') throw error;
      }
    });
  }

  /**
   * Deletes routes. `strict`: a failure is thrown (the caller's result depends on it); otherwise routes whose
   * sessions are already gone from the user item are left to their expiry should memcached fail now.
   */
  private async deleteRoutes(operation: string, ids: readonly string[], strict: boolean): Promise<void> {
    if (ids.length === 0) return;
    const work = this.call(operation, (client) =>
      Promise.all(
        ids.map((id) =>
          client.delete(this.routeKey(id)).catch((error: unknown) => {
            if (replyOf(error) !== 'NOT_FOUND') throw error;
          }),
        ),
      ),
    );
    if (strict) await work;
    else await work.catch(() => undefined);
  }

  /**
   * Of `ids`, the sessions whose route is gone (evicted): they cannot be reached any more, so they are logged out.
   * Removes them from `state` and returns them. One multi-get.
   */
  private async dropGhosts(state: UserItem, ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const keys = ids.map((id) => this.routeKey(id));
    const found = await this.call('route check', (client) => client.get<MultiRetrievalResponse<string>>(keys));
    const ghosts = ids.filter((_, i) => parseRoute(found?.[keys[i]]?.value) === null);
    for (const id of ghosts) delete state.s[id];
    return ghosts;
  }

  /** Live sessions of a user, oldest first; prunes expired sessions, forgotten pointers and sessions whose route is gone. */
  private liveOf(operation: string, userId: string, now: number): Promise<StoredSession[]> {
    return this.mutateUser<StoredSession[]>(operation, userId, now, async (state) => {
      const dropped = prune(state, now);
      dropped.push(...(await this.dropGhosts(state, Object.keys(state.s))));
      const live = liveSessions(state, now);
      return dropped.length ? writeUser(state, live, dropped) : { result: live };
    });
  }

  // --- check-and-set ----------------------------------------------------------------------------------------------

  /** @param now the caller's clock (ms since epoch), when the operation has one: item lifetimes count from it. */
  private mutateUser<T>(
    operation: string,
    userId: string,
    now: number | undefined,
    step: (state: UserItem) => Step<UserItem, T> | Promise<Step<UserItem, T>>,
  ): Promise<T> {
    return this.checkAndSet<UserItem, T>(
      operation,
      this.userKey(userId),
      parseUser,
      step,
      (state) => JSON.stringify(state),
      userDeadline,
      now,
    );
  }

  /**
   * `gets` the item, lets `step` decide, and writes with `cas` (or `add` when there was no item), retrying from a
   * fresh `gets` whenever another writer changed (or created, or removed) the item in between. `step` must decide
   * from `state` alone each time: it runs once per attempt.
   */
  private async checkAndSet<S, T>(
    operation: string,
    key: string,
    parse: (raw: unknown) => S,
    step: (state: S) => Step<S, T> | Promise<Step<S, T>>,
    serialize: (state: NonNullable<S>) => string,
    deadline: (state: NonNullable<S>) => number,
    now = Date.now(),
  ): Promise<T> {
    for (let attempt = 0; attempt < this.maxCasAttempts; attempt++) {
      if (attempt >= 3) await sleep(Math.random() * Math.min(attempt, 20));
      const got = await this.call(operation, (client) => client.gets<string>(key));
      const { result, next, dropRoutes } = await step(parse(got?.value));
      if (next === undefined) {
        await this.deleteRoutes(operation, dropRoutes ?? [], false);
        return result;
      }
      let stored: boolean;
      if (next === null) {
        // A check-and-set that expires the item at once: a delete that loses to any writer in between.
        stored = got ? await this.store(operation, 'cas', key, '', -1, got.casUniq) : true;
      } else {
        const body = serialize(next as NonNullable<S>);
        const bytes = Buffer.byteLength(body) + key.length;
        if (bytes > this.maxItemBytes) throw MemcachedSessionStoreError.itemTooLarge(operation, bytes, this.maxItemBytes);
        const ttl = lifetime(deadline(next as NonNullable<S>), now);
        stored = got ? await this.store(operation, 'cas', key, body, ttl, got.casUniq) : await this.store(operation, 'add', key, body, ttl);
      }
      if (stored) {
        await this.deleteRoutes(operation, dropRoutes ?? [], false);
        return result;
      }
    }
    throw MemcachedSessionStoreError.contention(operation, this.maxCasAttempts);
  }

  /** `cas` or `add`; false when another writer got there first (EXISTS, NOT_FOUND, NOT_STORED). */
  private store(
    operation: string,
    command: 'cas' | 'add',
    key: string,
    body: string,
    ttl: number,
    casUniq?: string | number,
  ): Promise<boolean> {
    return this.call(operation, async (client) => {
      try {
        if (command === 'cas') await client.cas(key, body, { casUniq: casUniq as string | number, lifetime: ttl });
        else await client.add(key, body, { lifetime: ttl });
        return true;
      } catch (error) {
        if (replyOf(error) !== undefined) return false;
        throw error;
      }
    });
  }

  /**
   * Runs commands on the client, turning failures into the store's errors: connectivity (refused, reset, timed
   * out) into {@link MemcachedStoreUnavailableError}, error replies into {@link MemcachedSessionStoreError}. Logs one
   * line per outage and one per recovery.
   */
  private async call<T>(operation: string, run: (client: MemcacheClient) => Promise<T>): Promise<T> {
    if (this.closed) throw MemcachedStoreUnavailableError.closed(operation, this.target);
    let value: T;
    try {
      // Through a promise: the client may throw synchronously (no server left), which must become a rejection.
      value = this.owned ? await this.bounded(run) : await Promise.resolve().then(() => run(this.client));
    } catch (error) {
      if (error instanceof MemcachedSessionStoreError || error instanceof MemcachedStoreUnavailableError) throw error;
      if (isConnectionFailure(error)) {
        if (!this.connectionLost && !this.closed) {
          this.connectionLost = true;
          this.logger.warn(
            `Lost the connection to memcached at ${this.target} (${messageOf(error)}); requests fail with 503 until it answers`,
          );
        }
        throw MemcachedStoreUnavailableError.create(operation, this.target, error);
      }
      if (/^SERVER_ERROR out of memory/i.test(messageOf(error)))
        throw MemcachedStoreUnavailableError.outOfMemory(operation, this.target, error);
      if (/^(SERVER_ERROR|CLIENT_ERROR|ERROR)\b/.test(messageOf(error))) throw MemcachedSessionStoreError.commandFailed(operation, error);
      throw error;
    }
    if (this.connectionLost) {
      this.connectionLost = false;
      this.logger.log(`memcached at ${this.target} answers again`);
    }
    return value;
  }

  /**
   * Runs `run` on the store's own client, bounded by `commandTimeoutMs`. memcache-client's own `cmdTimeout` is not
   * used: it is judged in a timer, and when the process could not run past it (a long synchronous task, a stop
   * signal, a paused VM or container) the overdue timer comes first in the next turn of the event loop, before the
   * socket holding memcached's timely reply is read, and fails every command in flight. Here a
   * {@link DeadlineSweeper} (stopped at close) judges the deadlines after the poll phase has read the socket. On a
   * timeout the connection is shut down, which fails the commands queued behind the silent one, and the next command
   * connects again, as memcache-client does on its own timeout.
   */
  private bounded<T>(run: (client: MemcacheClient) => Promise<T>): Promise<T> {
    return runBounded(this.pending, this.commandTimeoutMs, () => run(this.client));
  }
}

// --- helpers ----------------------------------------------------------------------------------------------------

const QUIET_LOGGER = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A deep copy through JSON, as the record is stored: the caller keeps no reference into the store and vice versa. */
function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * The memcached expiry for a deadline (ms since epoch), counted from `now`, the caller's clock (the one clock every
 * decision uses): the seconds left, rounded up plus one (an item outlives its logical end by up to 2 s, never the
 * reverse), or -1 (expired at once) when nothing is left. Past memcached's 30-day limit for relative expiries it is a
 * Unix time: this host's time plus what is left. Only garbage collection: decisions follow the caller's `now`.
 */
export function lifetime(deadline: number, now: number): number {
  const seconds = Math.ceil((deadline - now) / 1000) + 1;
  if (seconds <= 0) return -1;
  if (seconds > MAX_RELATIVE_EXPIRY_S) return Math.ceil(Date.now() / 1000) + seconds;
  return seconds;
}

/** The memcached reply word of an outcome error (`NOT_STORED`, `EXISTS`, `NOT_FOUND`), else undefined. */
function replyOf(error: unknown): string | undefined {
  const message = messageOf(error);
  return OUTCOME_REPLIES.has(message) ? message : undefined;
}

/** By shape: socket error codes, memcache-client's connect/command timeouts and shut-down connections. */
function isConnectionFailure(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, connecting } = error as { code?: unknown; connecting?: unknown };
  if (connecting === true) return true;
  if (typeof code === 'string' && SOCKET_ERROR_CODES.has(code)) return true;
  return /connect timeout|Command timeout|Shutdown requested|socket (end|close|error|timeout)|connect failed|No more valid servers|ECONN|EPIPE/i.test(
    messageOf(error),
  );
}

function parseJson(raw: unknown): unknown {
  if (typeof raw !== 'string' || raw === '') return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseRoute(raw: unknown): string | null {
  const value = parseJson(raw);
  return isObject(value) && typeof value.u === 'string' && value.u.length > 0 ? value.u : null;
}

function isPointer(value: unknown): value is RotationPointer {
  return (
    isObject(value) &&
    typeof value.successor === 'string' &&
    typeof value.graceUntil === 'number' &&
    Number.isFinite(value.graceUntil) &&
    typeof value.until === 'number' &&
    Number.isFinite(value.until)
  );
}

/** A user item read back; anything corrupted or foreign in it reads as absent (never trusted, never a crash). */
function parseUser(raw: unknown): UserItem {
  const value = parseJson(raw);
  const state: UserItem = { s: {}, p: {} };
  if (!isObject(value)) return state;
  if (isObject(value.s)) for (const [id, record] of Object.entries(value.s)) if (isSessionRecord(record)) state.s[id] = record;
  if (isObject(value.p)) for (const [id, pointer] of Object.entries(value.p)) if (isPointer(pointer)) state.p[id] = pointer;
  return state;
}

function parseCounter(raw: unknown): CounterState | undefined {
  const value = parseJson(raw);
  if (!isObject(value) || typeof value.n !== 'number' || typeof value.r !== 'number') return undefined;
  if (!Number.isInteger(value.n) || value.n < 1 || !Number.isFinite(value.r)) return undefined;
  return { count: value.n, resetAt: value.r };
}

/** When the user item may go: when its last session ends and its last pointer is forgotten (ms since epoch). */
function userDeadline(state: UserItem): number {
  let latest = 0;
  for (const record of Object.values(state.s)) latest = Math.max(latest, expiresAt(record));
  for (const pointer of Object.values(state.p)) latest = Math.max(latest, pointer.until);
  return latest;
}

/** Removes expired sessions and forgotten pointers at `now`; returns the ids whose routes can go. */
function prune(state: UserItem, now: number): string[] {
  const dropped: string[] = [];
  for (const [id, record] of Object.entries(state.s)) {
    if (isExpired(record, now)) {
      delete state.s[id];
      dropped.push(id);
    }
  }
  for (const [id, pointer] of Object.entries(state.p)) {
    if (pointerState(pointer, now) === 'gone') {
      delete state.p[id];
      dropped.push(id);
    }
  }
  return dropped;
}

/** Live sessions, oldest first (stable for equal `createdAt`: insertion order). */
function liveSessions(state: UserItem, now: number): StoredSession[] {
  return Object.entries(state.s)
    .filter(([, record]) => !isExpired(record, now))
    .map(([id, record]) => ({ id, record }))
    .sort((a, b) => a.record.createdAt - b.record.createdAt);
}

/** Live sessions that count toward the concurrent-session limit, oldest first. */
function liveCounted(state: UserItem, now: number): StoredSession[] {
  return liveSessions(state, now).filter((s) => countsTowardLimit(s.record));
}

import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { createClient } from 'redis';
import { SESSION_NUMBER_FIELDS, SessionChanges, SessionRecord, isSessionRecord } from '../../core/session-record';
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
import {
  COUNT_BY_USER_SCRIPT,
  CREATE_SCRIPT,
  DESTROY_BY_HANDLE_SCRIPT,
  DESTROY_BY_USER_SCRIPT,
  DESTROY_SCRIPT,
  INCREMENT_SCRIPT,
  LIST_BY_USER_SCRIPT,
  READ_SCRIPT,
  REQUIRE_ROTATION_SCRIPT,
  ROTATE_SCRIPT,
  UPDATE_SCRIPT,
} from './redis-scripts';
import { RedisSessionStoreError, RedisStoreTimeoutError, RedisStoreUnavailableError } from './redis-session-store.errors';

/**
 * The part of a node-redis client (v5 or v6, `createClient()`) the store uses: raw commands. Any object with
 * this method works, so tests and wrappers can stand in for a client.
 *
 * The client must be connected (`await client.connect()`) and stay connected; the store never closes it.
 * Attach your own `'error'` listener to it: node-redis emits `'error'` on every dropped connection, and an
 * EventEmitter without a listener crashes the process.
 */
export interface RedisSessionClient {
  /** Sends one command (`['EVALSHA', sha, ...]`) and resolves with Redis' reply. `timeout` is in ms. */
  sendCommand(args: ReadonlyArray<string>, options?: { timeout?: number }): Promise<unknown>;
}

/** Options for {@link RedisSessionStore}. Give `client` or `url`, not both. */
export interface RedisSessionStoreOptions {
  /**
   * A connected node-redis client that you own: the store uses it and never closes it. Prefer a dedicated
   * client with `disableOfflineQueue: true`, so commands fail fast (503) during an outage instead of queueing.
   * Default: none (the store creates its own from `url`).
   */
  client?: RedisSessionClient;
  /**
   * Where to connect when no `client` is given. The store then creates, owns and closes the client: offline
   * queue disabled (fail fast while disconnected), reconnection with a capped backoff (0, 100, 200 ... 2000 ms)
   * so it recovers by itself after an outage, and an `'error'` listener so a dropped connection never crashes
   * the process. Default `'redis://127.0.0.1:6379'`.
   */
  url?: string;
  /**
   * Prefix of every key the store writes (`<prefix>s:<id>`, `<prefix>u:<userId>`, `<prefix>c:<key>`).
   * Default `'{nsk}:'`. Keep a Redis Cluster hash tag (`{...}`) at its start: Cluster hashes only the tagged
   * part, so all keys land in one slot, which the multi-key Lua scripts need (one script touches a session,
   * its pointer and its user's index). Give each application sharing a Redis its own prefix.
   */
  prefix?: string;
  /**
   * Longest wait (ms) for one store operation, reply included. Past it the operation rejects with
   * {@link RedisStoreTimeoutError} (so a stalled Redis gives a 503, not a hung request). Default 2000 ms.
   */
  commandTimeoutMs?: number;
  /**
   * How long (ms) {@link RedisSessionStore.connect} keeps retrying the first connection of a store-owned
   * client before it rejects. Later outages are retried forever. Ignored with `client`. Default 10000 ms.
   */
  connectTimeoutMs?: number;
}

/** Default {@link RedisSessionStoreOptions.url}. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
/** Default {@link RedisSessionStoreOptions.prefix}: a hash tag, so every key shares one Cluster slot. */
export const DEFAULT_REDIS_PREFIX = '{nsk}:';
/** Default {@link RedisSessionStoreOptions.commandTimeoutMs}, in ms. */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 2000;
/** Default {@link RedisSessionStoreOptions.connectTimeoutMs}, in ms. */
export const DEFAULT_REDIS_CONNECT_TIMEOUT_MS = 10_000;
/** Longest pause (ms) between two reconnection attempts of a store-owned client. */
export const MAX_RECONNECT_DELAY_MS = 2000;

/** The fields `update` and `rotate` may write: anything else (e.g. `successor`) could corrupt the layout. */
const CHANGEABLE = new Set<keyof SessionChanges>([
  'data',
  'aal',
  'authenticatedAt',
  'idleExpiresAt',
  'absoluteExpiresAt',
  'lastSeenAt',
  'rotatedAt',
  'rolesVersion',
  'rotateRequired',
]);

/** Decimal number as JavaScript prints it; rejects '', ' 1', '0x10', 'Infinity', which Number() would take. */
const NUMBER_TEXT = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

class LuaScript {
  readonly sha1: string;
  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha1 = createHash('sha1').update(source).digest('hex');
  }
}

const SCRIPTS = {
  create: new LuaScript('create', CREATE_SCRIPT),
  read: new LuaScript('read', READ_SCRIPT),
  update: new LuaScript('update', UPDATE_SCRIPT),
  rotate: new LuaScript('rotate', ROTATE_SCRIPT),
  destroy: new LuaScript('destroy', DESTROY_SCRIPT),
  listByUser: new LuaScript('listByUser', LIST_BY_USER_SCRIPT),
  countByUser: new LuaScript('countByUser', COUNT_BY_USER_SCRIPT),
  destroyByUser: new LuaScript('destroyByUser', DESTROY_BY_USER_SCRIPT),
  destroyByHandle: new LuaScript('destroyByHandle', DESTROY_BY_HANDLE_SCRIPT),
  requireRotationForUser: new LuaScript('requireRotationForUser', REQUIRE_ROTATION_SCRIPT),
  increment: new LuaScript('increment', INCREMENT_SCRIPT),
};

type OwnedClient = ReturnType<typeof createClient>;

/**
 * Sessions in Redis, shared by every instance of the application.
 *
 * Every operation is one round trip: one Lua script (EVALSHA; EVAL once after a Redis restart or SCRIPT
 * FLUSH), which Redis runs atomically. An authenticated read, including a due idle touch, is exactly one
 * command. Decisions follow the `now` the caller passes; Redis TTLs only collect garbage after the logical
 * expiry. Corrupted or foreign data reads as no session; an unreachable Redis throws
 * {@link RedisStoreUnavailableError} (never "no session"), so the module fails closed with a 503.
 *
 * Keys, under `prefix`: `s:<id>` a session (hash; `data` kept as JSON text) or a rotation pointer
 * (hash `{successor, graceUntil}`); `u:<userId>` the user's sessions (sorted set scored by `createdAt`,
 * pruned as it is read); `c:<key>` a counter (hash `{count, resetAt}`). Every key written has a TTL.
 *
 * @example
 * // The store creates, owns and closes its client:
 * const store = await RedisSessionStore.connect({ url: 'redis://redis.internal:6379' });
 * // Or with a client you own (the store never closes it):
 * const client = createClient({ url, disableOfflineQueue: true });
 * client.on('error', (err) => logger.warn(err));
 * await client.connect();
 * const shared = new RedisSessionStore({ client });
 */
export class RedisSessionStore extends SessionStore {
  private readonly logger = new Logger('RedisSessionStore');
  private readonly client: RedisSessionClient;
  private readonly owned: OwnedClient | undefined;
  private readonly prefix: string;
  private readonly commandTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  /** Where Redis is, for error messages: the URL without credentials. */
  private readonly target: string;
  private readonly inflight = new Set<Promise<unknown>>();
  private connecting: Promise<void> | undefined;
  private connectDeadline = 0;
  private everReady = false;
  private connectionLost = false;
  private closed = false;
  /** Message of the owned client's latest connection error, quoted while Redis is unreachable. */
  private lastError: string | undefined;

  /**
   * Creates the store. With `url` (or neither option) the store's own client is not connected yet: call
   * {@link connect}, or use the static {@link RedisSessionStore.connect}, before the first operation.
   */
  constructor(options: RedisSessionStoreOptions = {}) {
    super();
    this.prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
    this.commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS;
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_REDIS_CONNECT_TIMEOUT_MS;
    if (typeof this.prefix !== 'string' || this.prefix.length === 0) {
      throw new TypeError('RedisSessionStore: prefix must be a non-empty string (default "{nsk}:")');
    }
    for (const [name, value] of [
      ['commandTimeoutMs', this.commandTimeoutMs],
      ['connectTimeoutMs', this.connectTimeoutMs],
    ] as const) {
      if (!Number.isFinite(value) || value <= 0) {
        throw new RangeError(`RedisSessionStore: ${name} must be a positive number of milliseconds (got ${value})`);
      }
    }
    if (options.client && options.url) {
      throw new TypeError('RedisSessionStore: give either `client` (yours) or `url` (the store connects), not both');
    }
    if (options.client) {
      this.client = options.client;
      this.owned = undefined;
      this.target = 'the Redis client passed to RedisSessionStore';
    } else {
      const url = options.url ?? DEFAULT_REDIS_URL;
      this.owned = this.createOwnedClient(url);
      this.client = this.owned;
      this.target = redactUrl(url);
    }
  }

  /**
   * Creates a store and waits until Redis answers: connects the store's own client (retrying for
   * `connectTimeoutMs`), or pings the client you passed.
   *
   * @throws RedisStoreUnavailableError when Redis cannot be reached in time (the store is closed then).
   */
  static async connect(options: RedisSessionStoreOptions = {}): Promise<RedisSessionStore> {
    const store = new RedisSessionStore(options);
    try {
      await store.connect();
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  /**
   * Connects the store's own client, retrying for `connectTimeoutMs`, then checks that Redis answers. With a
   * client you passed, only checks that it answers (connecting it is yours to do). Safe to call again.
   *
   * @throws RedisStoreUnavailableError when Redis cannot be reached in time.
   */
  async connect(): Promise<void> {
    if (this.closed) throw this.closedError('connect');
    if (this.owned && !this.owned.isOpen) {
      this.connecting ??= this.openOwnedClient(this.owned).finally(() => {
        this.connecting = undefined;
      });
      await this.connecting;
    }
    await this.ping();
  }

  async create(id: string, record: SessionRecord, options: CreateOptions): Promise<CreateResult> {
    assertId(id, 'create');
    if (!isSessionRecord(record)) throw new TypeError('RedisSessionStore.create: not a valid SessionRecord');
    const reply = await this.eval(
      SCRIPTS.create,
      [this.sessionKey(id), this.userKey(record.userId)],
      [id, num(options.now), num(options.maxConcurrent), ...encodeRecord(record)],
    );
    const [status, evicted] = asTuple(reply, 'create');
    if (status === 'exists') {
      throw new RedisSessionStoreError('RedisSessionStore.create: a session with this id already exists; ids must be fresh');
    }
    if (status !== 'ok') throw RedisSessionStoreError.unexpectedReply('create', reply);
    return { evicted: asList(evicted, 'create').flatMap((flat) => decodeRecord(flat) ?? []) };
  }

  async read(id: string, options: ReadOptions): Promise<ReadResult> {
    assertId(id, 'read');
    const reply = await this.eval(
      SCRIPTS.read,
      [this.sessionKey(id)],
      [id, num(options.now), num(options.now + options.idleTimeoutMs), num(options.touchIntervalMs)],
    );
    const [status, ...rest] = asTuple(reply, 'read');
    if (status === 'missing') return { status: 'missing' };
    if (status === 'expired') {
      const record = decodeRecord(rest[1]);
      return record ? { status: 'expired', record } : { status: 'missing' };
    }
    if (status === 'active') {
      const record = decodeRecord(rest[2]);
      if (!record) return { status: 'missing' };
      return { status: 'active', id: asText(rest[0], 'read'), record, viaGrace: asText(rest[1], 'read') === '1' };
    }
    throw RedisSessionStoreError.unexpectedReply('read', reply);
  }

  async update(id: string, expectedVersion: number, changes: SessionChanges, now: number): Promise<UpdateResult> {
    assertId(id, 'update');
    const reply = await this.eval(
      SCRIPTS.update,
      [this.sessionKey(id)],
      [id, num(now), num(expectedVersion), ...encodeChanges(changes, 'update')],
    );
    const [status, flat] = asTuple(reply, 'update');
    if (status === 'missing') return { status: 'missing' };
    if (status !== 'ok' && status !== 'conflict') throw RedisSessionStoreError.unexpectedReply('update', reply);
    const record = decodeRecord(flat);
    return record ? { status, record } : { status: 'missing' };
  }

  async rotate(oldId: string, newId: string, options: RotateOptions): Promise<RotateResult> {
    assertId(oldId, 'rotate');
    assertId(newId, 'rotate');
    const graceMs = Math.max(0, options.graceMs);
    const reply = await this.eval(
      SCRIPTS.rotate,
      [this.sessionKey(oldId), this.sessionKey(newId)],
      [oldId, newId, num(options.now), num(graceMs), num(options.now + graceMs), ...encodeChanges(options.changes, 'rotate')],
    );
    const [status, ...rest] = asTuple(reply, 'rotate');
    if (status === 'missing') return { status: 'missing' };
    if (status === 'exists') {
      throw new RedisSessionStoreError('RedisSessionStore.rotate: the new id is already in use; ids must be fresh');
    }
    if (status === 'rotated') {
      const record = decodeRecord(rest[0]);
      return record ? { status: 'rotated', record } : { status: 'missing' };
    }
    if (status === 'superseded') {
      const record = decodeRecord(rest[1]);
      return record ? { status: 'superseded', id: asText(rest[0], 'rotate'), record } : { status: 'missing' };
    }
    throw RedisSessionStoreError.unexpectedReply('rotate', reply);
  }

  async destroy(id: string): Promise<SessionRecord | null> {
    assertId(id, 'destroy');
    const reply = await this.eval(SCRIPTS.destroy, [this.sessionKey(id)], [id]);
    return this.deletedRecord(reply, 'destroy');
  }

  async listByUser(userId: string, now: number): Promise<StoredSession[]> {
    const reply = await this.eval(SCRIPTS.listByUser, [this.userKey(userId)], [userId, num(now)]);
    return asList(reply, 'listByUser').flatMap((entry) => {
      const [id, flat] = asTuple(entry, 'listByUser');
      const record = decodeRecord(flat);
      return record ? [{ id: asText(id, 'listByUser'), record }] : [];
    });
  }

  /**
   * Deletes every session of the user but `exceptId`, in one script: Redis runs no other command meanwhile,
   * so a login racing with it either lands before (and is deleted) or after (and survives), never half-way.
   */
  async destroyByUser(userId: string, exceptId?: string): Promise<SessionRecord[]> {
    const reply = await this.eval(SCRIPTS.destroyByUser, [this.userKey(userId)], [userId, exceptId ?? '']);
    return asList(reply, 'destroyByUser').flatMap((flat) => decodeRecord(flat) ?? []);
  }

  async destroyByHandle(userId: string, handle: string): Promise<SessionRecord | null> {
    const reply = await this.eval(SCRIPTS.destroyByHandle, [this.userKey(userId)], [userId, handle]);
    return this.deletedRecord(reply, 'destroyByHandle');
  }

  async requireRotationForUser(userId: string): Promise<number> {
    const reply = await this.eval(SCRIPTS.requireRotationForUser, [this.userKey(userId)], [userId]);
    return asCount(reply, 'requireRotationForUser');
  }

  async countByUser(userId: string, now: number): Promise<number> {
    const reply = await this.eval(SCRIPTS.countByUser, [this.userKey(userId)], [userId, num(now)]);
    return asCount(reply, 'countByUser');
  }

  async increment(key: string, windowMs: number, now: number): Promise<CounterState> {
    const reply = await this.eval(SCRIPTS.increment, [this.counterKey(key)], [num(now), num(now + windowMs)]);
    const [count, resetAt] = asTuple(reply, 'increment').map((v) => parseNumber(asText(v, 'increment')));
    if (!Number.isFinite(count) || !Number.isFinite(resetAt)) {
      throw RedisSessionStoreError.unexpectedReply('increment', reply);
    }
    return { count, resetAt };
  }

  async resetCounter(key: string): Promise<void> {
    // A single DEL is already atomic: no script needed.
    await this.command('resetCounter', ['DEL', this.counterKey(key)]);
  }

  async ping(): Promise<void> {
    await this.command('ping', ['PING']);
  }

  /**
   * Closes the store's own client after the operations in flight settle (each is bounded by
   * `commandTimeoutMs`). A client you passed is left open. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.inflight]);
    // destroy(), not close(): close() waits for replies that a stalled Redis may never send, and every
    // caller has already had its answer or its timeout.
    if (this.owned?.isOpen) this.owned.destroy();
  }

  private sessionKey(id: string): string {
    return `${this.prefix}s:${id}`;
  }

  private userKey(userId: string): string {
    return `${this.prefix}u:${userId}`;
  }

  private counterKey(key: string): string {
    return `${this.prefix}c:${key}`;
  }

  private deletedRecord(reply: unknown, operation: string): SessionRecord | null {
    const [status, flat] = asTuple(reply, operation);
    if (status === 'none') return null;
    if (status !== 'deleted') throw RedisSessionStoreError.unexpectedReply(operation, reply);
    return decodeRecord(flat);
  }

  /** Runs a script in one round trip: EVALSHA, and EVAL (which also caches it) only if Redis lost it. */
  private eval(script: LuaScript, keys: string[], args: string[]): Promise<unknown> {
    const tail = [String(keys.length), ...keys, this.prefix, ...args];
    return this.bounded(script.name, async () => {
      try {
        return await this.client.sendCommand(['EVALSHA', script.sha1, ...tail]);
      } catch (err) {
        if (!isNoScript(err)) throw err;
      }
      return this.client.sendCommand(['EVAL', script.source, ...tail]);
    });
  }

  private command(operation: string, args: string[]): Promise<unknown> {
    return this.bounded(operation, () => this.client.sendCommand(args));
  }

  /**
   * Bounds an operation by `commandTimeoutMs`, from sending to the reply (a stalled or paused server too).
   * node-redis' own per-command `timeout` is not used: it only covers the wait before the command is written,
   * and it allocates an AbortSignal per command, which the benchmark measured at about 12 us per request.
   */
  private bounded<T>(operation: string, work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(this.closedError(operation));
    const result = new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(RedisStoreTimeoutError.timedOut(operation, this.target, this.commandTimeoutMs)),
        this.commandTimeoutMs,
      );
      let started: Promise<T>;
      try {
        started = work();
      } catch (err) {
        started = Promise.reject(err);
      }
      // Both branches handled: a reply arriving after the timeout is dropped, never an unhandled rejection.
      started.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(this.translate(operation, err));
        },
      );
    });
    const tracked = result.then(
      () => undefined,
      () => undefined,
    );
    this.inflight.add(tracked);
    void tracked.then(() => this.inflight.delete(tracked));
    return result;
  }

  private translate(operation: string, err: unknown): Error {
    if (err instanceof RedisSessionStoreError) return err;
    if (isErrorReply(err)) return RedisSessionStoreError.commandFailed(operation, err);
    const name = errorName(err);
    if (name === 'TimeoutError') return RedisStoreTimeoutError.timedOut(operation, this.target, this.commandTimeoutMs);
    if (name === 'ClientClosedError') {
      if (this.closed) return this.closedError(operation);
      return RedisStoreUnavailableError.create(
        operation,
        this.target,
        err,
        this.owned
          ? 'The store is not connected: call `await store.connect()` or create it with `await RedisSessionStore.connect(options)`.'
          : 'The client you passed is not connected: call `await client.connect()` before using the store.',
      );
    }
    const lost = this.owned && name === 'ClientOfflineError' && this.lastError ? ` Last connection error: ${this.lastError}.` : '';
    return RedisStoreUnavailableError.create(
      operation,
      this.target,
      err,
      'Check that Redis is running and reachable from this host (address, port, firewall, TLS, password); ' +
        `the store reconnects by itself when Redis is back.${lost}`,
    );
  }

  private closedError(operation: string): RedisStoreUnavailableError {
    return RedisStoreUnavailableError.create(
      operation,
      this.target,
      new Error('the store is closed'),
      'close() was called on this store; create a new one.',
    );
  }

  private createOwnedClient(url: string): OwnedClient {
    const client = createClient({
      url,
      // Fail fast while disconnected: a queued command would hold the request until Redis is back.
      disableOfflineQueue: true,
      socket: {
        connectTimeout: this.commandTimeoutMs,
        reconnectStrategy: (retries, cause) => {
          // The first connection gives up after connectTimeoutMs, so a wrong URL fails start-up clearly;
          // once connected, outages are retried forever and the store heals by itself.
          // A new Error, not `cause`: node-redis checks `instanceof Error`, which fails for errors from another
          // realm (Node's net module under jest's VM), and it would then retry forever.
          if (!this.everReady && performance.now() >= this.connectDeadline) {
            return new Error(`gave up connecting after ${this.connectTimeoutMs} ms: ${errorMessage(cause)}`);
          }
          return Math.min(retries * 100, MAX_RECONNECT_DELAY_MS);
        },
      },
    });
    // Without a listener, node-redis' 'error' event (emitted on every dropped connection) would crash the
    // process. Log once per outage, not once per reconnection attempt.
    client.on('error', (err: unknown) => {
      this.lastError = errorMessage(err);
      if (this.everReady && !this.connectionLost && !this.closed) {
        this.connectionLost = true;
        this.logger.warn(`Lost the connection to Redis at ${this.target} (${this.lastError}); reconnecting`);
      }
    });
    client.on('ready', () => {
      if (this.connectionLost) this.logger.log(`Reconnected to Redis at ${this.target}`);
      this.everReady = true;
      this.connectionLost = false;
      this.lastError = undefined;
    });
    return client;
  }

  private async openOwnedClient(client: OwnedClient): Promise<void> {
    this.connectDeadline = performance.now() + this.connectTimeoutMs;
    try {
      await client.connect();
    } catch (err) {
      // ReconnectStrategyError carries the socket's own error (ECONNREFUSED...), the useful part.
      const cause = isObject(err) && 'socketError' in err ? err.socketError : err;
      throw RedisStoreUnavailableError.create(
        'connect',
        this.target,
        cause,
        `Gave up after ${this.connectTimeoutMs} ms (connectTimeoutMs). Check that Redis is running and ` +
          'reachable from this host (address, port, firewall, TLS, password) and that the url is right.',
      );
    }
  }
}

function assertId(id: string, operation: string): void {
  if (typeof id !== 'string' || id.length === 0) {
    throw new TypeError(`RedisSessionStore.${operation}: the session id must be a non-empty string`);
  }
}

/** Numbers travel as JavaScript prints them; Lua parses that back exactly. */
function num(value: number): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`RedisSessionStore: expected a finite number, got ${String(value)}`);
  }
  return String(value);
}

function encodeRecord(r: SessionRecord): string[] {
  const out: string[] = ['handle', r.handle, 'userId', r.userId];
  for (const f of SESSION_NUMBER_FIELDS) out.push(f, num(r[f]));
  out.push('rotateRequired', r.rotateRequired ? '1' : '0', 'ip', r.ip, 'userAgent', r.userAgent);
  out.push('data', JSON.stringify(r.data));
  return out;
}

function encodeChanges(changes: SessionChanges, operation: string): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(changes ?? {})) {
    if (value === undefined) continue;
    if (!CHANGEABLE.has(key as keyof SessionChanges)) {
      throw new TypeError(`RedisSessionStore.${operation}: "${key}" cannot be changed (allowed: ${[...CHANGEABLE].join(', ')})`);
    }
    if (key === 'data') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new TypeError(`RedisSessionStore.${operation}: data must be a plain object`);
      }
      out.push(key, JSON.stringify(value));
    } else if (key === 'rotateRequired') {
      if (typeof value !== 'boolean') throw new TypeError(`RedisSessionStore.${operation}: rotateRequired must be a boolean`);
      out.push(key, value ? '1' : '0');
    } else {
      out.push(key, num(value as number));
    }
  }
  return out;
}

/**
 * Rebuilds a record from an HGETALL reply, or null when it is not a well-formed record (corrupted or
 * foreign data reads as no session, never as a crash).
 */
function decodeRecord(flat: unknown): SessionRecord | null {
  if (!Array.isArray(flat) || flat.length % 2 !== 0) return null;
  const fields = new Map<string, string>();
  for (let i = 0; i < flat.length; i += 2) fields.set(text(flat[i]), text(flat[i + 1]));
  let data: unknown;
  try {
    data = JSON.parse(fields.get('data') ?? '');
  } catch {
    return null;
  }
  const flag = fields.get('rotateRequired');
  const record = {
    handle: fields.get('handle'),
    userId: fields.get('userId'),
    createdAt: parseNumber(fields.get('createdAt')),
    lastSeenAt: parseNumber(fields.get('lastSeenAt')),
    idleExpiresAt: parseNumber(fields.get('idleExpiresAt')),
    absoluteExpiresAt: parseNumber(fields.get('absoluteExpiresAt')),
    authenticatedAt: parseNumber(fields.get('authenticatedAt')),
    rotatedAt: parseNumber(fields.get('rotatedAt')),
    aal: parseNumber(fields.get('aal')),
    rolesVersion: parseNumber(fields.get('rolesVersion')),
    rotateRequired: flag === '1' ? true : flag === '0' ? false : undefined,
    ip: fields.get('ip'),
    userAgent: fields.get('userAgent'),
    version: parseNumber(fields.get('version')),
    data,
  };
  return isSessionRecord(record) ? record : null;
}

function parseNumber(value: string | undefined): number {
  return value !== undefined && NUMBER_TEXT.test(value) ? Number(value) : NaN;
}

/** Replies are strings; a client mapping bulk strings to Buffers still works. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return String(value);
}

function asText(value: unknown, operation: string): string {
  if (typeof value === 'string' || Buffer.isBuffer(value)) return text(value);
  throw RedisSessionStoreError.unexpectedReply(operation, value);
}

function asList(value: unknown, operation: string): unknown[] {
  if (!Array.isArray(value)) throw RedisSessionStoreError.unexpectedReply(operation, value);
  return value;
}

/** A reply whose first element is a status word. */
function asTuple(value: unknown, operation: string): [string, ...unknown[]] {
  const list = asList(value, operation);
  if (list.length === 0) throw RedisSessionStoreError.unexpectedReply(operation, value);
  return [asText(list[0], operation), ...list.slice(1)];
}

function asCount(value: unknown, operation: string): number {
  const n = parseNumber(asText(value, operation));
  if (!Number.isInteger(n) || n < 0) throw RedisSessionStoreError.unexpectedReply(operation, value);
  return n;
}

// Errors are inspected by shape, not `instanceof Error`: socket errors come from Node's realm, which differs
// from the module's under a VM (jest), and a client from another node-redis copy has its own classes.
function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function errorMessage(err: unknown): string {
  if (isObject(err) && typeof err.message === 'string' && err.message) return err.message;
  return errorName(err) || String(err);
}

function errorName(err: unknown): string {
  return isObject(err) && typeof err.constructor === 'function' ? err.constructor.name : '';
}

function isNoScript(err: unknown): boolean {
  return errorMessage(err).startsWith('NOSCRIPT');
}

/**
 * Redis answered with an error (as opposed to not answering). Checked by class name along the prototype
 * chain, so a client from another node-redis major (its own ErrorReply class) is recognised too.
 */
function isErrorReply(err: unknown): boolean {
  for (let proto = isObject(err) ? Object.getPrototypeOf(err) : null; proto; proto = Object.getPrototypeOf(proto)) {
    if (proto.constructor?.name === 'ErrorReply') return true;
  }
  return false;
}

/** The URL without its password, for error messages and logs. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the configured url (unparseable)';
  }
}

import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import {
  createOwnedClient,
  errorMessage,
  hasErrorClass,
  isErrorReply,
  isTransientReply,
  ownedConnectionState,
  redactUrl,
} from './owned-client';
import {
  clusterCommands,
  createOwnedCluster,
  createOwnedSentinel,
  OwnedConnection,
  RedisClusterClient,
  RedisSentinelClient,
  sentinelCommands,
  userRoutingTag,
} from './redis-topology';
import { routingTagOf } from '../../core/token';
import { pointerWindows } from '../../core/lifecycle';
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
  UPDATE_USER_ROLES_SCRIPT,
} from './redis-scripts';
import { decodePacked, decodeRecord, encodeChanges, encodeRecord, encodeRoles, num, parseNumber, text } from './redis-record-codec';
import { RedisSessionStoreError, RedisStoreTimeoutError, RedisStoreUnavailableError } from './redis-session-store.errors';
import { DeadlineSweeper } from '../deadline-sweeper';

/**
 * The part of a node-redis client (v5 or v6, `createClient()`) the store uses: raw commands. Any object with
 * this method works, so tests and wrappers can stand in for a client.
 *
 * The client must be connected (`await client.connect()`) and stay connected; the store never closes it.
 * Attach your own `'error'` listener to it: node-redis emits `'error'` on every dropped connection, and an
 * EventEmitter without a listener crashes the process.
 *
 * Failures it rejects with become {@link RedisStoreUnavailableError} (503) when they are node-redis' connection
 * errors (by class name: `ClientOfflineError`, `SocketClosedUnexpectedlyError`...) or carry a Node socket error
 * `code` (`ECONNREFUSED`, `ECONNRESET`...); anything else is reported as the error it is (a bug, 500).
 */
export interface RedisSessionClient {
  /** Sends one command (`['EVALSHA', sha, ...]`) and resolves with Redis' reply. `timeout` is in ms. */
  sendCommand(args: ReadonlyArray<string>, options?: { timeout?: number }): Promise<unknown>;
}

/**
 * Options for {@link RedisSessionStore}. Give at most one of `client`, `url`, `cluster`, `clusterNodes`, `sentinel`,
 * `sentinels` (none: `url`'s default).
 */
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
   * A connected node-redis Cluster client (`createCluster()`) that you own: the store shards sessions over the
   * cluster's slots by user (see the README, "Redis Cluster and Sentinel") and never closes the client. Create it
   * with `defaults: { disableOfflineQueue: true }` so commands fail fast (503) while a node is down. Default none.
   */
  cluster?: RedisClusterClient;
  /**
   * URLs of some nodes of a Redis Cluster (`['redis://10.0.0.1:6379', ...]`; node-redis discovers the others): the
   * store creates, owns and closes a cluster client, and shards sessions by user. Default none.
   */
  clusterNodes?: string[];
  /**
   * A connected node-redis Sentinel client (`createSentinel()`) that you own: commands go to the master the
   * sentinels name, through failovers. The store never closes it. Default none.
   */
  sentinel?: RedisSentinelClient;
  /**
   * Where a Sentinel set-up is: the sentinels' URLs and the master's name; the store creates, owns and closes a
   * Sentinel client that follows the master through failovers. Default none.
   */
  sentinels?: { urls: string[]; name: string };
  /**
   * Prefix of every key the store writes (`<prefix>s:<id>`, `<prefix>u:<userId>`, `<prefix>c:<key>`).
   * Default `'{nsk}:'`; with `cluster` or `clusterNodes`, `'nsk:'`. On a single Redis or Sentinel, the default's
   * hash tag (`{...}`) keeps all keys in one slot. With a cluster the store adds a per-user hash tag itself
   * (`<prefix>{<tag>}:s:<id>`), so the prefix must contain no `{` or `}` (refused at start-up: it would override the
   * routing and put every key on one shard). Give each application sharing a Redis its own prefix.
   */
  prefix?: string;
  /**
   * Replicas that must confirm each write before the store answers (Redis `WAIT <replicaAcks> <replicaAckTimeoutMs>`
   * after every write script; reads, whose only writes are idle touches, do not wait). When fewer confirm in time
   * the operation fails with {@link RedisStoreUnavailableError} (503): a failover after that could lose the write.
   * 0 = asynchronous replication: an acknowledged write can be lost if its master crashes before a replica has it
   * (a logout could come back). Default 0.
   */
  replicaAcks?: number;
  /** How long (ms) a write waits for `replicaAcks` confirmations. Default 500 ms. */
  replicaAckTimeoutMs?: number;
  /**
   * Longest wait (ms) for one store operation, reply included. Past it the operation rejects with
   * {@link RedisStoreTimeoutError} (so a stalled Redis gives a 503, not a hung request). Default 2000 ms.
   */
  commandTimeoutMs?: number;
  /**
   * How long (ms) {@link RedisSessionStore.connect} may take, retries included, for the first connection of a
   * store-owned client before it rejects (so a wrong URL stops start-up with a clear message). Later outages are
   * retried forever. Ignored with `client`. Default 10000 ms.
   */
  connectTimeoutMs?: number;
}

/** Default {@link RedisSessionStoreOptions.url}. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
/** Default {@link RedisSessionStoreOptions.prefix}: a hash tag, so every key shares one Cluster slot. */
export const DEFAULT_REDIS_PREFIX = '{nsk}:';
/** Default {@link RedisSessionStoreOptions.prefix} with a cluster: no hash tag, the store adds one per user. */
export const DEFAULT_REDIS_CLUSTER_PREFIX = 'nsk:';
/** Default {@link RedisSessionStoreOptions.replicaAckTimeoutMs}, in ms. */
export const DEFAULT_REDIS_REPLICA_ACK_TIMEOUT_MS = 500;
/** Default {@link RedisSessionStoreOptions.commandTimeoutMs}, in ms. */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 2000;
/** Default {@link RedisSessionStoreOptions.connectTimeoutMs}, in ms. */
export const DEFAULT_REDIS_CONNECT_TIMEOUT_MS = 10_000;

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
  updateUserRoles: new LuaScript('updateUserRoles', UPDATE_USER_ROLES_SCRIPT),
  increment: new LuaScript('increment', INCREMENT_SCRIPT),
};

/** One store operation in flight: rejected by the sweeper if no answer came by `deadline` (ms since epoch). */
interface PendingOperation {
  deadline: number;
  operation: string;
  /** The command as sent; an EVALSHA is turned into EVAL in place after a NOSCRIPT reply. */
  command: string[];
  /** The script behind an EVALSHA, for that resend. */
  script: LuaScript | undefined;
  /** The key a cluster routes the command by, when the command names none itself (WAIT follows its write). */
  routeKey: string | undefined;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** The scripts that write what must survive a failover: followed by WAIT when `replicaAcks` > 0. */
const CONFIRMED_WRITES = new Set<string>([
  'create',
  'update',
  'rotate',
  'destroy',
  'destroyByUser',
  'destroyByHandle',
  'requireRotationForUser',
  'updateUserRoles',
  'increment',
]);

/**
 * Sessions in Redis, shared by every instance of the application.
 *
 * Every operation is one round trip: one Lua script (EVALSHA; EVAL once after a Redis restart or SCRIPT
 * FLUSH), which Redis runs atomically. An authenticated read, including a due idle touch, is exactly one
 * command. Decisions follow the `now` the caller passes and the rules of `lib/core/lifecycle.ts` (the scripts
 * carry a copy, checked against it by a test); Redis TTLs only collect garbage after the logical end.
 * Corrupted or foreign data reads as no session. An unreachable Redis throws {@link RedisStoreUnavailableError},
 * a `SessionStoreConnectionError` (never "no session"), so the module fails closed with a 503.
 *
 * Keys, under `prefix`: `s:<id>` a session (hash; `data` kept as JSON text) or a rotation pointer
 * (hash `{successor, graceUntil, until}`, kept until `until`); `u:<userId>` the user's sessions (sorted set
 * scored by `createdAt`, pruned as it is read); `c:<key>` a counter (hash `{count, resetAt}`). Every key written
 * has a TTL.
 *
 * @example
 * // The store creates, owns and closes its client; SessionModule connects it at start-up:
 * SessionModule.forRoot({ store: new RedisSessionStore({ url: process.env.REDIS_URL }) });
 * // Outside the module, connect it yourself:
 * const store = await RedisSessionStore.connect({ url: 'redis://redis.internal:6379' });
 * // Or with a client you own (the store never closes it):
 * const client = createClient({ url, disableOfflineQueue: true });
 * client.on('error', (err) => logger.warn(err));
 * await client.connect();
 * const shared = new RedisSessionStore({ client });
 * // Sharded over a Redis Cluster by user, or behind Sentinel (README, "Redis Cluster and Sentinel"):
 * const sharded = new RedisSessionStore({ clusterNodes: ['redis://10.0.0.1:6379', 'redis://10.0.0.2:6379'], replicaAcks: 1 });
 * const followed = new RedisSessionStore({ sentinels: { urls: ['redis://10.0.0.5:26379'], name: 'mymaster' } });
 */
export class RedisSessionStore extends SessionStore {
  private readonly logger = new Logger('RedisSessionStore');
  private readonly client: { sendCommand(args: ReadonlyArray<string>, routeKey?: string): Promise<unknown> };
  private readonly owned: OwnedConnection | undefined;
  private readonly prefix: string;
  /** Keys carry a per-user hash tag (cluster): see {@link routingTagFor}. */
  private readonly sharded: boolean;
  private readonly replicaAcks: number;
  private readonly replicaAckTimeoutMs: number;
  private readonly commandTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  /** Where Redis is, for error messages: the URL without credentials. */
  private readonly target: string;
  /** The option that says where Redis is, for start-up hints. */
  private readonly whereOption: string;
  /** Operations in flight, with their deadlines (see {@link bounded}). */
  private readonly pending: DeadlineSweeper<PendingOperation>;
  private connecting: Promise<void> | undefined;
  /** The owned client's connection: ever ready, the first connection's deadline, the last connection error. */
  private readonly connection = ownedConnectionState();
  private closed = false;

  /**
   * Creates the store. With `url` (or neither option) the store's own client is not connected yet: the session
   * module calls {@link connect} at start-up; elsewhere call it yourself, or use the static
   * {@link RedisSessionStore.connect}, before the first operation.
   */
  constructor(options: RedisSessionStoreOptions = {}) {
    super();
    const given = (['client', 'url', 'cluster', 'clusterNodes', 'sentinel', 'sentinels'] as const).filter((k) => options[k] !== undefined);
    if (given.length > 1) {
      throw new TypeError(
        `RedisSessionStore: give either one of client, url, cluster, clusterNodes, sentinel, sentinels, not several (got ${given.join(' and ')})`,
      );
    }
    this.sharded = options.cluster !== undefined || options.clusterNodes !== undefined;
    this.prefix = options.prefix ?? (this.sharded ? DEFAULT_REDIS_CLUSTER_PREFIX : DEFAULT_REDIS_PREFIX);
    if (this.sharded && typeof this.prefix === 'string' && /[{}]/.test(this.prefix)) {
      throw new TypeError(
        `RedisSessionStore: prefix ${JSON.stringify(this.prefix)} contains "{" or "}": in a Redis Cluster a hash tag in the ` +
          "prefix overrides the store's per-user routing and puts every session on one shard. Use a prefix without braces, " +
          `e.g. "${DEFAULT_REDIS_CLUSTER_PREFIX}" (the default with cluster options); the store adds the hash tag itself.`,
      );
    }
    if (this.sharded) this.routingTagFor = userRoutingTag;
    this.replicaAcks = options.replicaAcks ?? 0;
    this.replicaAckTimeoutMs = options.replicaAckTimeoutMs ?? DEFAULT_REDIS_REPLICA_ACK_TIMEOUT_MS;
    if (!Number.isInteger(this.replicaAcks) || this.replicaAcks < 0) {
      throw new RangeError(`RedisSessionStore: replicaAcks must be a whole number >= 0 (got ${this.replicaAcks}); 0 = no WAIT`);
    }
    this.commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS;
    this.pending = new DeadlineSweeper(this.commandTimeoutMs, (overdue) => {
      for (const op of overdue) op.reject(RedisStoreTimeoutError.timedOut(op.operation, this.target, this.commandTimeoutMs));
    });
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_REDIS_CONNECT_TIMEOUT_MS;
    if (typeof this.prefix !== 'string' || this.prefix.length === 0) {
      throw new TypeError('RedisSessionStore: prefix must be a non-empty string (default "{nsk}:")');
    }
    for (const [name, value] of [
      ['commandTimeoutMs', this.commandTimeoutMs],
      ['connectTimeoutMs', this.connectTimeoutMs],
      ['replicaAckTimeoutMs', this.replicaAckTimeoutMs],
    ] as const) {
      if (!Number.isFinite(value) || value <= 0) {
        throw new RangeError(`RedisSessionStore: ${name} must be a positive number of milliseconds (got ${value})`);
      }
    }
    const topology = {
      storeName: 'RedisSessionStore',
      commandTimeoutMs: this.commandTimeoutMs,
      connectTimeoutMs: this.connectTimeoutMs,
      logger: this.logger,
      state: this.connection,
      isClosed: () => this.closed,
    };
    this.whereOption = '`url` option (often REDIS_URL)';
    if (options.client) {
      const client = options.client;
      this.client = { sendCommand: (args) => client.sendCommand(args) };
      this.owned = undefined;
      this.target = 'the Redis client passed to RedisSessionStore';
    } else if (options.cluster) {
      this.client = clusterCommands(options.cluster);
      this.owned = undefined;
      this.target = 'the Redis Cluster client passed to RedisSessionStore';
    } else if (options.sentinel) {
      this.client = sentinelCommands(options.sentinel);
      this.owned = undefined;
      this.target = 'the Redis Sentinel client passed to RedisSessionStore';
    } else if (options.clusterNodes) {
      this.whereOption = '`clusterNodes` option';
      this.target = `Redis Cluster ${(Array.isArray(options.clusterNodes) ? options.clusterNodes : []).map(redactUrl).join(', ')}`;
      this.owned = createOwnedCluster(options.clusterNodes, { ...topology, target: this.target });
      this.client = this.owned;
    } else if (options.sentinels) {
      this.whereOption = "`sentinels` option (the sentinels' URLs and the master's name)";
      const { urls, name } = options.sentinels;
      this.target = `Redis Sentinel master "${String(name)}" via ${(Array.isArray(urls) ? urls : []).map(redactUrl).join(', ')}`;
      this.owned = createOwnedSentinel({ sentinels: urls, name }, { ...topology, target: this.target });
      this.client = this.owned;
    } else {
      const url = options.url ?? DEFAULT_REDIS_URL;
      this.target = redactUrl(url);
      this.owned = createOwnedClient(url, {
        storeName: 'RedisSessionStore',
        target: this.target,
        commandTimeoutMs: this.commandTimeoutMs,
        connectTimeoutMs: this.connectTimeoutMs,
        logger: this.logger,
        state: this.connection,
        isClosed: () => this.closed,
      });
      this.client = this.owned;
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
   * Connects the store's own client, retrying for `connectTimeoutMs` (default 10000 ms), then checks that Redis
   * answers. With a client you passed, only checks that it answers (connecting it is yours to do). Safe to call
   * again, and again after it failed. Once connected, the client reconnects by itself after any outage.
   *
   * @throws RedisStoreUnavailableError when Redis cannot be reached in time, with a message naming the URL
   * (without credentials) and what to check.
   * @throws RedisSessionStoreError when Redis answers but refuses the connection (wrong user name or password).
   */
  override async connect(): Promise<void> {
    if (this.closed) throw this.closedError('connect');
    if (this.owned && (!this.owned.isOpen || this.connecting)) {
      this.connecting ??= this.openOwnedClient(this.owned).finally(() => {
        this.connecting = undefined;
      });
      return this.connecting;
    }
    await this.ping();
  }

  async create(id: string, record: SessionRecord, options: CreateOptions): Promise<CreateResult> {
    assertId(id, 'create');
    if (!isSessionRecord(record)) throw new TypeError('RedisSessionStore.create: not a valid SessionRecord');
    const prefix = this.prefixForUser(record.userId);
    if (this.sharded && routingTagOf(id) !== this.routingTagFor!(record.userId)) {
      throw new TypeError(
        "RedisSessionStore.create: in a cluster a session id carries its user's routing tag (`<tag>.<hash>`); mint " +
          'ids with sessionIdOf(generateSessionToken(store.routingTagFor(userId))), as SessionManager does',
      );
    }
    const reply = await this.eval(
      SCRIPTS.create,
      prefix,
      [prefix + 's:' + id, prefix + 'u:' + record.userId],
      [
        id,
        num(options.now, 'now'),
        num(options.maxConcurrent, 'maxConcurrent'),
        options.onLimit === 'deny-new' ? 'deny-new' : 'evict-oldest',
        ...encodeRecord(record),
      ],
    );
    const [status, records] = asTuple(reply, 'create');
    if (status === 'exists') {
      throw new RedisSessionStoreError('RedisSessionStore.create: a session with this id already exists; ids must be fresh');
    }
    const decoded = () => asList(records, 'create').flatMap((flat) => decodeRecord(flat) ?? []);
    if (status === 'created') return { status, evicted: decoded() };
    if (status === 'denied') return { status, live: decoded() };
    throw RedisSessionStoreError.unexpectedReply('create', reply);
  }

  async read(id: string, options: ReadOptions): Promise<ReadResult> {
    assertId(id, 'read');
    const prefix = this.prefixForId(id);
    const reply = await this.eval(
      SCRIPTS.read,
      prefix,
      [prefix + 's:' + id],
      [id, num(options.now, 'now'), num(options.idleTimeoutMs, 'idleTimeoutMs'), num(options.touchIntervalMs, 'touchIntervalMs')],
    );
    const [status, ...rest] = asTuple(reply, 'read');
    if (status === 'missing') return { status: 'missing' };
    if (status === 'tombstone') return { status: 'tombstone' };
    if (status === 'expired') {
      const record = decodeRecord(rest[1]);
      return record ? { status: 'expired', record } : { status: 'missing' };
    }
    if (status === 'active') {
      const record = decodePacked(rest[2]);
      if (!record) return { status: 'missing' };
      return { status: 'active', id: asText(rest[0], 'read'), record, viaGrace: asText(rest[1], 'read') === '1' };
    }
    throw RedisSessionStoreError.unexpectedReply('read', reply);
  }

  async update(id: string, expectedVersion: number, changes: SessionChanges, now: number): Promise<UpdateResult> {
    assertId(id, 'update');
    const prefix = this.prefixForId(id);
    const reply = await this.eval(
      SCRIPTS.update,
      prefix,
      [prefix + 's:' + id],
      [id, num(now, 'now'), num(expectedVersion, 'expectedVersion'), ...encodeChanges(changes, 'update')],
    );
    const [status, at, flat] = asTuple(reply, 'update');
    if (status === 'missing') return { status: 'missing' };
    if (status !== 'ok' && status !== 'conflict') throw RedisSessionStoreError.unexpectedReply('update', reply);
    const record = decodeRecord(flat);
    return record ? { status, id: asText(at, 'update'), record } : { status: 'missing' };
  }

  async rotate(oldId: string, newId: string, options: RotateOptions): Promise<RotateResult> {
    assertId(oldId, 'rotate');
    assertId(newId, 'rotate');
    const { graceUntil, until } = pointerWindows(options.now, options.graceMs);
    if (this.sharded && routingTagOf(newId) !== routingTagOf(oldId)) {
      throw new TypeError(
        "RedisSessionStore.rotate: in a cluster the new id keeps the old one's routing tag (`<tag>.<hash>`); mint it " +
          'with sessionIdOf(generateSessionToken(store.routingTagFor(userId))), as SessionManager does',
      );
    }
    const prefix = this.prefixForId(oldId);
    const reply = await this.eval(
      SCRIPTS.rotate,
      prefix,
      [prefix + 's:' + oldId, prefix + 's:' + newId],
      [
        oldId,
        newId,
        num(options.now, 'now'),
        num(graceUntil, 'graceMs'),
        num(until, 'graceMs'),
        num(options.limit?.maxConcurrent ?? 0, 'limit.maxConcurrent'),
        options.limit?.onLimit === 'deny-new' ? 'deny-new' : 'evict-oldest',
        ...encodeChanges(options.changes, 'rotate'),
      ],
    );
    const [status, ...rest] = asTuple(reply, 'rotate');
    if (status === 'missing') return { status: 'missing' };
    if (status === 'tombstone') return { status: 'tombstone' };
    if (status === 'exists') {
      throw new RedisSessionStoreError('RedisSessionStore.rotate: the new id is already in use; ids must be fresh');
    }
    const decoded = (records: unknown) => asList(records, 'rotate').flatMap((flat) => decodeRecord(flat) ?? []);
    if (status === 'rotated') {
      const record = decodeRecord(rest[0]);
      if (!record) return { status: 'missing' };
      // A third element only when the rotation held the concurrent-session limit (a pending session completing).
      return rest.length > 1 ? { status: 'rotated', record, evicted: decoded(rest[1]) } : { status: 'rotated', record };
    }
    if (status === 'denied') return { status: 'denied', live: decoded(rest[0]) };
    if (status === 'superseded') {
      const record = decodeRecord(rest[1]);
      return record ? { status: 'superseded', id: asText(rest[0], 'rotate'), record } : { status: 'missing' };
    }
    throw RedisSessionStoreError.unexpectedReply('rotate', reply);
  }

  async destroy(id: string): Promise<SessionRecord | null> {
    assertId(id, 'destroy');
    const prefix = this.prefixForId(id);
    const reply = await this.eval(SCRIPTS.destroy, prefix, [prefix + 's:' + id], [id]);
    return this.deletedRecord(reply, 'destroy');
  }

  async listByUser(userId: string, now: number): Promise<StoredSession[]> {
    const reply = await this.eval(
      SCRIPTS.listByUser,
      this.prefixForUser(userId),
      [this.prefixForUser(userId) + 'u:' + userId],
      [userId, num(now, 'now')],
    );
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
    const reply = await this.eval(
      SCRIPTS.destroyByUser,
      this.prefixForUser(userId),
      [this.prefixForUser(userId) + 'u:' + userId],
      [userId, exceptId ?? ''],
    );
    return asList(reply, 'destroyByUser').flatMap((flat) => decodeRecord(flat) ?? []);
  }

  async destroyByHandle(userId: string, handle: string): Promise<SessionRecord | null> {
    const reply = await this.eval(
      SCRIPTS.destroyByHandle,
      this.prefixForUser(userId),
      [this.prefixForUser(userId) + 'u:' + userId],
      [userId, handle],
    );
    return this.deletedRecord(reply, 'destroyByHandle');
  }

  async requireRotationForUser(userId: string): Promise<number> {
    const reply = await this.eval(
      SCRIPTS.requireRotationForUser,
      this.prefixForUser(userId),
      [this.prefixForUser(userId) + 'u:' + userId],
      [userId],
    );
    return asCount(reply, 'requireRotationForUser');
  }

  async updateUserRoles(userId: string, roles: string[], now: number): Promise<number> {
    const prefix = this.prefixForUser(userId);
    const reply = await this.eval(
      SCRIPTS.updateUserRoles,
      prefix,
      [prefix + 'u:' + userId],
      [userId, num(now, 'now'), encodeRoles(roles, 'updateUserRoles')],
    );
    return asCount(reply, 'updateUserRoles');
  }

  async countByUser(userId: string, now: number): Promise<number> {
    const reply = await this.eval(
      SCRIPTS.countByUser,
      this.prefixForUser(userId),
      [this.prefixForUser(userId) + 'u:' + userId],
      [userId, num(now, 'now')],
    );
    return asCount(reply, 'countByUser');
  }

  async increment(key: string, windowMs: number, now: number): Promise<CounterState> {
    const prefix = this.prefixForUser(key);
    const reply = await this.eval(SCRIPTS.increment, prefix, [prefix + 'c:' + key], [num(now, 'now'), num(now + windowMs, 'windowMs')]);
    const [count, resetAt] = asTuple(reply, 'increment').map((v) => parseNumber(asText(v, 'increment')));
    if (!Number.isFinite(count) || !Number.isFinite(resetAt)) {
      throw RedisSessionStoreError.unexpectedReply('increment', reply);
    }
    return { count, resetAt };
  }

  async resetCounter(key: string): Promise<void> {
    // A single DEL is already atomic: no script needed.
    await this.command('resetCounter', ['DEL', this.prefixForUser(key) + 'c:' + key]);
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
    // Operations in flight settle by their answer or by the sweeper at their deadline.
    await this.pending.stop();
    // destroy(), not close(): close() waits for replies that a stalled Redis may never send, and every
    // caller has already had its answer or its timeout. Also stops a first connection still retrying.
    if (this.owned?.isOpen) this.owned.destroy();
  }

  /**
   * The prefix of a user's keys (and of a counter's, by its name): with a cluster, `<prefix>{<tag>}:`, so the
   * user's sessions, their rotation pointers and the user's index share one slot and one script can hold them all.
   */
  private prefixForUser(userId: string): string {
    return this.sharded ? `${this.prefix}{${this.routingTagFor!(userId)}}:` : this.prefix;
  }

  /**
   * The prefix of a session's keys, from the routing tag its id carries (`<tag>.<hash>`). An id without a valid tag
   * cannot be one of this store's sessions in a cluster: it gets the bare prefix, and the operation finds nothing.
   */
  private prefixForId(id: string): string {
    if (!this.sharded) return this.prefix;
    const tag = routingTagOf(id);
    return tag !== undefined && ROUTING_TAG.test(tag) ? `${this.prefix}{${tag}}:` : this.prefix;
  }

  private deletedRecord(reply: unknown, operation: string): SessionRecord | null {
    const [status, flat] = asTuple(reply, operation);
    if (status === 'none') return null;
    if (status !== 'deleted') throw RedisSessionStoreError.unexpectedReply(operation, reply);
    return decodeRecord(flat);
  }

  /** Runs a script in one round trip: EVALSHA, and EVAL (which also caches it) only if Redis lost it. */
  private eval(script: LuaScript, prefix: string, keys: string[], args: string[]): Promise<unknown> {
    // One array per call (this is every request's command): EVALSHA, turned into EVAL only if Redis lost the script.
    const sent = this.bounded(script.name, ['EVALSHA', script.sha1, String(keys.length), ...keys, prefix, ...args], script);
    // No extra promise on the hot path unless the WAIT policy asks for one.
    if (this.replicaAcks === 0 || !CONFIRMED_WRITES.has(script.name)) return sent;
    return sent.then((reply) => this.confirm(script.name, keys[0]).then(() => reply));
  }

  private command(operation: string, args: string[]): Promise<unknown> {
    const sent = this.bounded(operation, args);
    if (this.replicaAcks === 0 || args[0] !== 'DEL') return sent;
    return sent.then((reply) => this.confirm(operation, args[1]).then(() => reply));
  }

  /**
   * The WAIT policy: after a write, waits until `replicaAcks` replicas have everything this connection wrote
   * (`key` routes the WAIT to the master that took the write, in a cluster). Fewer in time: 503, since a failover
   * now could lose the write (which has happened on the master: a retry repeats it, every write here is safe to repeat
   * or fails harmlessly).
   */
  private async confirm(operation: string, key: string): Promise<void> {
    const acks = await this.bounded(operation, ['WAIT', String(this.replicaAcks), String(this.replicaAckTimeoutMs)], undefined, key);
    const count = typeof acks === 'number' ? acks : Number(text(acks as string));
    if (!(count >= this.replicaAcks)) {
      throw RedisStoreUnavailableError.create(
        operation,
        this.target,
        new Error(`${count} of ${this.replicaAcks} replicas confirmed the write within ${this.replicaAckTimeoutMs} ms`),
        'A replica is down or lagging (or a failover is under way): the write is on the master only. Check the replicas; ' +
          'replicaAcks sets how many must confirm.',
      );
    }
  }

  /**
   * Sends one command, bounded by `commandTimeoutMs` from sending to the reply (a stalled or paused server too).
   * With `script`, a NOSCRIPT reply (Redis lost its script cache) resends the command once as EVAL, which also
   * caches the script again.
   *
   * node-redis' own per-command `timeout` is not used: it only covers the wait before the command is written,
   * and it allocates an AbortSignal per command, which the benchmark measured at about 12 us per request.
   * No timer per operation either: operations in flight sit in one set with their deadline, and one sweeper
   * (started with the first operation, unref'd, stopped at close) rejects those past it every 1/8 of
   * `commandTimeoutMs` (10 to 250 ms), after reading what the sockets hold (see {@link DeadlineSweeper}). A timed-out
   * operation therefore fails between `commandTimeoutMs` and `commandTimeoutMs` plus one sweep; in exchange the hot
   * path sets and clears no timer. The operation record carries everything, so a command costs one promise of ours
   * and no closure beyond the two reply handlers.
   */
  private bounded(operation: string, command: string[], script?: LuaScript, routeKey?: string): Promise<unknown> {
    if (this.closed) return Promise.reject(this.closedError(operation));
    return new Promise<unknown>((resolve, reject) => {
      const op: PendingOperation = { deadline: Date.now() + this.commandTimeoutMs, operation, command, script, routeKey, resolve, reject };
      this.pending.add(op);
      this.send(op);
    });
  }

  private send(op: PendingOperation): void {
    let sent: Promise<unknown>;
    try {
      sent = op.routeKey === undefined ? this.client.sendCommand(op.command) : this.client.sendCommand(op.command, op.routeKey);
    } catch (err) {
      sent = Promise.reject(err);
    }
    // Both branches handled: a reply arriving after the timeout is dropped, never an unhandled rejection.
    sent.then(
      (value) => {
        if (this.pending.settle(op)) op.resolve(value);
      },
      (err: unknown) => {
        if (op.script && op.command[0] === 'EVALSHA' && isNoScript(err) && this.pending.has(op)) {
          op.command[0] = 'EVAL';
          op.command[1] = op.script.source;
          this.send(op);
        } else if (this.pending.settle(op)) {
          op.reject(this.translate(op.operation, err));
        }
      },
    );
  }

  /**
   * Sorts a failure into the two kinds the module answers differently: Redis not reachable (a
   * {@link RedisStoreUnavailableError}, 503, heals by itself) and everything else (a {@link RedisSessionStoreError}
   * or the error itself, reported as a bug).
   */
  private translate(operation: string, err: unknown): Error {
    if (err instanceof RedisSessionStoreError || err instanceof RedisStoreUnavailableError) return err;
    if (isErrorReply(err)) {
      if (!isTransientReply(err)) return RedisSessionStoreError.commandFailed(operation, err);
      return RedisStoreUnavailableError.create(
        operation,
        this.target,
        err,
        'Redis is up but not serving yet (loading its dataset, a long script, a failover); this passes by itself.',
      );
    }
    if (hasErrorClass(err, TIMEOUT_ERRORS)) return RedisStoreTimeoutError.timedOut(operation, this.target, this.commandTimeoutMs);
    if (hasErrorClass(err, ['ClientClosedError'])) {
      if (this.closed) return this.closedError(operation);
      return RedisStoreUnavailableError.create(
        operation,
        this.target,
        err,
        this.owned
          ? 'The store is not connected: call `await store.connect()` (SessionModule does it at start-up) or create it ' +
              'with `await RedisSessionStore.connect(options)`.'
          : 'The client you passed is not connected: call `await client.connect()` before using the store.',
      );
    }
    if (hasErrorClass(err, CONNECTION_ERRORS) || SOCKET_ERROR_CODES.has(errorCode(err)) || TOPOLOGY_FAILURES.test(errorMessage(err))) {
      const last =
        this.owned && this.connection.lastError !== undefined ? ` Last connection error: ${errorMessage(this.connection.lastError)}.` : '';
      return RedisStoreUnavailableError.create(
        operation,
        this.target,
        err,
        'Check that Redis is running and reachable from this host (address, port, firewall, TLS, password); ' +
          `the store reconnects by itself when Redis is back.${last}`,
      );
    }
    // Not a connectivity failure: a bug or a misuse, which must surface as such (never as a 503).
    return err instanceof Error
      ? err
      : new RedisSessionStoreError(`Redis session store: ${operation} failed: ${errorMessage(err)}`, { cause: err });
  }

  private closedError(operation: string): RedisStoreUnavailableError {
    return RedisStoreUnavailableError.create(
      operation,
      this.target,
      new Error('the store is closed'),
      'close() was called on this store; create a new one.',
    );
  }

  /**
   * The first connection of the store's own client, up to an answered PING, bounded by `connectTimeoutMs` as a
   * whole: node-redis' own retries would overrun it by a socket timeout plus a backoff delay (a host that drops
   * packets), and a port where something silent listens would hang on the PING.
   */
  private async openOwnedClient(client: OwnedConnection): Promise<void> {
    this.connection.connectDeadline = performance.now() + this.connectTimeoutMs;
    this.connection.lastError = undefined;
    const noReply = new Error('no reply');
    let timer: NodeJS.Timeout | undefined;
    const opening = client.connect().then(() => this.ping());
    // Settled either way below; a late rejection after the deadline must not go unhandled.
    opening.catch(() => undefined);
    try {
      await Promise.race([
        opening,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(noReply), this.connectTimeoutMs);
        }),
      ]);
    } catch (err) {
      // Stop the background retries: the caller decides whether to call connect() again.
      if (client.isOpen) client.destroy();
      throw this.connectFailure(err === noReply ? (this.connection.lastError ?? err) : err);
    } finally {
      clearTimeout(timer);
    }
    // A cluster or Sentinel client has no single 'ready' event: from here on, outages are retried for ever.
    this.connection.everReady = true;
  }

  /** The start-up error: where the store looked, why it failed in words, and what to check. */
  private connectFailure(err: unknown): Error {
    // ReconnectStrategyError carries the socket's own error (ECONNREFUSED...), the useful part.
    let cause = isObject(err) && 'socketError' in err ? err.socketError : err;
    if (cause instanceof RedisSessionStoreError && cause.cause !== undefined) cause = cause.cause;
    if (isErrorReply(cause)) {
      // Redis answered, with a refusal: not a connectivity problem, and more retries would not help.
      return new RedisSessionStoreError(
        `Redis session store: Redis at ${this.target} refused the connection (${errorMessage(cause)}). Check the user ` +
          "name and password in the url (redis://USER:PASSWORD@HOST:PORT) against the server's requirepass or ACL.",
        { cause },
      );
    }
    const reason =
      cause instanceof RedisStoreTimeoutError
        ? `connected, but no reply to PING within ${this.commandTimeoutMs} ms (commandTimeoutMs)`
        : describeFailure(cause);
    return RedisStoreUnavailableError.notAnswering(this.target, this.connectTimeoutMs, reason, cause, this.whereOption);
  }
}

/**
 * Plain errors (no class of their own) by which node-redis' Cluster and Sentinel clients say "no node to send this
 * to right now": every sentinel or the master unreachable, a node that left the slot map mid-failover. An outage, so 503.
 */
const TOPOLOGY_FAILURES =
  /^(None of the sentinels are available|Couldn't connect to any sentinel|couldn't connect to any sentinels|no valid master node|Master Node Not Enumerated|Cannot find node)/;

/** The shape of a routing tag in a session id (`generateSessionToken` in lib/core/token.ts). */
const ROUTING_TAG = /^[A-Za-z0-9_-]{1,16}$/;

/** node-redis classes for a command that got no answer in time (its subclasses included). */
const TIMEOUT_ERRORS = ['TimeoutError'];

/** node-redis classes for "no connection": not connected yet, dropped, timed out while connecting, given up. */
const CONNECTION_ERRORS = [
  'ClientOfflineError',
  'SocketClosedUnexpectedlyError',
  'DisconnectsClientError',
  'ReconnectStrategyError',
  'ConnectionTimeoutError',
  'SocketTimeoutError',
  'RootNodesUnavailableError',
];

/** Node socket error codes, for clients that pass them through. */
const SOCKET_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** Socket error codes in words, for the start-up message. */
const SOCKET_ERROR_WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
};

/** Why the first connection failed, in words: the socket code translated, else the error's message. */
function describeFailure(cause: unknown): string {
  const words = SOCKET_ERROR_WORDS[errorCode(cause)];
  if (words) return words;
  if (hasErrorClass(cause, ['ConnectionTimeoutError'])) return 'connection timed out';
  return errorMessage(cause);
}

function assertId(id: string, operation: string): void {
  if (typeof id !== 'string' || id.length === 0) {
    throw new TypeError(`RedisSessionStore.${operation}: the session id must be a non-empty string`);
  }
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

function errorCode(err: unknown): string {
  return isObject(err) && typeof err.code === 'string' ? err.code : '';
}

function isNoScript(err: unknown): boolean {
  return errorMessage(err).startsWith('NOSCRIPT');
}

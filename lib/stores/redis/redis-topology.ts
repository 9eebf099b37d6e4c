import { createHash } from 'node:crypto';
import type { Logger } from '@nestjs/common';
import { createCluster, createSentinel } from 'redis';
import { errorMessage, hasErrorClass, MAX_RECONNECT_DELAY_MS, OwnedConnectionState, redactUrl } from './owned-client';

/**
 * The part of a node-redis v5/v6 cluster client (`createCluster()`) the stores use. The cluster routes each command
 * by its first key; the stores name it for every command they send (see {@link clusterCommands}).
 */
export interface RedisClusterClient {
  sendCommand(firstKey: string | undefined, isReadonly: boolean | undefined, args: string[]): Promise<unknown>;
}

/** The part of a node-redis v5/v6 Sentinel client (`createSentinel()`) the stores use: commands to the current master. */
export interface RedisSentinelClient {
  sendCommand(isReadonly: boolean | undefined, args: string[]): Promise<unknown>;
}

/** A connection the store created and therefore opens and closes: a plain client, a cluster or a Sentinel client. */
export interface OwnedConnection {
  readonly isOpen: boolean;
  connect(): Promise<unknown>;
  /** Drops every connection at once (no wait for replies a stalled server may never send). */
  destroy(): unknown;
  sendCommand(args: ReadonlyArray<string>): Promise<unknown>;
}

/** Where a Sentinel set-up is: the sentinels' URLs and the name of the master they watch. */
export interface RedisSentinelTarget {
  /** `redis://HOST:PORT` of each sentinel (at least one; give all of them). */
  sentinels: string[];
  /** The master's name in the sentinels' configuration (`sentinel monitor NAME ...`). */
  name: string;
}

/**
 * The key a command is routed by in a cluster: EVAL/EVALSHA's first declared key, none for commands without keys
 * (PING, WAIT: any node answers, or the node of the previous key for WAIT, see {@link clusterCommands}), else the first argument.
 */
export function firstKeyOf(args: ReadonlyArray<string>): string | undefined {
  const name = args[0]?.toUpperCase();
  if (name === 'EVAL' || name === 'EVALSHA') return Number(args[2]) > 0 ? args[3] : undefined;
  if (name === 'PING' || name === 'WAIT' || name === 'INFO' || name === 'SCRIPT') return undefined;
  return args[1];
}

/** Marks the clients made by {@link clusterCommands}, so a store given one knows it runs on a cluster. */
const CLUSTER = Symbol('nest-session-kit:redis-cluster');

/** Whether `client` came from {@link clusterCommands}: its keys are spread over a cluster's slots. */
export function isClusterCommands(client: unknown): boolean {
  return typeof client === 'object' && client !== null && (client as Record<symbol, unknown>)[CLUSTER] === true;
}

/**
 * Refuses, for a store whose scripts touch several keys at once, a prefix without a leading Redis Cluster hash tag
 * (`{...}` with something inside, before any other `{`): its keys would spread over slots and every multi-key script
 * would fail with CROSSSLOT at run time. Called at construction when the store is given {@link clusterCommands}.
 *
 * @throws TypeError naming the store, the prefix and a prefix that works.
 */
export function assertClusterPrefix(storeName: string, prefix: string, example: string): void {
  if (!/^[^{]*\{[^}]+\}/.test(prefix)) {
    throw new TypeError(
      `${storeName}: on a Redis Cluster the prefix needs a hash tag, so that the keys of one operation share a slot ` +
        `(got ${JSON.stringify(prefix)}); use e.g. "${example}".`,
    );
  }
}

/** Slowest rate of slot-map refreshes a failing cluster command triggers, in ms. */
const REDISCOVER_EVERY_MS = 250;

/**
 * Adapts a node-redis cluster client to the one-method shape the stores use (`sendCommand(args)`), routing each
 * command by its first key. `WAIT` goes with `waitKey` (the key of the write it follows), so it reaches the master
 * that took the write.
 *
 * After a master dies, node-redis keeps sending that master's slots to the dead address until a MOVED reply tells it
 * otherwise, which a dead node never sends. So a connection failure also asks the cluster to refresh its slot map
 * (at most every 250 ms): once a replica has been promoted, the next command finds it, and the store recovers by
 * itself. That refresh uses node-redis' `_slots.rediscover()`, checked by the failover test in
 * test/stores/redis-cluster.spec.ts.
 */
export function clusterCommands(cluster: RedisClusterClient): {
  sendCommand(args: ReadonlyArray<string>, waitKey?: string): Promise<unknown>;
  readonly [CLUSTER]: true;
} {
  let lastRediscover = 0;
  const rediscover = () => {
    const slots = (
      cluster as unknown as { _slots?: { rediscover?: (start: unknown) => Promise<void>; masters?: Array<{ client?: unknown }> } }
    )._slots;
    const now = Date.now();
    if (!slots?.rediscover || now - lastRediscover < REDISCOVER_EVERY_MS) return;
    lastRediscover = now;
    const start = slots.masters?.find((m) => m.client)?.client;
    if (start) slots.rediscover(start).catch(() => undefined);
  };
  return {
    [CLUSTER]: true as const,
    sendCommand(args, waitKey) {
      const key = args[0]?.toUpperCase() === 'WAIT' ? waitKey : firstKeyOf(args);
      let sent: Promise<unknown>;
      try {
        sent = cluster.sendCommand(key, false, args as string[]);
      } catch (err) {
        sent = Promise.reject(err);
      }
      return sent.catch((err: unknown) => {
        if (isConnectionFailure(err)) rediscover();
        throw err;
      });
    },
  };
}

/** Adapts a node-redis Sentinel client: every command goes to the master the sentinels currently name. */
export function sentinelCommands(sentinel: RedisSentinelClient): { sendCommand(args: ReadonlyArray<string>): Promise<unknown> } {
  return { sendCommand: (args) => sentinel.sendCommand(false, args as string[]) };
}

function isConnectionFailure(err: unknown): boolean {
  return (
    hasErrorClass(err, [
      'ClientOfflineError',
      'SocketClosedUnexpectedlyError',
      'ConnectionTimeoutError',
      'SocketTimeoutError',
      'ReconnectStrategyError',
    ]) ||
    (typeof err === 'object' &&
      err !== null &&
      typeof (err as { code?: unknown }).code === 'string' &&
      /^E[A-Z]+/.test((err as { code: string }).code)) ||
    /^(CLUSTERDOWN|MASTERDOWN|TRYAGAIN)/.test(errorMessage(err))
  );
}

/** What the owned cluster and Sentinel clients share with the store that owns them. */
interface OwnedTopologyOptions {
  storeName: string;
  target: string;
  /** ms */
  commandTimeoutMs: number;
  /** ms */
  connectTimeoutMs: number;
  logger: Logger;
  state: OwnedConnectionState;
  isClosed: () => boolean;
}

/** Node clients' socket settings: no offline queue (fail fast, 503), the first connection bounded, outages retried for ever. */
function nodeClientOptions(options: OwnedTopologyOptions) {
  const { state, connectTimeoutMs } = options;
  return {
    disableOfflineQueue: true,
    socket: {
      connectTimeout: Math.min(options.commandTimeoutMs, connectTimeoutMs),
      reconnectStrategy: (retries: number, cause: Error) => {
        if (!state.everReady && performance.now() >= state.connectDeadline) {
          return new Error(`gave up connecting after ${connectTimeoutMs} ms: ${errorMessage(cause)}`);
        }
        return Math.min(retries * 100, MAX_RECONNECT_DELAY_MS);
      },
    },
  };
}

/** Logs one line per outage (not one per reconnection attempt) and keeps the last error for start-up messages. */
function watch(
  emitter: { on(event: string, listener: (...args: unknown[]) => void): unknown },
  options: OwnedTopologyOptions,
  events: string[],
): void {
  const { state, logger, target } = options;
  for (const event of events) {
    emitter.on(event, (err: unknown) => {
      state.lastError = err;
      if (state.everReady && !state.connectionLost && !options.isClosed()) {
        state.connectionLost = true;
        logger.warn(`Lost a connection to Redis at ${target} (${errorMessage(err)}); reconnecting`);
      }
    });
  }
}

/**
 * A Redis Cluster client the store owns, from the URLs of some of its nodes (node-redis discovers the others).
 *
 * @throws TypeError naming `storeName` when the list is empty or an entry is not a Redis URL.
 */
export function createOwnedCluster(nodes: readonly string[], options: OwnedTopologyOptions): OwnedConnection {
  if (!Array.isArray(nodes) || nodes.length === 0) {
    throw new TypeError(
      `${options.storeName}: clusterNodes must list at least one node, e.g. ['redis://10.0.0.1:6379', 'redis://10.0.0.2:6379']`,
    );
  }
  for (const url of nodes) assertRedisUrl(url, 'clusterNodes', options.storeName);
  const cluster = createCluster({
    rootNodes: nodes.map((url) => ({ url })),
    defaults: nodeClientOptions(options),
  });
  watch(cluster as never, options, ['error', 'node-error']);
  const commands = clusterCommands(cluster as unknown as RedisClusterClient);
  return {
    get isOpen() {
      return cluster.isOpen;
    },
    connect: () => cluster.connect(),
    destroy: () => cluster.destroy(),
    sendCommand: (args) => commands.sendCommand(args),
  };
}

/**
 * A Sentinel client the store owns: it asks the sentinels for the master named `target.name` and follows it
 * through failovers.
 *
 * @throws TypeError naming `storeName` when the name or the sentinel list is missing or malformed.
 */
export function createOwnedSentinel(target: RedisSentinelTarget, options: OwnedTopologyOptions): OwnedConnection {
  if (!target || typeof target.name !== 'string' || target.name.length === 0) {
    throw new TypeError(
      `${options.storeName}: sentinels.name must be the master's name in the sentinels' configuration (sentinel monitor NAME ...)`,
    );
  }
  if (!Array.isArray(target.sentinels) || target.sentinels.length === 0) {
    throw new TypeError(`${options.storeName}: sentinels.urls must list the sentinels' URLs, e.g. ['redis://10.0.0.1:26379']`);
  }
  const roots = target.sentinels.map((url) => {
    const parsed = assertRedisUrl(url, 'sentinels.urls', options.storeName);
    return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || 26379) };
  });
  const client = nodeClientOptions(options);
  const sentinel = createSentinel({
    name: target.name,
    sentinelRootNodes: roots,
    nodeClientOptions: client,
    sentinelClientOptions: client,
  });
  watch(sentinel as never, options, ['error']);
  return {
    get isOpen() {
      return sentinel.isOpen;
    },
    connect: () => sentinel.connect(),
    destroy: () => {
      // A promise in node-redis' Sentinel client: nothing to wait for once every caller had its answer.
      Promise.resolve(sentinel.destroy()).catch(() => undefined);
    },
    sendCommand: (args) => sentinel.sendCommand(false, args as string[]),
  };
}

function assertRedisUrl(url: unknown, option: string, storeName: string): URL {
  let parsed: URL | undefined;
  try {
    parsed = typeof url === 'string' ? new URL(url) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')) {
    throw new TypeError(
      // redactUrl: the entry may hold a password, which must not reach logs.
      `${storeName}: ${option} entry ${typeof url === 'string' ? redactUrl(url) : JSON.stringify(url)} is not a Redis URL; use redis://HOST:PORT`,
    );
  }
  return parsed;
}

/** Length of a routing tag in base64url characters: 3 = 18 bits, 262,144 buckets over the cluster's 16,384 slots. */
export const ROUTING_TAG_LENGTH = 3;

/**
 * The routing tag of a user: the first {@link ROUTING_TAG_LENGTH} base64url characters of SHA-256(userId). Pure,
 * so every instance agrees and rotation keeps it. 18 bits identify no one; see the README on linkability.
 */
export function userRoutingTag(userId: string): string {
  return createHash('sha256').update(userId).digest('base64url').slice(0, ROUTING_TAG_LENGTH);
}

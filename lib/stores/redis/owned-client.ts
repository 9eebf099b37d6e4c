import type { Logger } from '@nestjs/common';
import { createClient } from 'redis';

/** A node-redis client a store created from a URL, and therefore owns (connects and closes). */
export type OwnedClient = ReturnType<typeof createClient>;

/** Longest wait between two reconnection attempts of a client the store owns, in ms (node-redis backs off up to it). */
export const MAX_RECONNECT_DELAY_MS = 2000;

/**
 * What a store knows about the connection of the client it owns. Written by the client's listeners and its
 * reconnection strategy ({@link createOwnedClient}), read by the store for its start-up errors.
 */
export interface OwnedConnectionState {
  /** The client was ready at least once: from then on outages are retried forever (the store heals by itself). */
  everReady: boolean;
  /** `performance.now()` after which the first connection gives up (set when it starts). */
  connectDeadline: number;
  /** An outage was logged and the client has not been ready since (one log line per outage). */
  connectionLost: boolean;
  /** The last connection error, for the start-up message; cleared when the client is ready. */
  lastError: unknown;
}

/** A fresh {@link OwnedConnectionState}. */
export function ownedConnectionState(): OwnedConnectionState {
  return { everReady: false, connectDeadline: 0, connectionLost: false, lastError: undefined };
}

/**
 * Creates the client a store owns: no offline queue (a command during an outage fails at once, so the request
 * answers 503 instead of waiting), a first connection bounded by `connectTimeoutMs` (a wrong URL stops start-up with a
 * message), outages retried forever afterwards, and one log line per outage and per recovery.
 *
 * @throws TypeError naming `storeName` when `url` is not a Redis URL.
 */
export function createOwnedClient(
  url: string,
  options: {
    /** For messages: `RedisSessionStore`, `RedisTokenStore`. */
    storeName: string;
    /** The URL without credentials, for messages and logs. */
    target: string;
    /** ms */
    commandTimeoutMs: number;
    /** ms */
    connectTimeoutMs: number;
    logger: Logger;
    state: OwnedConnectionState;
    /** True once the store was closed: its client's last errors are not an outage worth a log line. */
    isClosed: () => boolean;
  },
): OwnedClient {
  const { state, target, logger, connectTimeoutMs } = options;
  let client: OwnedClient;
  try {
    client = createClient({
      url,
      // Fail fast while disconnected: a queued command would hold the request until Redis is back.
      disableOfflineQueue: true,
      socket: {
        connectTimeout: Math.min(options.commandTimeoutMs, connectTimeoutMs),
        reconnectStrategy: (retries, cause) => {
          // The first connection gives up after connectTimeoutMs, so a wrong URL fails start-up clearly;
          // once connected, outages are retried forever and the store heals by itself.
          // A new Error, not `cause`: node-redis checks `instanceof Error`, which fails for errors from another
          // realm (Node's net module under jest's VM), and it would then retry forever.
          if (!state.everReady && performance.now() >= state.connectDeadline) {
            return new Error(`gave up connecting after ${connectTimeoutMs} ms: ${errorMessage(cause)}`);
          }
          // Redis answered the handshake with a refusal (wrong password or user): at start-up, waiting out
          // connectTimeoutMs would only delay the message.
          if (!state.everReady && isErrorReply(cause)) return new Error(`Redis refused the connection: ${errorMessage(cause)}`);
          return Math.min(retries * 100, MAX_RECONNECT_DELAY_MS);
        },
      },
    });
  } catch (err) {
    // node-redis' message ("Invalid URL") names neither the option nor the expected form.
    throw new TypeError(
      `${options.storeName}: url ${target} is not a Redis URL (${errorMessage(err)}); use redis://HOST:PORT or rediss://HOST:PORT ` +
        '(credentials as redis://USER:PASSWORD@HOST:PORT, a database as redis://HOST:PORT/DB).',
    );
  }
  // Without a listener, node-redis' 'error' event (emitted on every dropped connection) would crash the
  // process. Log once per outage, not once per reconnection attempt.
  client.on('error', (err: unknown) => {
    state.lastError = err;
    if (state.everReady && !state.connectionLost && !options.isClosed()) {
      state.connectionLost = true;
      logger.warn(`Lost the connection to Redis at ${target} (${errorMessage(err)}); reconnecting`);
    }
  });
  client.on('ready', () => {
    if (state.connectionLost) logger.log(`Reconnected to Redis at ${target}`);
    state.everReady = true;
    state.connectionLost = false;
    state.lastError = undefined;
  });
  return client;
}

// By shape, not `instanceof`: the error classes of the client's realm may differ from the module's under a VM (jest),
// and a client from another node-redis copy has its own classes.
function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** An error's message, else its class name, else the value as a string. */
export function errorMessage(err: unknown): string {
  if (isObject(err) && typeof err.message === 'string' && err.message) return err.message;
  return errorName(err) || String(err);
}

/** Error replies that mean "not now" rather than "wrong": Redis is up but not serving yet. */
const TRANSIENT_REPLIES = new Set(['LOADING', 'BUSY', 'MASTERDOWN', 'TRYAGAIN', 'CLUSTERDOWN', 'READONLY']);

/**
 * The WAIT after a write reached a node that is a replica now: the master it was routed to was demoted in a failover
 * since the client last read the slot map (WAIT names no key, so the node cannot answer MOVED). The write cannot be
 * confirmed while the failover is under way. Seen once, as a 500 in the cluster failover test under load
 * (test/stores/redis-cluster.spec.ts), in a CI run on 2026-12-01.
 */
const WAIT_ON_REPLICA = /^ERR WAIT cannot be used with replica instances/;

/**
 * True for an error reply that means "not now" (loading, a long script, a failover under way): the stores fail
 * closed on it like on an outage (503, passes by itself), never as a bug (500).
 */
export function isTransientReply(err: unknown): boolean {
  const message = errorMessage(err);
  return TRANSIENT_REPLIES.has(message.split(' ', 1)[0]) || WAIT_ON_REPLICA.test(message);
}

/** The class name of an error object, or ''. */
export function errorName(err: unknown): string {
  return isObject(err) && typeof err.constructor === 'function' ? err.constructor.name : '';
}

/**
 * Whether the error's class, or one it extends, has one of these names. By name along the prototype chain, so a
 * client from another node-redis major (its own classes) is recognised too.
 */
export function hasErrorClass(err: unknown, names: readonly string[]): boolean {
  for (let proto = isObject(err) ? Object.getPrototypeOf(err) : null; proto; proto = Object.getPrototypeOf(proto)) {
    if (names.includes(proto.constructor?.name)) return true;
  }
  return false;
}

/** Redis answered with an error (node-redis' `ErrorReply`), as opposed to not answering. */
export function isErrorReply(err: unknown): boolean {
  return hasErrorClass(err, ['ErrorReply']);
}

/**
 * The URL without its credentials (user name and password), for error messages and logs: they end up in log
 * files and error trackers.
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '(unparseable, not shown)';
  }
}

/**
 * `nest-session-kit/redis`: the Redis session store. A separate entry point so that applications not using
 * Redis never load the `redis` package (an optional peer dependency).
 *
 * @example
 * import { RedisSessionStore } from 'nest-session-kit/redis';
 * // SessionModule awaits store.connect() at start-up: an unreachable Redis stops it with a message naming the URL.
 * SessionModule.forRoot({ store: new RedisSessionStore({ url: process.env.REDIS_URL }) });
 * // Elsewhere, connect it yourself:
 * const store = await RedisSessionStore.connect({ url: process.env.REDIS_URL });
 */
export {
  DEFAULT_REDIS_CLUSTER_PREFIX,
  DEFAULT_REDIS_REPLICA_ACK_TIMEOUT_MS,
  DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
  DEFAULT_REDIS_CONNECT_TIMEOUT_MS,
  DEFAULT_REDIS_PREFIX,
  DEFAULT_REDIS_URL,
  RedisSessionStore,
} from './redis-session.store';
export { MAX_RECONNECT_DELAY_MS } from './owned-client';
// Redis Cluster and Sentinel clients for the token store and the attempt counters (the session store takes them as options).
export { clusterCommands, sentinelCommands, userRoutingTag, ROUTING_TAG_LENGTH } from './redis-topology';
export type { RedisClusterClient, RedisSentinelClient } from './redis-topology';
export type { RedisSessionClient, RedisSessionStoreOptions } from './redis-session.store';
export { RedisSessionStoreError, RedisStoreTimeoutError, RedisStoreUnavailableError } from './redis-session-store.errors';
// The brute-force defence's attempt counters on Redis (they live in lib/brute-force; exported here with the other Redis code).
export { RedisAttemptCounterStore, DEFAULT_ATTEMPT_PREFIX } from '../../brute-force/stores/redis-attempt-counter.store';
export type { RedisAttemptCounterClient, RedisAttemptCounterStoreOptions } from '../../brute-force/stores/redis-attempt-counter.store';
// The API-token layer's store (refresh families, access-token revocation) on Redis, beside the sessions.
export { RedisTokenStore, DEFAULT_REDIS_TOKEN_PREFIX } from './redis-token.store';
export type { RedisTokenClient, RedisTokenStoreOptions } from './redis-token.store';

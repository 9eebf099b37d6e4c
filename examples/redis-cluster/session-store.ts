// examples/redis-cluster/session-store.ts
import { RedisSessionStore } from 'nest-session-kit/redis';

/**
 * The session store from the environment: sharded over a Redis Cluster (REDIS_CLUSTER_NODES, comma-separated), behind
 * Sentinel (REDIS_SENTINELS, comma-separated, and REDIS_SENTINEL_NAME), or one Redis (REDIS_URL).
 */
export function sessionStoreFromEnv(env: NodeJS.ProcessEnv = process.env): RedisSessionStore {
  const list = (value: string) => value.split(',').map((url) => url.trim());
  if (env.REDIS_CLUSTER_NODES) {
    return new RedisSessionStore({
      clusterNodes: list(env.REDIS_CLUSTER_NODES), // some nodes; the client discovers the others
      prefix: 'myapp:', // no { or }: the store adds a per-user hash tag itself
      replicaAcks: 1, // WAIT 1 after each write: acknowledged once a replica has it
    });
  }
  if (env.REDIS_SENTINELS) {
    return new RedisSessionStore({
      sentinels: { urls: list(env.REDIS_SENTINELS), name: env.REDIS_SENTINEL_NAME ?? 'mymaster' },
      replicaAcks: 1,
    });
  }
  return new RedisSessionStore({ url: env.REDIS_URL });
}

/**
 * RedisSessionStore and RedisTokenStore on a real Redis Cluster: 3 masters and 3 replicas on 127.0.0.1:7100-7105,
 * created here with `redis-cli --cluster create` and torn down after (test/support/private-topology.ts). A missing
 * redis-server, or a port already taken, fails the suite: it never skips.
 *
 * One file on purpose: the cluster's ports are fixed, so two files creating it at once would collide. The tests run in
 * order and the failover test, which changes the cluster, runs last.
 */
import { randomBytes } from 'node:crypto';
import { createCluster } from 'redis';
import { isStoreConnectionError } from '../../lib/core/errors';
import { generateSessionToken, sessionIdOf } from '../../lib/core/token';
import { clusterCommands, RedisAttemptCounterStore, RedisSessionStore, RedisTokenStore } from '../../lib/stores/redis';
import { describeAttemptCounterStore, describeSessionStore, describeTokenStore, makeRecord } from '../../lib/testing';
import { Test } from '@nestjs/testing';
import { SessionService } from '../../lib';
import { AppModule } from '../../examples/redis-cluster/app.module';
import { sessionStoreFromEnv } from '../../examples/redis-cluster/session-store';
import { FailoverLoad } from '../support/failover-load';
import { cli, PrivateRedisCluster, waitFor } from '../support/private-topology';

jest.setTimeout(240_000);

const hooks = { describe, it, beforeAll, afterAll };
const run = `${process.pid}-${randomBytes(3).toString('hex')}`;
type Cluster = ReturnType<typeof createCluster>;

const cluster = new PrivateRedisCluster();
let admin: Cluster;

beforeAll(async () => {
  await cluster.start();
  admin = createCluster({ rootNodes: cluster.urls.map((url) => ({ url })), defaults: { disableOfflineQueue: true } });
  admin.on('error', () => undefined);
  await admin.connect();
}, 240_000);

afterAll(async () => {
  admin?.destroy();
  await cluster.dispose();
}, 60_000);

/** Every key under `pattern` on the master listening on `port`. */
async function keysOn(port: number, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, ...batch] = (await cli(port, '--no-raw', 'scan', cursor, 'match', pattern, 'count', '1000')).split('\n');
    cursor = next.replace(/^1\) "?|"$/g, '');
    keys.push(
      ...batch
        .map((line) => line.replace(/^\s*\d+\) "|"$|^2\) /g, ''))
        .filter((k) => k && k !== '(empty array)' && k !== '(empty list or set)'),
    );
  } while (cursor !== '0');
  return keys;
}

describeSessionStore(
  'redis cluster (clusterNodes: the store owns its cluster client)',
  async () => {
    const store = new RedisSessionStore({ clusterNodes: cluster.urls, prefix: `nsk-conf-${run}:` });
    await store.connect();
    return { store, cleanup: () => store.close() };
  },
  hooks,
);

describeTokenStore(
  'redis cluster (a cluster client the test owns; one slot)',
  async () => {
    // The token store's scripts reach from a token id to its user's keys in one script, so on a cluster all its keys
    // share the prefix's hash tag (its default `{nsk}:tok:`): correct on a cluster, on one shard (see the README).
    const prefix = `{nsk-tok-${run}}:`;
    const store = new RedisTokenStore({ client: clusterCommands(admin), prefix });
    await store.connect();
    return {
      store,
      corruptToken: async ({ tokenId, userId }) => void (await admin.hSet(`${prefix}{u:${userId}}:t:${tokenId}`, 'idleExpiresAt', 'soon')),
      corruptFamily: async ({ familyId, userId }) => void (await admin.hSet(`${prefix}{u:${userId}}:f:${familyId}`, 'createdAt', 'x')),
      cleanup: () => store.close(),
    };
  },
  hooks,
);

describeAttemptCounterStore(
  'redis cluster (a cluster client the test owns; the prefix hash tag keeps each call on one slot)',
  async () => ({ store: new RedisAttemptCounterStore({ client: clusterCommands(admin), prefix: `{nsk-att-${run}}:attempts:` }) }),
  hooks,
);

describe('RedisSessionStore on a Redis Cluster', () => {
  it('refuses a prefix whose hash tag would override the per-user routing, saying what to use', () => {
    for (const prefix of ['{nsk}:', 'app{x}:', 'nsk:{']) {
      expect(() => new RedisSessionStore({ clusterNodes: cluster.urls, prefix })).toThrow(
        /prefix .* contains "\{" or "\}".*overrides the store's per-user routing.*Use a prefix without braces, e\.g\. "nsk:"/,
      );
    }
    // The same prefix is fine on a single Redis or a Sentinel set-up, where every key shares one slot anyway.
    expect(() => new RedisSessionStore({ url: 'redis://127.0.0.1:6379', prefix: '{nsk}:' })).not.toThrow();
    // The other cluster and Sentinel options, checked at construction with what to do.
    expect(() => new RedisSessionStore({ clusterNodes: [] })).toThrow(/clusterNodes must list at least one node/);
    expect(() => new RedisSessionStore({ clusterNodes: ['http://x:1'] })).toThrow(
      /clusterNodes entry .* is not a Redis URL; use redis:\/\/HOST:PORT/,
    );
    expect(() => new RedisSessionStore({ sentinels: { urls: ['redis://127.0.0.1:7202'], name: '' } })).toThrow(
      /sentinels\.name must be the master's name/,
    );
    expect(() => new RedisSessionStore({ url: 'redis://127.0.0.1:6379', clusterNodes: cluster.urls })).toThrow(
      /not several \(got url and clusterNodes\)/,
    );
    expect(() => new RedisSessionStore({ clusterNodes: cluster.urls, replicaAcks: -1 })).toThrow(/replicaAcks must be a whole number >= 0/);
    // The token store and the attempt counters need the opposite: one hash tag for all their keys on a cluster.
    expect(() => new RedisTokenStore({ client: clusterCommands(admin), prefix: 'nsk:tok:' })).toThrow(
      /RedisTokenStore: on a Redis Cluster the prefix needs a hash tag.*got "nsk:tok:".*use e\.g\. "\{nsk\}:tok:"/,
    );
    expect(() => new RedisAttemptCounterStore({ client: clusterCommands(admin) })).toThrow(
      /RedisAttemptCounterStore: on a Redis Cluster the prefix needs a hash tag.*got "nsk:attempts:".*"\{nsk\}:attempts:"/,
    );
    expect(() => new RedisTokenStore({ client: clusterCommands(admin) })).not.toThrow(); // its default {nsk}:tok: has one
  });

  it('spreads sessions over all three masters while each user keeps its sessions and index in one slot', async () => {
    const prefix = `nsk-spread-${run}:`;
    const store = new RedisSessionStore({ cluster: admin, prefix });
    try {
      const now = Date.now();
      const users = Array.from({ length: 60 }, (_, i) => `spread-user-${i}-${run}`);
      for (const userId of users) {
        for (let n = 0; n < 3; n++) {
          // What SessionManager does: the token carries the user's routing tag, the id keeps it in clear.
          const id = sessionIdOf(generateSessionToken(store.routingTagFor!(userId)));
          expect((await store.create(id, makeRecord(now, { userId }), { now, maxConcurrent: 0 })).status).toBe('created');
        }
      }
      const masters = await cluster.masters();
      expect(masters).toHaveLength(3);
      const perMaster = await Promise.all(masters.map((port) => keysOn(port, `${prefix}*`)));
      for (const keys of perMaster) expect(keys.length).toBeGreaterThan(20); // 240 keys over 3 shards, each holds some
      expect(perMaster.flat()).toHaveLength(users.length * 4); // 3 sessions + 1 index per user

      const userId = users[7];
      const list = await store.listByUser(userId, now);
      expect(list).toHaveLength(3);
      const keys = [
        `${prefix}{${store.routingTagFor!(userId)}}:u:${userId}`,
        ...list.map((s) => `${prefix}{${store.routingTagFor!(userId)}}:s:${s.id}`),
      ];
      const slots = new Set(await Promise.all(keys.map((k) => cli(masters[0], 'cluster', 'keyslot', k))));
      expect(slots.size).toBe(1);
      expect(await admin.exists(keys)).toBe(4);

      // The per-user scripts run on that one slot: roles, rotation marks, logout everywhere.
      expect(await store.updateUserRoles(userId, ['admin'], now)).toBe(3);
      expect(await store.requireRotationForUser(userId)).toBe(3);
      expect(await store.destroyByUser(userId, list[0].id)).toHaveLength(2);
      expect((await store.listByUser(userId, now)).map((s) => s.id)).toEqual([list[0].id]);

      // A rotation keeps the tag, so the successor lands in the same slot; another user's tag is refused.
      const next = sessionIdOf(generateSessionToken(store.routingTagFor!(userId)));
      expect((await store.rotate(list[0].id, next, { now, graceMs: 0, changes: {} })).status).toBe('rotated');
      const foreign = sessionIdOf(generateSessionToken(store.routingTagFor!(`someone-else-${run}`)));
      await expect(store.rotate(next, foreign, { now, graceMs: 0, changes: {} })).rejects.toThrow(/keeps the old one's routing tag/);
      await expect(store.create(foreign, makeRecord(now, { userId }), { now, maxConcurrent: 0 })).rejects.toThrow(
        /carries its user's routing tag/,
      );
    } finally {
      for (const port of await cluster.masters()) {
        const keys = await keysOn(port, `${prefix}*`);
        for (const key of keys) await admin.del(key);
      }
      await store.close();
    }
  });

  it('the README example: REDIS_CLUSTER_NODES gives a sharded store, and its AppModule boots on the cluster', async () => {
    const store = sessionStoreFromEnv({ REDIS_CLUSTER_NODES: cluster.urls.slice(0, 2).join(', ') });
    expect(typeof store.routingTagFor).toBe('function');
    const load = await FailoverLoad.start(store, run, 0);
    try {
      const user = `example-${run}`;
      await load.loginWorks(user);
      expect(load.lastLogin).toMatch(/^200 /);
      const tag = store.routingTagFor!(user);
      expect(await admin.exists(`myapp:{${tag}}:u:${user}`)).toBe(1);
      expect(await store.destroyByUser(user)).toHaveLength(1);
    } finally {
      await load.close();
    }

    process.env.REDIS_CLUSTER_NODES = cluster.urls[0];
    try {
      const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
      const app = moduleRef.createNestApplication({ logger: false });
      await app.init(); // connects the store: every master answered
      await app.get(SessionService).ping();
      await app.close();
    } finally {
      delete process.env.REDIS_CLUSTER_NODES;
    }
  });

  it('survives a master crash under load: 503 during the failover, never 500, no acknowledged write lost, recovery by itself', async () => {
    // WAIT 1 after every write: a write is acknowledged only once the master's replica has it, so the replica that
    // takes over after the crash has every acknowledged write.
    const store = new RedisSessionStore({ clusterNodes: cluster.urls, prefix: `nsk-fo-${run}:`, replicaAcks: 1, commandTimeoutMs: 1500 });
    const load = await FailoverLoad.start(store, run);
    try {
      await waitFor('40 logins before the crash', async () => load.acknowledged.length >= 40 || load.unexpected.length > 0, 60_000);
      expect(load.unexpected).toEqual([]);

      const victim = (await cluster.masters())[0];
      const heir = await cluster.replicaOf(victim);
      const before = load.acknowledged.length;
      await cluster.node(victim).kill();
      await waitFor(
        `the replica on ${heir} to take over from the crashed master on ${victim}`,
        async () => (await cli(heir, 'role')).startsWith('master') && (await cli(heir, 'cluster', 'info')).includes('cluster_state:ok'),
        120_000,
      );
      // The heir has no replica yet, so writes in its slots get 503 (WAIT 1 cannot be met) until the crashed node is
      // back as its replica; the other shards serve all along.
      await cluster.node(victim).start();
      await cluster.waitHealthy();
      // Recovered by itself: the same app signs in users on every shard, 30 in a row (random users: all three shards
      // with p > 0.99999). Polled: right after it rejoined, the replica may still be catching up (WAIT answers 503).
      await load.waitForLoginsInARow('after the failover', 'after');
      await waitFor('more logins under load after the failover', async () => load.acknowledged.length >= before + 60, 60_000);
      await load.stop();

      expect(load.bugs).toEqual([]);
      expect(load.unexpected).toEqual([]);
      expect(load.statuses.get(503) ?? 0).toBeGreaterThan(0);
      expect([...load.statuses.keys()].filter((s) => s !== 200 && s !== 503)).toEqual([]);
      // Every login that answered 200 still authenticates: nothing acknowledged was lost in the failover.
      expect(await load.lost()).toEqual([]);
    } finally {
      console.log(`[cluster failover] ${load.summary()}`);
      await load.close();
    }
  });

  it('finds the promoted replica by itself while the crashed master stays down (no WAIT: the slot map is refreshed on failure)', async () => {
    // Without WAIT the heir serves writes as soon as it is master; the crashed node never answers again, so only the
    // store's own slot-map refresh (no MOVED reply will ever come from the dead address) lets it find the heir.
    const store = new RedisSessionStore({ clusterNodes: cluster.urls, prefix: `nsk-fo2-${run}:`, commandTimeoutMs: 1500 });
    const load = await FailoverLoad.start(store, `${run}-2`);
    try {
      await waitFor('40 logins before the crash', async () => load.acknowledged.length >= 40 || load.unexpected.length > 0, 60_000);
      const victim = (await cluster.masters())[1];
      const heir = await cluster.replicaOf(victim);
      await cluster.node(victim).kill();
      await waitFor(
        `the replica on ${heir} to take over from ${victim}`,
        async () => (await cli(heir, 'role')).startsWith('master') && (await cli(heir, 'cluster', 'info')).includes('cluster_state:ok'),
        120_000,
      );
      await load.waitForLoginsInARow('with the crashed master still down', 'after2');
      await load.stop();
      expect(load.bugs).toEqual([]);
      expect(load.unexpected).toEqual([]);
      expect(load.statuses.get(503) ?? 0).toBeGreaterThan(0);
    } finally {
      console.log(`[cluster failover, no WAIT] ${load.summary()}`);
      await load.close();
    }
  });

  it('stops start-up with a 503-kind error naming the cluster when no node answers', async () => {
    const store = new RedisSessionStore({ clusterNodes: ['redis://127.0.0.1:1'], connectTimeoutMs: 1000 });
    const failure = await store.connect().catch((err: unknown) => err);
    expect(isStoreConnectionError(failure)).toBe(true);
    expect(String((failure as Error).message)).toMatch(
      /Redis Cluster redis:\/\/127\.0\.0\.1:1 did not answer within 1000 ms.*the `clusterNodes` option points to it/,
    );
    await store.close();
  });
});

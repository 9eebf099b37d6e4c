/**
 * RedisSessionStore behind Redis Sentinel: one master (7200), one replica (7201) and three sentinels (7202-7204) on
 * 127.0.0.1, created here and torn down after (test/support/private-topology.ts). A missing redis-server, or a port
 * already taken, fails the suite: it never skips. The failover test, which changes the set-up, runs last.
 */
import { randomBytes } from 'node:crypto';
import { RedisSessionStore } from '../../lib/stores/redis';
import { describeSessionStore } from '../../lib/testing';
import { sessionStoreFromEnv } from '../../examples/redis-cluster/session-store';
import { FailoverLoad } from '../support/failover-load';
import { cli, PrivateRedisSentinel, waitFor } from '../support/private-topology';

jest.setTimeout(240_000);

const hooks = { describe, it, beforeAll, afterAll };
const run = `${process.pid}-${randomBytes(3).toString('hex')}`;
const topology = new PrivateRedisSentinel();

beforeAll(() => topology.start(), 240_000);
afterAll(() => topology.dispose(), 60_000);

describeSessionStore(
  'redis sentinel (sentinels: the store owns its Sentinel client)',
  async () => {
    const store = new RedisSessionStore({
      sentinels: { urls: topology.sentinelUrls, name: PrivateRedisSentinel.NAME },
      prefix: `{nsk-sen-${run}}:`,
    });
    await store.connect();
    return { store, cleanup: () => store.close() };
  },
  hooks,
);

describe('RedisSessionStore behind Redis Sentinel', () => {
  it('stops start-up with a message naming the sentinels when none answers', async () => {
    const store = new RedisSessionStore({ sentinels: { urls: ['redis://127.0.0.1:1'], name: 'nowhere' }, connectTimeoutMs: 1500 });
    await expect(store.connect()).rejects.toThrow(
      /Redis Sentinel master "nowhere" via redis:\/\/127\.0\.0\.1:1 did not answer.*the `sentinels` option/,
    );
    await store.close();
  });

  it('the README example: REDIS_SENTINELS and REDIS_SENTINEL_NAME give a store on the current master', async () => {
    const store = sessionStoreFromEnv({ REDIS_SENTINELS: topology.sentinelUrls.join(','), REDIS_SENTINEL_NAME: PrivateRedisSentinel.NAME });
    expect(store.routingTagFor).toBeUndefined(); // one master: nothing to shard, plain tokens
    const load = await FailoverLoad.start(store, run, 0);
    try {
      await load.loginWorks(`example-${run}`);
      expect(load.lastLogin).toMatch(/^200 /);
      expect(await cli(PrivateRedisSentinel.MASTER, 'exists', `{nsk}:u:example-${run}`)).toBe('1');
      expect(await store.destroyByUser(`example-${run}`)).toHaveLength(1);
    } finally {
      await load.close();
    }
  });

  it('follows the new master after the old one crashes: 503 during the failover, never 500, no acknowledged write lost', async () => {
    // WAIT 1 after every write: acknowledged only once the replica has it, so the promoted replica has it too.
    const store = new RedisSessionStore({
      sentinels: { urls: topology.sentinelUrls, name: PrivateRedisSentinel.NAME },
      prefix: `{nsk-sen-fo-${run}}:`,
      replicaAcks: 1,
      commandTimeoutMs: 1500,
    });
    const load = await FailoverLoad.start(store, run);
    try {
      await waitFor('40 logins before the crash', async () => load.acknowledged.length >= 40 || load.unexpected.length > 0, 60_000);
      expect(load.unexpected).toEqual([]);
      const before = load.acknowledged.length;

      await topology.master.kill();
      await waitFor(
        'the sentinels to promote the replica on 7201',
        async () =>
          (await topology.currentMaster()) === PrivateRedisSentinel.REPLICA &&
          (await cli(PrivateRedisSentinel.REPLICA, 'role')).startsWith('master'),
        120_000,
      );
      // The new master has no replica until the old one is back (the sentinels make it a replica): WAIT 1 cannot be
      // met meanwhile, so writes answer 503 rather than being acknowledged on one copy.
      await topology.master.start();
      await topology.waitHealthy(PrivateRedisSentinel.REPLICA);
      await load.waitForLoginsInARow('on the new master', 'after');
      await waitFor('more logins under load after the failover', async () => load.acknowledged.length >= before + 60, 60_000);
      await load.stop();

      expect(load.bugs).toEqual([]);
      expect(load.unexpected).toEqual([]);
      expect(load.statuses.get(503) ?? 0).toBeGreaterThan(0);
      expect([...load.statuses.keys()].filter((s) => s !== 200 && s !== 503)).toEqual([]);
      expect(await load.lost()).toEqual([]);
    } finally {
      console.log(`[sentinel failover] ${load.summary()}`);
      await load.close();
    }
  });
});

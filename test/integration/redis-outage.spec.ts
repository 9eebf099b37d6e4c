/**
 * RedisSessionStore against a private redis-server that the test starts, kills and restarts: what the store
 * does during an outage (fails fast and clearly, never crashes the process, never reports "no session"),
 * and that the same instance recovers by itself. A private server also gives exact INFO commandstats (the
 * shared one counts every suite's commands).
 */
import { createClient } from 'redis';
import { isStoreConnectionError } from '../../lib/core/errors';
import { RedisSessionStore, RedisStoreTimeoutError, RedisStoreUnavailableError } from '../../lib/stores/redis';
import { makeRecord, newId } from '../../lib/testing';
import { freePort, PrivateRedis } from '../support/private-redis';

const MIN = 60_000;
const IDLE = 30 * MIN;
const COMMAND_TIMEOUT_MS = 1000;

/**
 * Calls per command from INFO commandstats, all outcomes included: `calls` already holds the failed ones (a
 * NOSCRIPT reply), `rejected_calls` (refused before running) are apart.
 */
async function commandStats(client: ReturnType<typeof createClient>): Promise<Record<string, number>> {
  const stats: Record<string, number> = {};
  const info = await client.info('commandstats');
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),.*?rejected_calls=(\d+)/gm)) {
    if (m[1] === 'info' || m[1].startsWith('config|')) continue; // the test's own measuring commands
    stats[m[1]] = Number(m[2]) + Number(m[3]);
  }
  return stats;
}

describe('RedisSessionStore on a private redis-server', () => {
  let redis: PrivateRedis;
  let store: RedisSessionStore;
  let admin: ReturnType<typeof createClient>;
  const prefix = '{nsk}:';
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    redis = new PrivateRedis(await freePort());
    await redis.start();
    store = await RedisSessionStore.connect({ url: redis.url, commandTimeoutMs: COMMAND_TIMEOUT_MS });
    admin = createClient({ url: redis.url });
    admin.on('error', () => undefined); // it goes down with the server, like the store's client
    await admin.connect();
  });

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await store?.close();
    admin?.destroy();
    await redis?.dispose();
  });

  describe('round trips, counted exactly', () => {
    it('one EVALSHA per read, with and without a due touch (INFO commandstats)', async () => {
      const id = newId();
      const t0 = Date.now();
      await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
      await store.read(id, { now: t0, idleTimeoutMs: IDLE, touchIntervalMs: MIN }); // script cached

      await admin.configResetStat();
      for (let i = 1; i <= 100; i++) await store.read(id, { now: t0 + i, idleTimeoutMs: IDLE, touchIntervalMs: 10 * IDLE });
      const quiet = await commandStats(admin);

      await admin.configResetStat();
      for (let i = 1; i <= 100; i++) await store.read(id, { now: t0 + i, idleTimeoutMs: IDLE, touchIntervalMs: 0 });
      const touching = await commandStats(admin);

      console.log('[redis] commandstats for 100 reads, no touch due:', quiet, '| touch due every time:', touching);
      // evalsha is the only command the client sent; the others ran inside it (Redis counts those too).
      expect(quiet).toEqual({ evalsha: 100, hgetall: 100 });
      expect(touching).toEqual({ evalsha: 100, hgetall: 100, hset: 100, pexpire: 100 });
    });

    it('after Redis lost its script cache: one EVAL, then EVALSHA again', async () => {
      const id = newId();
      const t0 = Date.now();
      await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
      await admin.scriptFlush();
      await admin.configResetStat();
      for (let i = 0; i < 3; i++) {
        expect((await store.read(id, { now: t0, idleTimeoutMs: IDLE, touchIntervalMs: MIN })).status).toBe('active');
      }
      const stats = await commandStats(admin);
      expect({ evalsha: stats.evalsha, eval: stats.eval }).toEqual({ evalsha: 3, eval: 1 });
    });

    it('writes no key outside its prefix, and every key has a TTL', async () => {
      await admin.flushAll();
      const t0 = Date.now();
      const userId = 'user-' + newId();
      const [a, b, c] = [newId(), newId(), newId()];
      await store.create(a, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 2 });
      await store.create(b, makeRecord(t0 + 1, { userId }), { now: t0 + 1, maxConcurrent: 2 });
      await store.rotate(b, c, { now: t0 + 2, graceMs: 5000, changes: {} });
      await store.read(b, { now: t0 + 3, idleTimeoutMs: IDLE, touchIntervalMs: 0 });
      await store.update(a, 1, { data: { k: 'v' } }, t0 + 3);
      await store.listByUser(userId, t0 + 3);
      await store.countByUser(userId, t0 + 3);
      await store.requireRotationForUser(userId);
      await store.increment('ip:203.0.113.7', 60_000, t0);
      await store.destroyByHandle(userId, 'no-such-handle');
      const keys = (await admin.keys('*')).sort();
      expect(keys).toEqual(
        [`${prefix}c:ip:203.0.113.7`, `${prefix}s:${a}`, `${prefix}s:${b}`, `${prefix}s:${c}`, `${prefix}u:${userId}`].sort(),
      );
      for (const key of keys) expect([key, (await admin.pTTL(key)) > 0]).toEqual([key, true]);
    });
  });

  describe('outage and recovery', () => {
    /** Every kind of operation, each expected to reject fast with the "unreachable" error. */
    async function expectFastFailures(sessionId: string): Promise<number> {
      const t = Date.now();
      const ops: [string, () => Promise<unknown>][] = [
        ['ping', () => store.ping()],
        ['read', () => store.read(sessionId, { now: t, idleTimeoutMs: IDLE, touchIntervalMs: MIN })],
        ['create', () => store.create(newId(), makeRecord(t), { now: t, maxConcurrent: 1 })],
        ['update', () => store.update(sessionId, 1, { data: {} }, t)],
        ['rotate', () => store.rotate(sessionId, newId(), { now: t, graceMs: 1000, changes: {} })],
        ['destroy', () => store.destroy(sessionId)],
        ['countByUser', () => store.countByUser('u', t)],
        ['increment', () => store.increment('k', 1000, t)],
        ['resetCounter', () => store.resetCounter('k')],
      ];
      let slowest = 0;
      for (const [name, op] of ops) {
        const started = Date.now();
        const error = await op().then(
          (value) => new Error(`${name} resolved during the outage: ${JSON.stringify(value)}`),
          (err: unknown) => err,
        );
        const elapsed = Date.now() - started;
        slowest = Math.max(slowest, elapsed);
        expect(error).toBeInstanceOf(RedisStoreUnavailableError);
        // The module's only test for "try again later" (503): the shared marker of SessionStoreConnectionError.
        expect([name, isStoreConnectionError(error)]).toEqual([name, true]);
        expect((error as Error).message).toMatch(/Redis is unreachable at redis:\/\/127\.0\.0\.1:\d+.*Check that Redis is running/);
        expect([name, elapsed < 1000]).toEqual([name, true]);
      }
      return slowest;
    }

    async function waitForRecovery(limitMs: number): Promise<number> {
      const started = Date.now();
      for (;;) {
        try {
          await store.ping();
          return Date.now() - started;
        } catch (err) {
          expect(err).toBeInstanceOf(RedisStoreUnavailableError);
          if (Date.now() - started > limitMs) throw new Error(`the store did not recover within ${limitMs} ms: ${err}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }

    it.each(['SIGTERM', 'SIGKILL'] as const)(
      'fails fast while Redis is down (%s), and the same instance recovers by itself',
      async (signal) => {
        const t0 = Date.now();
        const id = newId();
        const rec = makeRecord(t0);
        await store.create(id, rec, { now: t0, maxConcurrent: 0 });
        expect((await store.read(id, { now: t0, idleTimeoutMs: IDLE, touchIntervalMs: MIN })).status).toBe('active');

        await redis.signal(signal);
        const first = await expectFastFailures(id);
        // Still failing fast while the client keeps retrying in the background.
        await new Promise((r) => setTimeout(r, 1500));
        const later = await expectFastFailures(id);

        await redis.start();
        const recoveredIn = await waitForRecovery(10_000);
        console.log(`[redis] ${signal}: slowest failure ${Math.max(first, later)} ms; recovered ${recoveredIn} ms after restart`);

        // A restarted server without persistence has lost the session: that is 'missing', now that Redis answers.
        expect(await store.read(id, { now: t0, idleTimeoutMs: IDLE, touchIntervalMs: MIN })).toEqual({ status: 'missing' });
        const again = newId();
        await store.create(again, rec, { now: t0, maxConcurrent: 0 });
        expect(await store.read(again, { now: t0, idleTimeoutMs: IDLE, touchIntervalMs: MIN })).toEqual({
          status: 'active',
          id: again,
          record: rec,
          viaGrace: false,
        });
        expect(unhandled).toEqual([]);
      },
    );

    it('times out, with a message saying so, when Redis stops answering; then recovers', async () => {
      const t0 = Date.now();
      const id = newId();
      await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
      await redis.signal('SIGSTOP');
      try {
        const started = Date.now();
        const error = await store.read(id, { now: t0, idleTimeoutMs: IDLE, touchIntervalMs: MIN }).then(
          () => new Error('read resolved while Redis was paused'),
          (err: unknown) => err,
        );
        const elapsed = Date.now() - started;
        expect(error).toBeInstanceOf(RedisStoreTimeoutError);
        expect(isStoreConnectionError(error)).toBe(true);
        expect((error as Error).message).toMatch(/Redis session store: read timed out after 1000 ms \(commandTimeoutMs\)/);
        expect(elapsed).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS - 50);
        expect(elapsed).toBeLessThan(COMMAND_TIMEOUT_MS + 1000);
      } finally {
        await redis.signal('SIGCONT');
      }
      await waitForRecovery(5000);
      expect((await store.read(id, { now: t0, idleTimeoutMs: IDLE, touchIntervalMs: MIN })).status).toBe('active');
      expect(unhandled).toEqual([]);
    });
  });
});

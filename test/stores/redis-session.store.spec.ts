/**
 * RedisSessionStore against the real Redis at redis://127.0.0.1:6379 (started before each session and in CI).
 * If it is not reachable, every test here fails with the store's "Redis is unreachable" message: a store
 * suite that skips silently would let a broken store ship.
 */
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { SessionRecord } from '../../lib/core/session-record';
import { RedisSessionStore, RedisStoreUnavailableError } from '../../lib/stores/redis';
import { describeSessionStore, makeRecord, newId } from '../../lib/testing';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const MIN = 60_000;
const IDLE = 30 * MIN;

type Client = ReturnType<typeof createClient>;

/** A prefix no other run shares (hash tag included, as in production), so parallel runs never collide. */
function testPrefix(): string {
  return `{nsk-test-${randomBytes(6).toString('hex')}}:`;
}

async function keysUnder(client: Client, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) keys.push(...batch);
  return keys.sort();
}

async function deleteUnder(client: Client, prefix: string): Promise<void> {
  const keys = await keysUnder(client, prefix);
  if (keys.length > 0) await client.del(keys);
}

async function connectAdmin(): Promise<Client> {
  const client = createClient({ url: REDIS_URL, socket: { reconnectStrategy: false, connectTimeout: 3000 } });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    throw new Error(
      `Redis is not reachable at ${REDIS_URL} (${(err as Error).message}); the Redis store tests need it. Start it with ` +
        '`redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no`.',
    );
  }
  return client;
}

describeSessionStore(
  'redis',
  async () => {
    const prefix = testPrefix();
    const store = await RedisSessionStore.connect({ url: REDIS_URL, prefix, connectTimeoutMs: 3000 });
    return {
      store,
      cleanup: async () => {
        await store.close();
        const admin = await connectAdmin();
        try {
          await deleteUnder(admin, prefix);
        } finally {
          admin.destroy();
        }
      },
    };
  },
  { describe, it, beforeAll, afterAll },
);

describe('RedisSessionStore specifics', () => {
  let admin: Client;
  let store: RedisSessionStore;
  let prefix: string;
  const read = (id: string, now: number, touchIntervalMs = MIN) => store.read(id, { now, idleTimeoutMs: IDLE, touchIntervalMs });

  beforeAll(async () => {
    admin = await connectAdmin();
  });
  afterAll(async () => {
    admin?.destroy();
  });
  beforeEach(async () => {
    prefix = testPrefix();
    store = await RedisSessionStore.connect({ url: REDIS_URL, prefix, connectTimeoutMs: 3000 });
  });
  afterEach(async () => {
    await store?.close();
    if (admin) await deleteUnder(admin, prefix);
  });

  describe('one command per authenticated read', () => {
    /**
     * Counts, with MONITOR, the commands that the store's own connection sends. MONITOR lists each command a
     * client sends as `[db addr]`, and the commands a script runs inside it as `[db lua]`; filtering on the
     * store's address counts round trips exactly, even with other suites using the same Redis meanwhile.
     */
    async function countCommands(client: Client, work: () => Promise<void>): Promise<{ commands: string[]; evalshaDelta: number }> {
      const info = await client.sendCommand<string>(['CLIENT', 'INFO']);
      const addr = /\baddr=(\S+)/.exec(info)?.[1];
      if (!addr) throw new Error(`CLIENT INFO gave no addr: ${info}`);
      const marker = `nsk-count-done-${randomBytes(4).toString('hex')}`;
      const commands: string[] = [];
      let sawMarker: () => void = () => undefined;
      const done = new Promise<void>((resolve) => (sawMarker = resolve));
      const monitor = admin.duplicate();
      monitor.on('error', () => undefined);
      await monitor.connect();
      const before = await evalshaCalls();
      try {
        await monitor.monitor((line: string) => {
          if (!line.includes(`[0 ${addr}]`)) return;
          if (line.includes(marker)) sawMarker();
          else commands.push(/\] "([^"]+)"/.exec(line)?.[1]?.toLowerCase() ?? line);
        });
        await work();
        // MONITOR lines arrive asynchronously: wait for a marker sent after the work.
        await client.sendCommand(['ECHO', marker]);
        await done;
      } finally {
        monitor.destroy();
      }
      return { commands, evalshaDelta: (await evalshaCalls()) - before };
    }

    /** Server-wide EVALSHA count from INFO commandstats (shared server: only a lower bound for our part). */
    async function evalshaCalls(): Promise<number> {
      const stats = await admin.info('commandstats');
      return Number(/cmdstat_evalsha:calls=(\d+)/.exec(stats)?.[1] ?? 0);
    }

    async function storeWithOwnClient(): Promise<{ client: Client; counted: RedisSessionStore }> {
      const client = createClient({ url: REDIS_URL, disableOfflineQueue: true });
      client.on('error', () => undefined);
      await client.connect();
      return { client, counted: new RedisSessionStore({ client, prefix }) };
    }

    it.each([
      ['no touch due', 10 * IDLE],
      ['a touch due on every read', 0],
    ])('100 reads with %s cost exactly 100 EVALSHA', async (label, touchIntervalMs) => {
      const { client, counted } = await storeWithOwnClient();
      try {
        const id = newId();
        const t0 = Date.now();
        await counted.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        // Warm-up: loads the script into Redis' cache if it was not there (EVAL once after a restart).
        await counted.read(id, { now: t0, idleTimeoutMs: IDLE, touchIntervalMs });
        let last: SessionRecord | undefined;
        const { commands, evalshaDelta } = await countCommands(client, async () => {
          for (let i = 1; i <= 100; i++) {
            const got = await counted.read(id, { now: t0 + i, idleTimeoutMs: IDLE, touchIntervalMs });
            if (got.status !== 'active') throw new Error(`read ${i}: ${got.status}`);
            last = got.record;
          }
        });
        console.log(`[redis] ${label}: ${commands.length} commands sent for 100 reads (${[...new Set(commands)].join(', ')})`);
        expect(commands).toEqual(Array(100).fill('evalsha'));
        expect(evalshaDelta).toBeGreaterThanOrEqual(100);
        // The touches really were written (inside those same commands), or really were skipped.
        const stored = await counted.read(id, { now: t0 + 100, idleTimeoutMs: IDLE, touchIntervalMs: 10 * IDLE });
        const expectedLastSeen = touchIntervalMs === 0 ? t0 + 100 : t0;
        expect(last?.lastSeenAt).toBe(expectedLastSeen);
        expect(stored.status === 'active' && stored.record.lastSeenAt).toBe(expectedLastSeen);
        expect(stored.status === 'active' && stored.record.idleExpiresAt).toBe(expectedLastSeen + IDLE);
      } finally {
        client.destroy();
      }
    });
    // The NOSCRIPT fallback (EVAL after Redis lost its script cache) is counted in
    // test/integration/redis-outage.spec.ts, on a private server: SCRIPT FLUSH here would hit every suite
    // sharing this Redis.
  });

  describe('key layout', () => {
    it('writes only <prefix>s:, u: and c: keys, each with a TTL', async () => {
      const t0 = Date.now();
      const userId = 'user-' + newId();
      const a = newId();
      const b = newId();
      const c = newId();
      await store.create(a, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 0 });
      await store.create(b, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 0 });
      await store.rotate(b, c, { now: t0, graceMs: 10_000, changes: {} });
      await read(a, t0 + 5 * MIN);
      await store.update(a, 1, { data: { x: 1 } }, t0 + 5 * MIN);
      await store.increment('login:203.0.113.7', 60_000, t0);
      await store.requireRotationForUser(userId);

      const keys = await keysUnder(admin, prefix);
      expect(keys).toEqual(
        [`${prefix}c:login:203.0.113.7`, `${prefix}s:${a}`, `${prefix}s:${b}`, `${prefix}s:${c}`, `${prefix}u:${userId}`].sort(),
      );
      for (const key of keys) {
        const ttl = await admin.pTTL(key);
        expect({ key, positive: ttl > 0 }).toEqual({ key, positive: true });
      }
      // GC deadlines: a session just after its idle deadline (+ slack), a pointer just after its grace, a
      // counter just after its window, the index just after the absolute deadline.
      expect(await admin.pTTL(`${prefix}s:${b}`)).toBeLessThanOrEqual(10_000 + 60_000);
      expect(await admin.pTTL(`${prefix}c:login:203.0.113.7`)).toBeLessThanOrEqual(60_000 + 60_000);
      expect(await admin.pTTL(`${prefix}s:${a}`)).toBeGreaterThan(IDLE - 5 * MIN);
      expect(await admin.pTTL(`${prefix}s:${a}`)).toBeLessThanOrEqual(IDLE + 60_000);
      expect(await admin.pTTL(`${prefix}u:${userId}`)).toBeGreaterThan(11 * 60 * MIN);
    });

    it('stores the record as a hash with data as JSON text, and the pointer as {successor, graceUntil}', async () => {
      const t0 = Date.now();
      const id = newId();
      const next = newId();
      const rec = makeRecord(t0, { data: { list: [], n: 0.1 + 0.2 } });
      await store.create(id, rec, { now: t0, maxConcurrent: 0 });
      const hash = await admin.hGetAll(`${prefix}s:${id}`);
      expect(hash.data).toBe(JSON.stringify(rec.data));
      expect(hash.createdAt).toBe(String(t0));
      await store.rotate(id, next, { now: t0, graceMs: 5000, changes: {} });
      expect(await admin.hGetAll(`${prefix}s:${id}`)).toEqual({ successor: next, graceUntil: String(t0 + 5000) });
      // Arrays and float precision survive the trip through Lua untouched.
      const got = await read(next, t0);
      expect(got.status === 'active' && got.record.data).toEqual({ list: [], n: 0.1 + 0.2 });
    });
  });

  describe('the per-user index prunes itself', () => {
    it('drops members whose session Redis deleted or that expired, on list and count', async () => {
      const t0 = Date.now();
      const userId = 'user-' + newId();
      const live = newId();
      const gone = newId();
      const expiring = newId();
      await store.create(live, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 0 });
      await store.create(gone, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 0 });
      await store.create(expiring, makeRecord(t0, { userId, idleExpiresAt: t0 + 1000 }), { now: t0, maxConcurrent: 0 });
      await admin.del(`${prefix}s:${gone}`); // as if Redis had expired it
      expect(await admin.zCard(`${prefix}u:${userId}`)).toBe(3);

      expect((await store.listByUser(userId, t0 + 1000)).map((s) => s.id)).toEqual([live]);
      expect(await admin.zRange(`${prefix}u:${userId}`, 0, -1)).toEqual([live]);
      expect(await admin.exists(`${prefix}s:${expiring}`)).toBe(0);
    });

    it('create drops index members whose session key is gone, even without a concurrency limit', async () => {
      const t0 = Date.now();
      const userId = 'user-' + newId();
      const old = [newId(), newId(), newId()];
      for (const id of old) await store.create(id, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 0 });
      for (const id of old) await admin.del(`${prefix}s:${id}`);
      const fresh = newId();
      await store.create(fresh, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 0 });
      expect(await admin.zRange(`${prefix}u:${userId}`, 0, -1)).toEqual([fresh]);
    });

    it('destroyByHandle and requireRotationForUser skip and drop dead members', async () => {
      const t0 = Date.now();
      const userId = 'user-' + newId();
      const live = newId();
      const gone = newId();
      const rec = makeRecord(t0, { userId });
      await store.create(gone, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 0 });
      await store.create(live, rec, { now: t0, maxConcurrent: 0 });
      await admin.del(`${prefix}s:${gone}`);
      expect(await store.requireRotationForUser(userId)).toBe(1);
      expect(await admin.zRange(`${prefix}u:${userId}`, 0, -1)).toEqual([live]);
      expect(await store.destroyByHandle(userId, rec.handle)).toMatchObject({ handle: rec.handle, rotateRequired: true });
      expect(await admin.exists(`${prefix}u:${userId}`)).toBe(0);
    });
  });

  describe('corrupted or foreign data reads as missing, never a throw', () => {
    const cases: [string, (key: string) => Promise<unknown>][] = [
      ['a plain string (not JSON)', (key) => admin.set(key, 'not json {')],
      ['a JSON string of a record', (key) => admin.set(key, JSON.stringify(makeRecord(Date.now())))],
      ['a list', (key) => admin.rPush(key, ['a', 'b'])],
      ['a hash missing fields', (key) => admin.hSet(key, { handle: 'h', userId: 'u' })],
      ['a hash whose data is not JSON', (key) => admin.hSet(key, { ...encodeForTest(makeRecord(Date.now())), data: '{oops' })],
      ['a hash whose data is an array', (key) => admin.hSet(key, { ...encodeForTest(makeRecord(Date.now())), data: '[1,2]' })],
      ['a hash with a non-numeric deadline', (key) => admin.hSet(key, { ...encodeForTest(makeRecord(Date.now())), idleExpiresAt: 'soon' })],
      ['a hash with NaN numbers', (key) => admin.hSet(key, { ...encodeForTest(makeRecord(Date.now())), version: 'nan' })],
      ['a pointer without a deadline', (key) => admin.hSet(key, { successor: newId() })],
    ];

    it.each(cases)('%s', async (_label, write) => {
      const t0 = Date.now();
      const id = newId();
      await write(`${prefix}s:${id}`);
      expect(await read(id, t0)).toEqual({ status: 'missing' });
      expect(await read(id, t0, 0)).toEqual({ status: 'missing' });
      expect(await store.update(id, 1, { data: {} }, t0)).toEqual({ status: 'missing' });
      expect(await store.rotate(id, newId(), { now: t0, graceMs: 1000, changes: {} })).toEqual({ status: 'missing' });
      // It still exists, so the id cannot be reused by create.
      await expect(store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 })).rejects.toThrow(/already exists/);
      expect(await store.destroy(id)).toBeNull();
      expect(await admin.exists(`${prefix}s:${id}`)).toBe(0);
    });

    it('a corrupted index member is dropped, not returned', async () => {
      const t0 = Date.now();
      const userId = 'user-' + newId();
      const bad = newId();
      await admin.zAdd(`${prefix}u:${userId}`, { score: t0, value: bad });
      await admin.set(`${prefix}s:${bad}`, 'garbage');
      expect(await store.listByUser(userId, t0)).toEqual([]);
      expect(await store.countByUser(userId, t0)).toBe(0);
      expect(await store.destroyByUser(userId)).toEqual([]);
    });

    it('a corrupted counter restarts at 1', async () => {
      const t0 = Date.now();
      await admin.set(`${prefix}c:k`, 'garbage');
      expect(await store.increment('k', 1000, t0)).toEqual({ count: 1, resetAt: t0 + 1000 });
    });
  });

  describe('connection handling', () => {
    it('never closes a client it was given', async () => {
      const client = createClient({ url: REDIS_URL });
      client.on('error', () => undefined);
      await client.connect();
      const shared = await RedisSessionStore.connect({ client, prefix });
      await shared.ping();
      await shared.close();
      expect(client.isReady).toBe(true);
      expect(await client.ping()).toBe('PONG');
      await expect(shared.ping()).rejects.toThrow(/store is closed/);
      client.destroy();
    });

    it('rejects a client that is not connected with a message saying so', async () => {
      const client = createClient({ url: REDIS_URL });
      const shared = new RedisSessionStore({ client, prefix });
      await expect(shared.ping()).rejects.toThrow(/client you passed is not connected/);
      await expect(shared.read(newId(), { now: Date.now(), idleTimeoutMs: IDLE, touchIntervalMs: MIN })).rejects.toBeInstanceOf(
        RedisStoreUnavailableError,
      );
    });

    it('fails fast and clearly when Redis is not there at start-up', async () => {
      const started = Date.now();
      const attempt = RedisSessionStore.connect({ url: 'redis://127.0.0.1:1', prefix, connectTimeoutMs: 500 });
      await expect(attempt).rejects.toBeInstanceOf(RedisStoreUnavailableError);
      await expect(attempt).rejects.toThrow(/Redis is unreachable at redis:\/\/127\.0\.0\.1:1.*Check that Redis is running/);
      expect(Date.now() - started).toBeLessThan(3000);
    });

    it('keeps passwords out of error messages', async () => {
      const attempt = RedisSessionStore.connect({ url: 'redis://:s3cret@127.0.0.1:1', prefix, connectTimeoutMs: 200 });
      await expect(attempt).rejects.toThrow(/redis:\/\/:\*\*\*@127\.0\.0\.1:1/);
      await expect(attempt).rejects.not.toThrow(/s3cret/);
    });

    it('validates its options', () => {
      expect(() => new RedisSessionStore({ prefix: '' })).toThrow(/prefix/);
      expect(() => new RedisSessionStore({ commandTimeoutMs: 0 })).toThrow(/commandTimeoutMs/);
      expect(() => new RedisSessionStore({ url: REDIS_URL, client: createClient() })).toThrow(/either/);
    });

    it('refuses changes to fields that are not changeable', async () => {
      const t0 = Date.now();
      const id = newId();
      await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
      const sneaky = { successor: newId() } as unknown as Parameters<RedisSessionStore['update']>[2];
      await expect(store.update(id, 1, sneaky, t0)).rejects.toThrow(/cannot be changed/);
      expect((await read(id, t0)).status).toBe('active');
    });
  });
});

/** The stored form of a record, for planting corrupted variants of it. */
function encodeForTest(r: SessionRecord): Record<string, string> {
  return {
    handle: r.handle,
    userId: r.userId,
    createdAt: String(r.createdAt),
    lastSeenAt: String(r.lastSeenAt),
    idleExpiresAt: String(r.idleExpiresAt),
    absoluteExpiresAt: String(r.absoluteExpiresAt),
    authenticatedAt: String(r.authenticatedAt),
    rotatedAt: String(r.rotatedAt),
    aal: String(r.aal),
    rolesVersion: String(r.rolesVersion),
    rotateRequired: r.rotateRequired ? '1' : '0',
    ip: r.ip,
    userAgent: r.userAgent,
    version: String(r.version),
    data: JSON.stringify(r.data),
  };
}

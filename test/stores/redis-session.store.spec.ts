/**
 * RedisSessionStore against the real Redis at redis://127.0.0.1:6379 (started before each session and in CI).
 * If it is not reachable, every test here fails with the store's "Redis is unreachable" message: a store
 * suite that skips silently would let a broken store ship.
 */
import { randomBytes } from 'node:crypto';
import { connect, createServer, Socket } from 'node:net';
import { createClient } from 'redis';
import { isStoreConnectionError } from '../../lib/core/errors';
import { pointerWindows, ROTATION_TOMBSTONE_MS } from '../../lib/core/lifecycle';
import { SessionRecord } from '../../lib/core/session-record';
import {
  RedisSessionClient,
  RedisSessionStore,
  RedisSessionStoreError,
  RedisStoreTimeoutError,
  RedisStoreUnavailableError,
} from '../../lib/stores/redis';
import { describeSessionStore, makeRecord, newId } from '../../lib/testing';
import { freePort } from '../support/private-redis';

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
      await store.updateUserRoles(userId, ['user'], t0 + 5 * MIN);
      await store.create(newId(), makeRecord(t0, { userId }), { now: t0 + 5 * MIN, maxConcurrent: 1, onLimit: 'deny-new' });

      const keys = await keysUnder(admin, prefix);
      expect(keys).toEqual(
        [`${prefix}c:login:203.0.113.7`, `${prefix}s:${a}`, `${prefix}s:${b}`, `${prefix}s:${c}`, `${prefix}u:${userId}`].sort(),
      );
      for (const key of keys) {
        const ttl = await admin.pTTL(key);
        expect({ key, positive: ttl > 0 }).toEqual({ key, positive: true });
      }
      // GC deadlines: a session just after its idle deadline (+ slack), a pointer just after it is forgotten
      // (`until`, the tombstone window), a counter just after its window, the index just after the absolute deadline.
      expect(await admin.pTTL(`${prefix}s:${b}`)).toBeGreaterThan(ROTATION_TOMBSTONE_MS);
      expect(await admin.pTTL(`${prefix}s:${b}`)).toBeLessThanOrEqual(ROTATION_TOMBSTONE_MS + 60_000);
      expect(await admin.pTTL(`${prefix}c:login:203.0.113.7`)).toBeLessThanOrEqual(60_000 + 60_000);
      expect(await admin.pTTL(`${prefix}s:${a}`)).toBeGreaterThan(IDLE - 5 * MIN);
      expect(await admin.pTTL(`${prefix}s:${a}`)).toBeLessThanOrEqual(IDLE + 60_000);
      expect(await admin.pTTL(`${prefix}u:${userId}`)).toBeGreaterThan(11 * 60 * MIN);
    });

    it('stores the record as a hash with data as JSON text, and the pointer as {successor, graceUntil, until}', async () => {
      const t0 = Date.now();
      const id = newId();
      const next = newId();
      const rec = makeRecord(t0, { data: { list: [], n: 0.1 + 0.2 } });
      await store.create(id, rec, { now: t0, maxConcurrent: 0 });
      const hash = await admin.hGetAll(`${prefix}s:${id}`);
      expect(hash.data).toBe(JSON.stringify(rec.data));
      expect(hash.createdAt).toBe(String(t0));
      expect(hash.stage).toBe('complete');
      await store.rotate(id, next, { now: t0, graceMs: 5000, changes: {} });
      const { graceUntil, until } = pointerWindows(t0, 5000);
      expect(await admin.hGetAll(`${prefix}s:${id}`)).toEqual({ successor: next, graceUntil: String(graceUntil), until: String(until) });
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

  // The revised contract (rotation pointers with a tombstone window, writes that follow them, stage on the
  // record), checked here on Redis with the exact boundaries; the shared conformance suite covers the rest.
  describe('rotation pointers: grace, tombstone, gone', () => {
    async function rotated(graceMs: number, t0: number) {
      const id = newId();
      const next = newId();
      const rec = makeRecord(t0);
      await store.create(id, rec, { now: t0, maxConcurrent: 0 });
      const res = await store.rotate(id, next, { now: t0, graceMs, changes: { rotatedAt: t0 } });
      expect(res).toEqual({ status: 'rotated', record: { ...rec, rotatedAt: t0, version: 2 } });
      return { id, next, rec, ...pointerWindows(t0, graceMs) };
    }

    it.each([0, 1000, ROTATION_TOMBSTONE_MS, 2 * ROTATION_TOMBSTONE_MS])(
      'read of the old id with graceMs %i: successor until graceUntil, tombstone until until, then missing',
      async (graceMs) => {
        const t0 = Date.now();
        const { id, next, graceUntil, until } = await rotated(graceMs, t0);
        if (graceMs > 0) {
          const within = await read(id, graceUntil - 1);
          expect(within.status === 'active' && [within.id, within.viaGrace]).toEqual([next, true]);
        }
        if (until > graceUntil) {
          expect(await read(id, graceUntil)).toEqual({ status: 'tombstone' });
          expect(await read(id, until - 1)).toEqual({ status: 'tombstone' });
        }
        expect(await read(id, until)).toEqual({ status: 'missing' });
        expect((await read(next, t0)).status).toBe('active');
      },
    );

    it('graceMs 0 still leaves a pointer: a tombstone at once, kept for ROTATION_TOMBSTONE_MS', async () => {
      const t0 = Date.now();
      const { id, next } = await rotated(0, t0);
      expect(await admin.hGetAll(`${prefix}s:${id}`)).toEqual({
        successor: next,
        graceUntil: String(t0),
        until: String(t0 + ROTATION_TOMBSTONE_MS),
      });
      expect(await read(id, t0)).toEqual({ status: 'tombstone' });
    });

    it('rotating a rotated-away id: superseded in grace, tombstone after, missing once forgotten', async () => {
      const t0 = Date.now();
      const { id, next, rec, graceUntil, until } = await rotated(10_000, t0);
      expect(await store.rotate(id, newId(), { now: graceUntil - 1, graceMs: 10_000, changes: {} })).toEqual({
        status: 'superseded',
        id: next,
        record: { ...rec, rotatedAt: t0, version: 2 },
      });
      expect(await store.rotate(id, newId(), { now: graceUntil, graceMs: 10_000, changes: {} })).toEqual({ status: 'tombstone' });
      expect(await store.rotate(id, newId(), { now: until - 1, graceMs: 0, changes: {} })).toEqual({ status: 'tombstone' });
      expect(await store.rotate(id, newId(), { now: until, graceMs: 0, changes: {} })).toEqual({ status: 'missing' });
      expect(await store.countByUser(rec.userId, t0)).toBe(1);
    });

    it('20 parallel rotations with graceMs 0: one rotates, the others hear tombstone', async () => {
      const t0 = Date.now();
      const id = newId();
      await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
      const results = await Promise.all(
        Array.from({ length: 20 }, () => store.rotate(id, newId(), { now: t0, graceMs: 0, changes: { rotatedAt: t0 } })),
      );
      expect(results.filter((r) => r.status === 'rotated')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'tombstone')).toHaveLength(19);
    });

    it.each([
      ['in grace', 10_000, 9_999],
      ['a tombstone', 0, ROTATION_TOMBSTONE_MS - 1],
    ])('update through an id that is %s follows the pointer one hop and says where the session lives', async (_label, graceMs, later) => {
      const t0 = Date.now();
      const { id, next, rec } = await rotated(graceMs, t0);
      // A write computed before the rotation (version 1) conflicts at the successor: rotation bumped the version.
      const stale = await store.update(id, 1, { data: { stale: true } }, t0 + later);
      expect(stale).toEqual({ status: 'conflict', id: next, record: { ...rec, rotatedAt: t0, version: 2 } });
      const ok = await store.update(id, 2, { data: { fresh: true } }, t0 + later);
      expect(ok).toEqual({ status: 'ok', id: next, record: { ...rec, rotatedAt: t0, version: 3, data: { fresh: true } } });
      const got = await read(next, t0 + later);
      expect(got.status === 'active' && got.record.data).toEqual({ fresh: true });
      // The pointer itself is untouched.
      expect((await admin.hGetAll(`${prefix}s:${id}`)).successor).toBe(next);
    });

    it('update through a forgotten pointer is missing, and never follows two hops', async () => {
      const t0 = Date.now();
      const { id, next, until } = await rotated(0, t0);
      expect(await store.update(id, 2, { data: {} }, until)).toEqual({ status: 'missing' });
      const third = newId();
      await store.rotate(next, third, { now: t0, graceMs: 10_000, changes: {} });
      // id -> next -> third: one hop from id lands on a pointer, which is not a session.
      expect(await store.update(id, 3, { data: {} }, t0)).toEqual({ status: 'missing' });
      expect(await read(id, t0)).toEqual({ status: 'tombstone' });
      expect(await store.update(next, 3, { data: { via: 'next' } }, t0)).toMatchObject({ status: 'ok', id: third });
    });

    it('update at the live id reports that id', async () => {
      const t0 = Date.now();
      const id = newId();
      await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
      expect(await store.update(id, 1, { aal: 2 }, t0)).toMatchObject({ status: 'ok', id, record: { aal: 2, version: 2 } });
      expect(await store.update(id, 1, { aal: 1 }, t0)).toMatchObject({ status: 'conflict', id, record: { aal: 2, version: 2 } });
    });

    it('destroy through a tombstone ends the successor too', async () => {
      const t0 = Date.now();
      const { id, next, rec } = await rotated(0, t0);
      expect(await store.destroy(id)).toEqual({ ...rec, rotatedAt: t0, version: 2 });
      expect(await read(next, t0)).toEqual({ status: 'missing' });
      expect(await admin.exists(`${prefix}s:${id}`)).toBe(0);
      expect(await store.countByUser(rec.userId, t0)).toBe(0);
    });

    it('a pointer written before `until` existed is remembered for its grace window only', async () => {
      const t0 = Date.now();
      const id = newId();
      const next = newId();
      await store.create(next, makeRecord(t0), { now: t0, maxConcurrent: 0 });
      await admin.hSet(`${prefix}s:${id}`, { successor: next, graceUntil: String(t0 + 1000) });
      expect((await read(id, t0 + 999)).status).toBe('active');
      expect(await read(id, t0 + 1000)).toEqual({ status: 'missing' });
      expect(await store.update(id, 1, { data: {} }, t0 + 1000)).toEqual({ status: 'missing' });
    });
  });

  describe('stage', () => {
    it('is stored and changed like any other field', async () => {
      const t0 = Date.now();
      const id = newId();
      await store.create(id, makeRecord(t0, { stage: 'pending' }), { now: t0, maxConcurrent: 0 });
      expect(await admin.hGet(`${prefix}s:${id}`, 'stage')).toBe('pending');
      const got = await read(id, t0);
      expect(got.status === 'active' && got.record.stage).toBe('pending');
      expect(await store.update(id, 1, { stage: 'complete', aal: 2 }, t0)).toMatchObject({
        status: 'ok',
        record: { stage: 'complete', aal: 2 },
      });
      const next = newId();
      await store.rotate(id, next, { now: t0, graceMs: 0, changes: { stage: 'pending' } });
      const moved = await read(next, t0);
      expect(moved.status === 'active' && moved.record.stage).toBe('pending');
    });

    it('a record stored before the field existed reads as complete, and takes a stage on its first write', async () => {
      const t0 = Date.now();
      const id = newId();
      const rec = makeRecord(t0);
      const { stage: _stage, ...legacy } = encodeForTest(rec);
      await admin.hSet(`${prefix}s:${id}`, legacy);
      await admin.zAdd(`${prefix}u:${rec.userId}`, { score: t0, value: id });
      expect(await read(id, t0)).toEqual({ status: 'active', id, record: rec, viaGrace: false });
      expect((await store.listByUser(rec.userId, t0)).map((s) => s.record.stage)).toEqual(['complete']);
      expect(await store.update(id, 1, { stage: 'pending' }, t0)).toEqual({
        status: 'ok',
        id,
        record: { ...rec, stage: 'pending', version: 2 },
      });
      expect(await admin.hGet(`${prefix}s:${id}`, 'stage')).toBe('pending');
    });

    it('refuses a stage that is not one of SESSION_STAGES', async () => {
      const t0 = Date.now();
      const id = newId();
      await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
      const bad = { stage: 'half' } as unknown as Parameters<RedisSessionStore['update']>[2];
      await expect(store.update(id, 1, bad, t0)).rejects.toThrow(/stage must be one of pending, complete/);
    });
  });

  describe('roles, tier, impersonatedBy, idleTimeoutMs', () => {
    it("are hash fields: roles as JSON text, tier as the word, '' for a null impersonatedBy or idleTimeoutMs", async () => {
      const t0 = Date.now();
      const own = newId();
      const imp = newId();
      await store.create(own, makeRecord(t0, { roles: ['user', 'admin'], tier: 'remember', idleTimeoutMs: 30 * 86_400_000 }), {
        now: t0,
        maxConcurrent: 0,
      });
      await store.create(imp, makeRecord(t0, { impersonatedBy: 'admin-7' }), { now: t0, maxConcurrent: 0 });
      expect(await admin.hmGet(`${prefix}s:${own}`, ['roles', 'tier', 'impersonatedBy', 'idleTimeoutMs'])).toEqual([
        '["user","admin"]',
        'remember',
        '',
        String(30 * 86_400_000),
      ]);
      expect(await admin.hmGet(`${prefix}s:${imp}`, ['roles', 'tier', 'impersonatedBy', 'idleTimeoutMs'])).toEqual([
        '[]',
        'standard',
        'admin-7',
        '',
      ]);
    });

    it('a record stored before the fields existed reads with no roles, standard, not impersonated, on the idle timeout of the read', async () => {
      const t0 = Date.now();
      const id = newId();
      // Complete, so that it counts toward the limit below (a pending session would not, legacy or not).
      const rec = makeRecord(t0, { stage: 'complete' });
      await admin.hSet(`${prefix}s:${id}`, encodeForTest(rec));
      await admin.zAdd(`${prefix}u:${rec.userId}`, { score: t0, value: id });
      for (const field of ['roles', 'tier', 'impersonatedBy', 'idleTimeoutMs'])
        expect(Number(await admin.hExists(`${prefix}s:${id}`, field))).toBe(0);
      expect(await read(id, t0)).toEqual({ status: 'active', id, record: rec, viaGrace: false });
      expect((await store.listByUser(rec.userId, t0)).map((s) => s.record)).toEqual([rec]);
      const touched = await store.read(id, { now: t0 + 5 * MIN, idleTimeoutMs: 7 * MIN, touchIntervalMs: MIN });
      expect(touched.status === 'active' && touched.record.idleExpiresAt).toBe(t0 + 12 * MIN);
      // It counts toward the limit (it is the user's own), and takes part in role changes.
      expect(
        await store.create(newId(), makeRecord(t0 + 1, { userId: rec.userId }), {
          now: t0 + 5 * MIN,
          maxConcurrent: 1,
          onLimit: 'deny-new',
        }),
      ).toEqual({
        status: 'denied',
        live: [{ ...rec, lastSeenAt: t0 + 5 * MIN, idleExpiresAt: t0 + 12 * MIN }],
      });
      expect(await store.updateUserRoles(rec.userId, ['user'], t0 + 5 * MIN)).toBe(1);
      expect(await admin.hmGet(`${prefix}s:${id}`, ['roles', 'rotateRequired', 'rolesVersion', 'version'])).toEqual([
        '["user"]',
        '1',
        '1',
        '2',
      ]);
    });

    it('a record whose roles are not JSON, or whose tier is unknown, reads as missing', async () => {
      const t0 = Date.now();
      for (const [field, value] of [
        ['roles', '["user"'],
        ['roles', '{"a":1}'],
        ['roles', '[1]'],
        ['tier', 'gold'],
      ]) {
        const id = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        await admin.hSet(`${prefix}s:${id}`, field, value);
        expect({ field, value, got: await read(id, t0) }).toEqual({ field, value, got: { status: 'missing' } });
      }
    });
  });

  describe('errors: only connectivity failures are connection errors', () => {
    /** A stand-in client: replies and failures real Redis cannot be made to produce on demand. */
    function storeOver(sendCommand: RedisSessionClient['sendCommand']): RedisSessionStore {
      return new RedisSessionStore({ client: { sendCommand }, prefix, commandTimeoutMs: 200 });
    }
    const readAny = (s: RedisSessionStore) => s.read(newId(), { now: Date.now(), idleTimeoutMs: IDLE, touchIntervalMs: MIN });
    const failure = (s: RedisSessionStore) =>
      readAny(s).then(
        () => new Error('resolved'),
        (err: unknown) => err,
      );

    it.each([
      ['a Node socket error code', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
      ['node-redis offline', new (class ClientOfflineError extends Error {})('The client is offline')],
      ['node-redis socket closed', new (class SocketClosedUnexpectedlyError extends Error {})('Socket closed unexpectedly')],
      ['Redis loading its dataset', new (class ErrorReply extends Error {})('LOADING Redis is loading the dataset in memory')],
    ])('%s is a SessionStoreConnectionError', async (_label, err) => {
      const error = await failure(storeOver(() => Promise.reject(err)));
      expect(error).toBeInstanceOf(RedisStoreUnavailableError);
      expect(isStoreConnectionError(error)).toBe(true);
    });

    it('a WAIT that reached a replica (its master demoted by a failover) is a 503, not a bug', async () => {
      // WAIT names no key, so a node demoted since the client read the slot map answers this error, not MOVED.
      const sent: string[] = [];
      const confirming = new RedisSessionStore({
        client: {
          sendCommand: (args: readonly string[]) => {
            sent.push(args[0]);
            return args[0] === 'WAIT'
              ? Promise.reject(
                  new (class ErrorReply extends Error {})(
                    'ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.',
                  ),
                )
              : Promise.resolve(1);
          },
        },
        prefix,
        replicaAcks: 1,
        commandTimeoutMs: 200,
      });
      const error = await confirming.resetCounter('k').then(
        () => new Error('resolved'),
        (err: unknown) => err,
      );
      expect(sent).toEqual(['DEL', 'WAIT']);
      expect(error).toBeInstanceOf(RedisStoreUnavailableError);
      expect(isStoreConnectionError(error)).toBe(true);
    });

    it('a reply that never answers in time is a RedisStoreTimeoutError, a connection error', async () => {
      const error = await failure(storeOver(() => new Promise(() => undefined)));
      expect(error).toBeInstanceOf(RedisStoreTimeoutError);
      expect(isStoreConnectionError(error)).toBe(true);
    });

    it.each([
      ['an unexpected reply shape', () => Promise.resolve(42), RedisSessionStoreError, /unexpected reply/],
      ['an unknown status word', () => Promise.resolve(['maybe']), RedisSessionStoreError, /unexpected reply/],
      [
        'an error reply (out of memory)',
        () => Promise.reject(new (class ErrorReply extends Error {})('OOM command not allowed')),
        RedisSessionStoreError,
        /OOM/,
      ],
      ['a bug in the client', () => Promise.reject(new TypeError('cannot read properties of undefined')), TypeError, /cannot read/],
    ] as const)('%s is not a connection error', async (_label, send, type, message) => {
      const error = await failure(storeOver(send));
      expect(error).toBeInstanceOf(type);
      expect((error as Error).message).toMatch(message);
      expect(isStoreConnectionError(error)).toBe(false);
    });

    it('bad arguments are TypeErrors before anything is sent, not connection errors', async () => {
      const sent: unknown[] = [];
      const s = storeOver(async (args) => sent.push(args));
      const errors = await Promise.all([
        s.read('', { now: Date.now(), idleTimeoutMs: IDLE, touchIntervalMs: MIN }).catch((e: unknown) => e),
        s.read(newId(), { now: NaN, idleTimeoutMs: IDLE, touchIntervalMs: MIN }).catch((e: unknown) => e),
        s.update(newId(), 1, { data: [] as unknown as Record<string, unknown> }, Date.now()).catch((e: unknown) => e),
        s
          .create(newId(), { ...makeRecord(Date.now()), stage: 'x' } as unknown as SessionRecord, { now: Date.now(), maxConcurrent: 0 })
          .catch((e: unknown) => e),
      ]);
      for (const error of errors) {
        expect(error).toBeInstanceOf(TypeError);
        expect(isStoreConnectionError(error)).toBe(false);
      }
      expect(sent).toEqual([]);
    });

    it('a reply that came in while the process was blocked past the timeout is an answer, not a timeout', async () => {
      // A long synchronous task, a stop signal or a paused VM: Redis answers in time, the reply waits in the socket,
      // and the overdue sweeper runs before the socket is read. Each timeout counts toward the circuit breaker, so
      // timing these out answered 503 to every request for a second after each resume (seen in the benchmark,
      // which pauses idle servers with SIGSTOP).
      const quick = await RedisSessionStore.connect({ url: REDIS_URL, prefix, commandTimeoutMs: 100, connectTimeoutMs: 3000 });
      try {
        const id = newId();
        await quick.create(id, makeRecord(Date.now()), { now: Date.now(), maxConcurrent: 0 });
        // Once first, so that Redis has the read script (a NOSCRIPT reply would resend it, after the block).
        await quick.read(id, { now: Date.now(), idleTimeoutMs: IDLE, touchIntervalMs: MIN });
        const reading = quick.read(id, { now: Date.now(), idleTimeoutMs: IDLE, touchIntervalMs: MIN });
        // node-redis writes the command in a setImmediate queued by the call above; this one runs right after it.
        await new Promise<void>((resolve) =>
          setImmediate(() => {
            const until = Date.now() + 400;
            while (Date.now() < until);
            resolve();
          }),
        );
        await expect(reading).resolves.toMatchObject({ status: 'active', id });
      } finally {
        await quick.close();
      }
    });

    it('a command still waiting to be written when the process stopped gets its whole timeout after the resume', async () => {
      // node-redis writes commands from a setImmediate. Stopped in between (SIGSTOP, a paused VM, a long synchronous
      // task), the command reaches Redis only after the resume, when its deadline has passed: judged by it, the
      // first sweep timed it out before Redis could answer (the benchmark's logins on a resumed server: "create
      // timed out after 2000 ms", then a second of 503 from the circuit breaker). Through a proxy in this process,
      // Redis' answer needs a few more turns of the event loop than the sweep does, every time.
      const target = new URL(REDIS_URL);
      const proxy = await tcpServer((socket, track) => {
        const upstream = track(connect(Number(target.port || 6379), target.hostname));
        socket.pipe(upstream).pipe(socket);
      });
      const quick = await RedisSessionStore.connect({ url: `redis://127.0.0.1:${proxy.port}`, prefix, commandTimeoutMs: 100 });
      try {
        const id = newId();
        await quick.create(id, makeRecord(Date.now()), { now: Date.now(), maxConcurrent: 0 });
        await quick.read(id, { now: Date.now(), idleTimeoutMs: IDLE, touchIntervalMs: MIN });
        const reading = quick.read(id, { now: Date.now(), idleTimeoutMs: IDLE, touchIntervalMs: MIN });
        // Before node-redis' setImmediate: the command is queued, not written.
        const until = Date.now() + 400;
        while (Date.now() < until);
        await expect(reading).resolves.toMatchObject({ status: 'active', id });
      } finally {
        await quick.close();
        await proxy.close();
      }
    });

    it('an operation with no reply still times out after a block', async () => {
      const never = new RedisSessionStore({ client: { sendCommand: () => new Promise(() => undefined) }, prefix, commandTimeoutMs: 100 });
      const reading = readAny(never).catch((err: unknown) => err);
      const until = Date.now() + 300;
      while (Date.now() < until);
      expect(await reading).toBeInstanceOf(RedisStoreTimeoutError);
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

    it('connect() on a closed port rejects within connectTimeoutMs, naming the URL without credentials and what to check', async () => {
      const port = await freePort();
      const store = new RedisSessionStore({ url: `redis://admin:s3cret@127.0.0.1:${port}`, prefix, connectTimeoutMs: 500 });
      const started = performance.now();
      const error = await store.connect().then(
        () => new Error('connect() resolved on a closed port'),
        (err: unknown) => err as Error,
      );
      const elapsed = performance.now() - started;
      expect(error).toBeInstanceOf(RedisStoreUnavailableError);
      expect(isStoreConnectionError(error)).toBe(true);
      expect(error.message).toBe(
        `Redis session store: Redis at redis://127.0.0.1:${port} did not answer within 500 ms (connection refused). ` +
          'Check that Redis is running and reachable from this host, and that the `url` option (often REDIS_URL) points to it; ' +
          'raise connectTimeoutMs only if Redis is known to start slowly.',
      );
      expect(error.message).not.toMatch(/s3cret|admin/);
      expect(elapsed).toBeLessThan(500 + 250);
      await store.close();
    });

    it('connect() keeps to connectTimeoutMs when something silent listens on the port', async () => {
      // A TCP server that accepts and never answers: a wrong port, or a host that stalls. node-redis alone would
      // wait a socket timeout and a backoff delay per attempt; the store keeps to its own budget.
      const silent = await tcpServer(() => undefined);
      const port = silent.port;
      try {
        for (const url of [`redis://127.0.0.1:${port}`, `redis://:pw@127.0.0.1:${port}`]) {
          const store = new RedisSessionStore({ url, prefix, connectTimeoutMs: 400, commandTimeoutMs: 5000 });
          const started = performance.now();
          await expect(store.connect()).rejects.toThrow(`Redis at redis://127.0.0.1:${port} did not answer within 400 ms (no reply)`);
          expect(performance.now() - started).toBeLessThan(400 + 250);
          await store.close();
        }
      } finally {
        await silent.close();
      }
    });

    it('connect() with credentials Redis refuses says so, and is not a connection error (retrying would not help)', async () => {
      const target = new URL(REDIS_URL);
      target.username = 'nsk-no-such-user';
      target.password = 'wr0ng-s3cret';
      const store = new RedisSessionStore({ url: target.toString(), prefix, connectTimeoutMs: 2000 });
      const started = performance.now();
      const error = await store.connect().then(
        () => new Error('connect() resolved with a user that does not exist'),
        (err: unknown) => err as Error,
      );
      expect(error).toBeInstanceOf(RedisSessionStoreError);
      expect(isStoreConnectionError(error)).toBe(false);
      expect(error.message).toMatch(/refused the connection \(WRONGPASS.*Check the user name and password in the url/);
      expect(error.message).not.toMatch(/wr0ng-s3cret|nsk-no-such-user/);
      expect(performance.now() - started).toBeLessThan(1000);
      await store.close();
    });

    it('connect() can be tried again after it failed, and then serves', async () => {
      // The same store, first pointed at a port where nothing listens: a proxy started later stands for Redis
      // coming up after the application.
      const port = await freePort();
      const store = new RedisSessionStore({ url: `redis://127.0.0.1:${port}`, prefix, connectTimeoutMs: 300 });
      await expect(store.connect()).rejects.toBeInstanceOf(RedisStoreUnavailableError);
      const target = new URL(REDIS_URL);
      const proxy = await tcpServer((socket, track) => {
        const upstream = track(connect(Number(target.port || 6379), target.hostname));
        socket.pipe(upstream).pipe(socket);
      }, port);
      try {
        await store.connect();
        const t0 = Date.now();
        const id = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        expect((await read(id, t0)).status).toBe('active');
      } finally {
        await store.close();
        await proxy.close();
      }
    });

    it('new RedisSessionStore({ url }) then connect() serves a create and a read (what SessionModule does at start-up)', async () => {
      const own = new RedisSessionStore({ url: REDIS_URL, prefix });
      try {
        await Promise.all([own.connect(), own.connect()]); // concurrent calls share one connection attempt
        await own.connect(); // and a later call only checks that Redis answers
        const t0 = Date.now();
        const id = newId();
        const rec = makeRecord(t0);
        await own.create(id, rec, { now: t0, maxConcurrent: 0 });
        expect(await own.read(id, { now: t0, idleTimeoutMs: IDLE, touchIntervalMs: MIN })).toEqual({
          status: 'active',
          id,
          record: rec,
          viaGrace: false,
        });
      } finally {
        await own.close();
      }
    });

    it('before connect(), operations say how to connect', async () => {
      const own = new RedisSessionStore({ url: REDIS_URL, prefix });
      await expect(own.ping()).rejects.toThrow(/call `await store.connect\(\)`/);
      await expect(own.ping()).rejects.toBeInstanceOf(RedisStoreUnavailableError);
      await own.close();
    });

    it('rejects a url that is not a Redis URL with a message saying what is expected', () => {
      expect(() => new RedisSessionStore({ url: 'cache.internal:6379' })).toThrow(/not a Redis URL.*redis:\/\/HOST:PORT/);
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

/**
 * A TCP server on 127.0.0.1 (`port` 0: any free one) that keeps track of its sockets, so `close()` ends them
 * all: a socket left open would keep jest from exiting.
 */
async function tcpServer(
  onConnection: (socket: Socket, track: (s: Socket) => Socket) => void,
  port = 0,
): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    return socket;
  };
  const server = createServer((socket) => onConnection(track(socket), track));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

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
    stage: r.stage,
    data: JSON.stringify(r.data),
  };
}

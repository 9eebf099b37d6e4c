/**
 * MemcachedSessionStore against the real memcached on 127.0.0.1:11211 (scripts/ensure-services.sh starts it, and
 * CI). If it is not reachable, every test here fails with a message that says how to start it: a store suite that
 * skips silently would let a broken store ship. The outage tests run their own memcached on a free port.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, Server, Socket } from 'node:net';
import { MemcacheClient } from 'memcache-client';
import { isStoreConnectionError } from '../../lib/core/errors';
import { ROTATION_TOMBSTONE_MS } from '../../lib/core/lifecycle';
import { SessionRecord } from '../../lib/core/session-record';
import { MemcachedSessionStore, MemcachedSessionStoreError, MemcachedStoreUnavailableError } from '../../lib/stores/memcached';
import { lifetime } from '../../lib/stores/memcached/memcached-session.store';
import { describeSessionStore, EvictionTarget, makeRecord, newId } from '../../lib/testing';
import { freePort, PrivateMemcached } from '../support/private-memcached';

const SERVER = process.env.MEMCACHED_URL ?? '127.0.0.1:11211';
const MIN = 60_000;
const QUIET = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** A prefix no other run shares, so parallel runs on the shared memcached never collide. */
function testPrefix(): string {
  return `nsk-test-${randomBytes(6).toString('hex')}:`;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');

/** The keys of the store's layout (the layout test below pins them). */
const keys = (prefix: string) => ({
  route: (id: string) => `${prefix}s:${id}`,
  user: (userId: string) => `${prefix}u:${sha256(userId)}`,
  counter: (key: string) => `${prefix}c:${sha256(key)}`,
});

/** A client of the test's own, to look at and delete items behind the store's back. */
async function connectAdmin(server = SERVER): Promise<MemcacheClient> {
  const client = new MemcacheClient({ server, cmdTimeout: 3000, connectTimeout: 3000, logger: QUIET });
  try {
    await client.version();
  } catch (err) {
    client.shutdown();
    throw new Error(
      `memcached is not reachable at ${server} (${(err as Error).message}); the memcached store tests need it. Start it with ` +
        '`bash scripts/ensure-services.sh` or `memcached -d -u root -l 127.0.0.1 -p 11211`.',
    );
  }
  return client;
}

function evictor(admin: () => MemcacheClient, prefix: string) {
  const k = keys(prefix);
  return async (target: EvictionTarget) => {
    const key = target.kind === 'session' ? k.route(target.id) : target.kind === 'user' ? k.user(target.userId) : k.counter(target.key);
    await admin()
      .delete(key)
      .catch((error: Error) => {
        if (error.message !== 'NOT_FOUND') throw error;
      });
  };
}

let suiteAdmin: MemcacheClient | undefined;

describeSessionStore(
  'memcached',
  async () => {
    const prefix = testPrefix();
    suiteAdmin = await connectAdmin();
    const store = await MemcachedSessionStore.connect({ server: SERVER, prefix, connectTimeoutMs: 3000 });
    return {
      store,
      // memcached cannot list keys: the test items expire with their sessions (their TTLs), under a prefix of their own.
      cleanup: async () => {
        await store.close();
        suiteAdmin?.shutdown();
      },
      capabilities: { evictsEntries: true, survivesRestart: false },
      evict: evictor(() => suiteAdmin as MemcacheClient, prefix),
    };
  },
  { describe, it, beforeAll, afterAll },
);

describe('MemcachedSessionStore specifics', () => {
  let admin: MemcacheClient;
  let prefix: string;
  let store: MemcachedSessionStore;
  const read = (s: MemcachedSessionStore, id: string, now: number) => s.read(id, { now, idleTimeoutMs: 30 * MIN, touchIntervalMs: MIN });

  beforeAll(async () => {
    admin = await connectAdmin();
    prefix = testPrefix();
    store = await MemcachedSessionStore.connect({ server: SERVER, prefix });
  });
  afterAll(async () => {
    await store?.close();
    admin?.shutdown();
  });

  describe('key layout', () => {
    it('keeps a route per id and every session and pointer of a user in one item, each with an expiry', async () => {
      const t0 = Date.now();
      const k = keys(prefix);
      const rec = makeRecord(t0);
      const [id, next] = [newId(), newId()];
      await store.create(id, rec, { now: t0, maxConcurrent: 0 });
      await store.rotate(id, next, { now: t0, graceMs: 10_000, changes: { rotatedAt: t0 } });
      for (const routed of [id, next]) {
        const route = await admin.get<string>(k.route(routed));
        expect(JSON.parse(route.value)).toEqual({ u: rec.userId });
      }
      const item = JSON.parse((await admin.get<string>(k.user(rec.userId))).value) as {
        s: Record<string, SessionRecord>;
        p: Record<string, unknown>;
      };
      expect(Object.keys(item.s)).toEqual([next]);
      expect(item.s[next]).toEqual({ ...rec, rotatedAt: t0, version: 2 });
      expect(item.p[id]).toEqual({ successor: next, graceUntil: t0 + 10_000, until: t0 + ROTATION_TOMBSTONE_MS });
      await store.increment('login:alice', 60_000, t0);
      expect(JSON.parse((await admin.get<string>(k.counter('login:alice'))).value)).toEqual({ n: 1, r: t0 + 60_000 });
      // The store's lifetimes count from the caller's clock: seconds left, or past memcached's 30-day limit a Unix time
      // (this host's time plus what is left), or -1 when nothing is left. A clock far from the real time changes nothing.
      const virtual = t0 + 7 * 24 * 3600_000;
      expect(lifetime(virtual + 10_500, virtual)).toBe(12);
      const before = Math.ceil(Date.now() / 1000);
      const far = lifetime(virtual + 90 * 24 * 3600_000, virtual);
      expect(far).toBeGreaterThanOrEqual(before + 90 * 24 * 3600 + 1);
      expect(far).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 90 * 24 * 3600 + 1);
      expect(lifetime(virtual - 5000, virtual)).toBe(-1);
    });

    it('destroying the last session removes the user item and the route', async () => {
      const t0 = Date.now();
      const k = keys(prefix);
      const rec = makeRecord(t0);
      const id = newId();
      await store.create(id, rec, { now: t0, maxConcurrent: 0 });
      await store.destroy(id);
      expect(await admin.get(k.user(rec.userId))).toBeUndefined();
      expect(await admin.get(k.route(id))).toBeUndefined();
    });
  });

  describe('check-and-set with real parallel writers', () => {
    it('two store instances (two connections) patching different sessions of one user, with touches, lose nothing', async () => {
      const t0 = Date.now();
      const other = await MemcachedSessionStore.connect({ server: SERVER, prefix });
      try {
        const userId = 'u-' + newId();
        const ids = [newId(), newId(), newId()];
        for (const id of ids) await store.create(id, makeRecord(t0, { userId, data: { n: [] } }), { now: t0, maxConcurrent: 0 });
        // Every write is a check-and-set of the one user item: 3 sessions x 15 writers, half on each instance,
        // with reads that touch (now moves) among them.
        const writer = async (s: MemcachedSessionStore, id: string, n: number) => {
          for (let attempt = 0; attempt < 500; attempt++) {
            const cur = await read(s, id, t0 + n * MIN);
            if (cur.status !== 'active') throw new Error(`writer ${n} found ${cur.status}`);
            const res = await s.update(id, cur.record.version, { data: { n: [...(cur.record.data.n as number[]), n] } }, t0 + n * MIN);
            if (res.status === 'ok') return;
          }
          throw new Error('too many conflicts');
        };
        await Promise.all(ids.flatMap((id) => Array.from({ length: 15 }, (_, n) => writer(n % 2 ? other : store, id, n))));
        for (const id of ids) {
          const got = await read(store, id, t0 + 20 * MIN);
          expect(got.status).toBe('active');
          if (got.status !== 'active') return;
          expect([...(got.record.data.n as number[])].sort((a, b) => a - b)).toEqual(Array.from({ length: 15 }, (_, n) => n));
          expect(got.record.version).toBe(16);
        }
      } finally {
        await other.close();
      }
    });

    it('parallel logins on two instances hold the limit exactly, and parallel increments count exactly', async () => {
      const t0 = Date.now();
      const other = await MemcachedSessionStore.connect({ server: SERVER, prefix });
      try {
        const userId = 'u-' + newId();
        const results = await Promise.all(
          Array.from({ length: 16 }, (_, i) =>
            (i % 2 ? other : store).create(newId(), makeRecord(t0 + i, { userId }), { now: t0 + i, maxConcurrent: 3, onLimit: 'deny-new' }),
          ),
        );
        expect(results.filter((r) => r.status === 'created')).toHaveLength(3);
        expect(await store.countByUser(userId, t0 + 20)).toBe(3);
        const key = 'k-' + newId();
        const counts = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? other : store).increment(key, 60_000, t0)));
        expect(counts.map((c) => c.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      } finally {
        await other.close();
      }
    });
  });

  describe('eviction and corruption read as logged out', () => {
    it('an evicted route of a rotated-away id ends only the old id; the successor lives', async () => {
      const t0 = Date.now();
      const [id, next] = [newId(), newId()];
      await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
      await store.rotate(id, next, { now: t0, graceMs: 10_000, changes: {} });
      await admin.delete(keys(prefix).route(id));
      expect(await read(store, id, t0)).toEqual({ status: 'missing' });
      expect((await read(store, next, t0)).status).toBe('active');
    });

    it('an evicted route of the successor logs the session out, through the old id too', async () => {
      const t0 = Date.now();
      const rec = makeRecord(t0);
      const [id, next] = [newId(), newId()];
      await store.create(id, rec, { now: t0, maxConcurrent: 0 });
      await store.rotate(id, next, { now: t0, graceMs: 10_000, changes: {} });
      await admin.delete(keys(prefix).route(next));
      expect(await read(store, next, t0)).toEqual({ status: 'missing' });
      // The old id's pointer still names it, but the listing (which checks routes) has dropped it: the pointer leads nowhere.
      expect(await store.listByUser(rec.userId, t0)).toEqual([]);
      expect(await read(store, id, t0)).toEqual({ status: 'missing' });
    });

    it('a corrupted user item or route reads as missing, never a throw; a corrupted counter restarts at 1', async () => {
      const t0 = Date.now();
      const k = keys(prefix);
      const rec = makeRecord(t0);
      const id = newId();
      await store.create(id, rec, { now: t0, maxConcurrent: 0 });
      await admin.set(k.user(rec.userId), '{"s":{"x":', { lifetime: 60 });
      expect(await read(store, id, t0)).toEqual({ status: 'missing' });
      const id2 = newId();
      await store.create(id2, makeRecord(t0), { now: t0, maxConcurrent: 0 });
      await admin.set(k.route(id2), 'not json', { lifetime: 60 });
      expect(await read(store, id2, t0)).toEqual({ status: 'missing' });
      const key = 'k-' + newId();
      await admin.set(k.counter(key), '{"n":"x"}', { lifetime: 60 });
      expect((await store.increment(key, 1000, t0)).count).toBe(1);
    });
  });

  describe('limits and options', () => {
    it("a user's sessions beyond maxItemBytes are refused with a message that says what to change", async () => {
      const small = new MemcachedSessionStore({ server: SERVER, prefix, maxItemBytes: 4096 });
      try {
        const t0 = Date.now();
        const userId = 'u-' + newId();
        await small.create(newId(), makeRecord(t0, { userId }), { now: t0, maxConcurrent: 0 });
        const big = small.create(newId(), makeRecord(t0, { userId, data: { blob: 'x'.repeat(5000) } }), { now: t0, maxConcurrent: 0 });
        await expect(big).rejects.toBeInstanceOf(MemcachedSessionStoreError);
        await expect(big).rejects.toThrow(/more than maxItemBytes \(4096\).*memcached -I/);
        expect(isStoreConnectionError(await big.catch((e: unknown) => e))).toBe(false);
        // Nothing was stored, the id included: it can be used once the data fits.
        const id = newId();
        await expect(
          small.create(id, makeRecord(t0, { userId, data: { blob: 'x'.repeat(5000) } }), { now: t0, maxConcurrent: 0 }),
        ).rejects.toThrow(/maxItemBytes/);
        expect(await small.create(id, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 0 })).toEqual({
          status: 'created',
          evicted: [],
        });
      } finally {
        await small.close();
      }
    });

    it('bad options stop construction with every problem listed', () => {
      expect(() => new MemcachedSessionStore({ server: 'memcached://x', prefix: 'has space', commandTimeoutMs: 0 })).toThrow(
        /server must be host:port.*prefix must be.*commandTimeoutMs must be a positive integer/,
      );
      const lenient = new MemcacheClient({ server: SERVER, ignoreNotStored: true, logger: QUIET });
      expect(() => new MemcachedSessionStore({ client: lenient })).toThrow(/ignoreNotStored: true; give the store a client without it/);
      lenient.shutdown();
    });

    it('an operation after close() is a 503 that says so, not a silent new connection', async () => {
      const closing = await MemcachedSessionStore.connect({ server: SERVER, prefix });
      await closing.close();
      const failure = read(closing, newId(), Date.now());
      await expect(failure).rejects.toBeInstanceOf(MemcachedStoreUnavailableError);
      await expect(failure).rejects.toThrow(
        `read after close() (memcached at ${SERVER}). close() was called on this store; create a new one.`,
      );
      await expect(closing.ping()).rejects.toThrow('ping after close()');
    });

    it('close() never shuts down a client passed in', async () => {
      const client = new MemcacheClient({ server: SERVER, logger: QUIET });
      try {
        const mine = new MemcachedSessionStore({ client, prefix });
        await mine.connect();
        await mine.close();
        expect(await client.version()).toEqual(['VERSION', expect.any(String)]);
      } finally {
        client.shutdown();
      }
    });
  });

  describe('a real, full memcached (private, 2 MB)', () => {
    /**
     * Writes `count` items (noreply, then one round trip to wait for them) with keys and values as long as those of
     * `like`, so they land in the same memcached slab classes as the store's items: memcached evicts, or refuses
     * writes, per class.
     */
    async function flood(client: MemcacheClient, like: { key: string; value: string }[], count: number, tag: string): Promise<string[]> {
      const keys: string[] = [];
      for (const item of like) {
        const value = 'y'.repeat(item.value.length);
        for (let n = 0; n < count; n++) {
          const key = `${tag}-${keys.length}-`.padEnd(item.key.length, 'k');
          keys.push(key);
          void client.set(key, value, { lifetime: 300, noreply: true });
        }
      }
      await client.version();
      return keys;
    }

    /** The store's items of a user's session, a route and the counter, as stored: what `flood` imitates. */
    async function itemsOf(client: MemcacheClient, prefix: string, id: string, userId: string, key: string) {
      const k = keys(prefix);
      const found: { key: string; value: string }[] = [];
      for (const name of [k.route(id), k.user(userId), k.counter(key)]) {
        const got = await client.get<string>(name);
        if (got) found.push({ key: name, value: got.value });
      }
      return found;
    }

    it('evicts sessions under memory pressure: they read as missing (logged out), never as active or an error', async () => {
      const server = new PrivateMemcached(await freePort(), ['-m', '2']);
      await server.start();
      const small = await MemcachedSessionStore.connect({ server: server.server });
      const other = await connectAdmin(server.server);
      try {
        const t0 = Date.now();
        const userId = 'u-' + newId();
        const ids = [newId(), newId()];
        for (const id of ids) await small.create(id, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 2 });
        const key = 'k-' + newId();
        await small.increment(key, 60_000, t0);
        const stored = await itemsOf(other, 'nsk:', ids[0], userId, key);
        expect(stored).toHaveLength(3);
        // Other traffic fills the cache with items of the same sizes: memcached's LRU drops the oldest, the sessions' too.
        await flood(other, stored, 20_000, 'filler');
        expect(await itemsOf(other, 'nsk:', ids[0], userId, key)).toEqual([]);
        for (const id of ids) expect(await read(small, id, t0)).toEqual({ status: 'missing' });
        expect(await small.countByUser(userId, t0)).toBe(0);
        expect((await small.increment(key, 60_000, t0)).count).toBe(1);
        // The user signs in again, under the same limit.
        const again = newId();
        expect(await small.create(again, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 2 })).toEqual({
          status: 'created',
          evicted: [],
        });
        expect((await read(small, again, t0)).status).toBe('active');
      } finally {
        other.shutdown();
        await small.close();
        await server.dispose();
      }
    });

    it('a memcached that refuses writes when full (-M) gives 503 errors that say so, and serves again once there is room', async () => {
      const server = new PrivateMemcached(await freePort(), ['-m', '2', '-M']);
      await server.start();
      const full = await MemcachedSessionStore.connect({ server: server.server });
      const other = await connectAdmin(server.server);
      try {
        const t0 = Date.now();
        const userId = 'u-' + newId();
        const id = newId();
        await full.create(id, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 0 });
        const like = await itemsOf(other, 'nsk:', id, userId, 'none');
        const fillers = await flood(other, like, 20_000, 'filler');
        const failure = full.create(newId(), makeRecord(t0, { userId }), { now: t0, maxConcurrent: 0 });
        await expect(failure).rejects.toBeInstanceOf(MemcachedStoreUnavailableError);
        await expect(failure).rejects.toThrow(/is out of memory and refuses writes .*Give it more memory \(-m\)/);
        expect((await read(full, id, t0)).status).toBe('active');
        for (const filler of fillers) void other.delete(filler, { noreply: true });
        await other.version();
        const again = newId();
        await full.create(again, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 0 });
        expect((await read(full, again, t0)).status).toBe('active');
      } finally {
        other.shutdown();
        await full.close();
        await server.dispose();
      }
    });
  });

  describe('outages: 503, then recovery by itself', () => {
    it('connect() names host:port and what to check when nothing listens there', async () => {
      const port = await freePort();
      const down = new MemcachedSessionStore({ server: `127.0.0.1:${port}`, connectTimeoutMs: 2000 });
      try {
        const failure = down.connect();
        await expect(failure).rejects.toBeInstanceOf(MemcachedStoreUnavailableError);
        await expect(failure).rejects.toThrow(`memcached at 127.0.0.1:${port} did not answer within 2000 ms (connect ECONNREFUSED`);
        await expect(failure).rejects.toThrow(/Check that memcached is running .* MEMCACHED_URL/);
        expect(isStoreConnectionError(await failure.catch((e: unknown) => e))).toBe(true);
      } finally {
        await down.close();
      }
    });

    it('a memcached that accepts but never answers: the command times out as a connection error (503)', async () => {
      const sockets: Socket[] = [];
      const silent: Server = createServer((socket) => sockets.push(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const port = (silent.address() as { port: number }).port;
      const stalled = new MemcachedSessionStore({ server: `127.0.0.1:${port}`, commandTimeoutMs: 300 });
      try {
        const failure = read(stalled, newId(), Date.now());
        await expect(failure).rejects.toBeInstanceOf(MemcachedStoreUnavailableError);
        await expect(failure).rejects.toThrow(/unreachable at 127\.0\.0\.1:\d+ \(Command timeout: no answer within 300 ms\)/);
      } finally {
        await stalled.close();
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => silent.close(resolve));
      }
    });

    it('a reply that came in while the process was blocked past the timeout is an answer, not a timeout', async () => {
      // A long synchronous task, a stop signal or a paused VM: memcached answers in time, the reply waits in the
      // socket, and a timeout judged from a timer runs before the socket is read. memcache-client's own cmdTimeout
      // then shut the connection and failed the read with a 503 (the benchmark, which pauses idle servers with
      // SIGSTOP, does this to every server it resumes).
      // A private memcached: its get counter then moves only for this test's commands.
      const server = new PrivateMemcached(await freePort());
      await server.start();
      const quick = await MemcachedSessionStore.connect({ server: server.server, commandTimeoutMs: 100 });
      try {
        const t0 = Date.now();
        const id = newId();
        await quick.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        expect((await read(quick, id, t0)).status).toBe('active');
        const seen = await server.commandsGet();
        const reading = read(quick, id, t0);
        // memcache-client writes the command from a microtask of the call above; these hops run after it, and no I/O
        // is read before the block ends. The block lasts until memcached has processed the get (so its reply waits in
        // the socket, however slowly a loaded machine ran memcached) and 400 ms, four times the timeout, have passed.
        for (let i = 0; i < 50; i++) await null;
        server.blockUntilServed(seen, Date.now() + 400);
        await expect(reading).resolves.toMatchObject({ status: 'active' });
      } finally {
        await quick.close();
        await server.dispose();
      }
    });

    it('a stalled memcached: 503 after commandTimeoutMs, and the store serves again on a new connection once it answers', async () => {
      const server = new PrivateMemcached(await freePort());
      await server.start();
      const stalling = await MemcachedSessionStore.connect({ server: server.server, commandTimeoutMs: 200, connectTimeoutMs: 1000 });
      try {
        const t0 = Date.now();
        const id = newId();
        await stalling.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        server.pause();
        const started = Date.now();
        const failures = await Promise.all(
          [read(stalling, id, t0), stalling.ping()].map((p) =>
            p.then(
              () => undefined,
              (e: unknown) => e,
            ),
          ),
        );
        const waited = Date.now() - started;
        for (const failure of failures) {
          expect(failure).toBeInstanceOf(MemcachedStoreUnavailableError);
          expect(String((failure as Error).message)).toContain('Command timeout: no answer within 200 ms');
        }
        // Bounded by the deadline plus one sweep (25 ms here), with room for a busy machine.
        expect(waited).toBeGreaterThanOrEqual(190);
        expect(waited).toBeLessThan(1500);
        server.resume();
        // No reconnect call: the timed-out connection was shut down and the next command opens a new one.
        expect((await read(stalling, id, t0)).status).toBe('active');
      } finally {
        await stalling.close();
        await server.dispose();
      }
    });

    it('a killed memcached gives SessionStoreConnectionError; restarted, the store serves again (every session lost, as documented)', async () => {
      const server = new PrivateMemcached(await freePort());
      await server.start();
      const outage = await MemcachedSessionStore.connect({ server: server.server, commandTimeoutMs: 1000, connectTimeoutMs: 1000 });
      try {
        const t0 = Date.now();
        const id = newId();
        const rec = makeRecord(t0);
        await outage.create(id, rec, { now: t0, maxConcurrent: 0 });
        expect((await read(outage, id, t0)).status).toBe('active');
        await server.kill();
        for (const attempt of [
          () => read(outage, id, t0),
          () => outage.create(newId(), makeRecord(t0), { now: t0, maxConcurrent: 0 }),
          () => outage.increment('k', 1000, t0),
          () => outage.ping(),
        ]) {
          const error = await attempt().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(isStoreConnectionError(error)).toBe(true);
          expect(String((error as Error).message)).toContain(server.server);
        }
        await server.start();
        // No reconnect call: the next command connects again. A restart kept nothing: the session is gone (logged out).
        expect(await read(outage, id, t0)).toEqual({ status: 'missing' });
        const again = newId();
        await outage.create(again, makeRecord(t0, { userId: rec.userId }), { now: t0, maxConcurrent: 1 });
        expect((await read(outage, again, t0)).status).toBe('active');
        await outage.ping();
      } finally {
        await outage.close();
        await server.dispose();
      }
    });
  });
});

/**
 * The attempt-counter contract on every backend: memory, Redis (the shared server, under a prefix of this run),
 * PostgreSQL and MariaDB (a table of this run in the shared `test` database, dropped after) and SQLite. A missing
 * server fails these tests; it never skips them.
 */
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { DataSource, DataSourceOptions } from 'typeorm';
import { AttemptCounterStoreUnavailableError, InMemoryAttemptCounterStore } from '../../lib';
import { RedisAttemptCounterStore } from '../../lib/stores/redis';
import { TypeOrmAttemptCounterStore } from '../../lib/stores/typeorm';
import { describeAttemptCounterStore } from '../../lib/testing';

jest.setTimeout(60_000);

const hooks = { describe, it, beforeAll, afterAll };
const run = randomBytes(4).toString('hex');

describeAttemptCounterStore('memory', async () => ({ store: new InMemoryAttemptCounterStore() }), hooks);

describeAttemptCounterStore(
  'redis',
  async () => {
    const client = createClient({ url: 'redis://127.0.0.1:6379', disableOfflineQueue: true });
    client.on('error', () => undefined);
    await client.connect();
    return { store: new RedisAttemptCounterStore({ client, prefix: `nsk-test:${run}:attempts:` }), cleanup: () => client.close() };
  },
  hooks,
);

const sql: Record<string, DataSourceOptions> = {
  postgres: { type: 'postgres', host: '127.0.0.1', port: 5432, username: 'postgres', database: 'test' },
  mariadb: { type: 'mariadb', host: '127.0.0.1', port: 3306, username: 'root', password: '', database: 'test' },
  sqlite: { type: 'better-sqlite3', database: ':memory:' },
};
for (const [name, options] of Object.entries(sql)) {
  describeAttemptCounterStore(
    name,
    async () => {
      const dataSource = await new DataSource(options).initialize();
      const tableName = `nsk_attempts_${run}`;
      const store = await TypeOrmAttemptCounterStore.open({ dataSource, tableName });
      // Idempotent: opening again finds the table and its index.
      await store.createTable();
      return {
        store,
        cleanup: async () => {
          await dataSource.query(`DROP TABLE IF EXISTS ${tableName}`);
          await dataSource.destroy();
        },
      };
    },
    hooks,
  );
}

describe('InMemoryAttemptCounterStore bounds', () => {
  it('forgets, once a minute on a write, the counters whose window has ended (memory follows recent clients)', async () => {
    const store = new InMemoryAttemptCounterStore();
    let now = Date.parse('2026-11-30T10:00:00Z');
    const sizes: number[] = [];
    // An hour of new clients: 500 a minute, each failing twice with a 5-minute window.
    for (let minute = 0; minute < 60; minute++, now += 60_000) {
      for (let i = 0; i < 500; i++) {
        await store.increment([{ key: `client-${minute}-${i}`, ttlMs: 5 * 60_000 }], now);
        await store.increment([{ key: `client-${minute}-${i}`, ttlMs: 5 * 60_000 }], now + 1);
      }
      sizes.push(store.size);
    }
    // Without the sweep: 30,000 counters at the end, all kept until the store is full.
    expect(Math.max(...sizes)).toBeLessThanOrEqual(6 * 500);
    // What is still counting is kept.
    expect((await store.read([`client-59-0`], now))[0].count).toBe(2);
  });

  it('stays within maxEntries by forgetting single failures, never repeated ones (a flood cannot flush a lock)', async () => {
    const store = new InMemoryAttemptCounterStore({ maxEntries: 10 });
    const now = Date.now();
    await store.increment([{ key: 'victim', ttlMs: 60_000 }], now);
    await store.increment([{ key: 'victim', ttlMs: 60_000 }], now);
    for (let i = 0; i < 1000; i++) await store.increment([{ key: `flood-${i}`, ttlMs: 60_000 }], now);
    expect(store.size).toBe(10);
    expect((await store.read(['victim'], now))[0].count).toBe(2);
  });

  it("keeps a client's rate-limit window through a flood of new keys (hits are held like failures)", async () => {
    const store = new InMemoryAttemptCounterStore({ maxEntries: 10 });
    const now = Date.now();
    const hit = (key: string) => store.hit({ key, windowMs: 60_000, limit: 2, blockMs: 0 }, now);
    await hit('client');
    await hit('client');
    for (let i = 0; i < 1000; i++) await hit(`flood-${i}`);
    expect(store.size).toBe(10);
    expect(await hit('client')).toEqual({ count: 3, resetAt: now + 60_000 });
  });

  it('fails closed (unavailable, 503) when every counter holds repeated failures', async () => {
    const store = new InMemoryAttemptCounterStore({ maxEntries: 2 });
    const now = Date.now();
    for (const key of ['a', 'a', 'b', 'b']) await store.increment([{ key, ttlMs: 60_000 }], now);
    await expect(store.increment([{ key: 'c', ttlMs: 60_000 }], now)).rejects.toBeInstanceOf(AttemptCounterStoreUnavailableError);
    // Once their window ended, room is made again.
    await expect(store.increment([{ key: 'c', ttlMs: 60_000 }], now + 60_000)).resolves.toEqual([{ count: 1, lastAt: now + 60_000 }]);
  });
});

describe('RedisAttemptCounterStore outage', () => {
  it('turns a connection failure into AttemptCounterStoreUnavailableError (fail closed), a Redis error reply into a bug', async () => {
    const down = new RedisAttemptCounterStore({
      client: { sendCommand: () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })) },
    });
    await expect(down.read(['k'], Date.now())).rejects.toBeInstanceOf(AttemptCounterStoreUnavailableError);
    const buggy = new RedisAttemptCounterStore({
      client: { sendCommand: () => Promise.reject(new Error('ERR wrong number of arguments')) },
    });
    await expect(buggy.read(['k'], Date.now())).rejects.not.toBeInstanceOf(AttemptCounterStoreUnavailableError);
  });
});

/**
 * The token-store contract (`lib/tokens/token-store.ts`) on every backend: Redis (the shared server, under a key
 * prefix of this run, deleted after) and TypeORM on PostgreSQL (a schema of this run), MariaDB (a database of this
 * run) and SQLite (a temporary file), each built by the store's own migration and dropped after. A missing server
 * fails these tests with a message saying how to start it; it never skips them. Then what only some backends have:
 * Redis outages and script-cache loss, the SQL migration and single-query revocation check.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { AddressInfo, Server, Socket, connect as connectTcp, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { DataSource, DataSourceOptions, Logger as TypeOrmLogger } from 'typeorm';
import { InMemoryTokenStore } from '../../lib';
import { isStoreConnectionError } from '../../lib/core/errors';
import { RedisTokenStore } from '../../lib/stores/redis';
import { TOKEN_ENTITIES, TOKEN_MIGRATIONS, TypeOrmTokenStore } from '../../lib/stores/typeorm';
import { describeTokenStore, TokenStoreFixture } from '../../lib/testing';
import { TokenStoreUnavailableError } from '../../lib/tokens/token-store';
import { PrivateRedis, freePort } from '../support/private-redis';

jest.setTimeout(60_000);

const hooks = { describe, it, beforeAll, afterAll };
const run = `${process.pid}_${randomBytes(3).toString('hex')}`;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

type RedisClient = ReturnType<typeof createClient>;

/** A connected client of the shared Redis, or a failure saying how to start it. */
async function redisClient(url = REDIS_URL): Promise<RedisClient> {
  const client = createClient({ url, disableOfflineQueue: true, socket: { reconnectStrategy: false } });
  client.on('error', () => undefined);
  await client.connect().catch((error: Error) => {
    throw new Error(
      `Redis is not reachable at ${url} (${error.message}). These tests need it running; start it with: ` +
        'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no',
    );
  });
  return client;
}

async function deleteKeys(client: RedisClient, pattern: string): Promise<void> {
  for await (const keys of client.scanIterator({ MATCH: pattern, COUNT: 1000 })) if (keys.length > 0) await client.del(keys);
}

/** The Redis fixture: a store sharing a client the test owns, as an app shares the session store's. */
async function redisFixture(prefix: string): Promise<TokenStoreFixture & { client: RedisClient }> {
  const client = await redisClient();
  const store = new RedisTokenStore({ client, prefix });
  await store.connect();
  return {
    client,
    store,
    corruptToken: async ({ tokenId, userId }) => void (await client.hSet(`${prefix}{u:${userId}}:t:${tokenId}`, 'idleExpiresAt', 'soon')),
    corruptFamily: async ({ familyId, userId }) => void (await client.hSet(`${prefix}{u:${userId}}:f:${familyId}`, 'createdAt', 'x')),
    cleanup: async () => {
      await deleteKeys(client, `${prefix}*`);
      await store.close();
      client.destroy();
    },
  };
}

describeTokenStore('memory', async () => ({ store: new InMemoryTokenStore() }), hooks);
describeTokenStore('redis', () => redisFixture(`{nsk-tok-${run}}:`), hooks);

/** Counts the statements TypeORM runs. */
class StatementLog implements TypeOrmLogger {
  readonly queries: string[] = [];
  logQuery(query: string): void {
    this.queries.push(query);
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}

interface SqlBackend {
  name: string;
  /** How to start it, for the failure message. */
  start: string;
  /** Creates this run's namespace; answers the DataSource options inside it and how to drop it. */
  prepare(): Promise<{ options: DataSourceOptions; drop(): Promise<void> }>;
}

const namespace = `nsk_tokens_${run}`;

async function onServer(backend: SqlBackend, options: DataSourceOptions, sql: string): Promise<void> {
  const admin = new DataSource(options);
  await admin.initialize().catch((error: Error) => {
    throw new Error(`${backend.name} is not reachable (${error.message}). These tests need it running; start it with: ${backend.start}`);
  });
  try {
    await admin.query(sql);
  } finally {
    await admin.destroy();
  }
}

const SQL_BACKENDS: SqlBackend[] = [
  {
    name: 'postgres',
    start: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
    async prepare() {
      const base = { type: 'postgres', host: '127.0.0.1', port: 5432, username: 'postgres', database: 'test' } as const;
      await onServer(this, base, `CREATE SCHEMA ${namespace}`);
      return { options: { ...base, schema: namespace }, drop: () => onServer(this, base, `DROP SCHEMA IF EXISTS ${namespace} CASCADE`) };
    },
  },
  {
    name: 'mariadb',
    start: 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd',
    async prepare() {
      const base = { type: 'mariadb', host: '127.0.0.1', port: 3306, username: 'root', password: '', database: 'test' } as const;
      await onServer(this, base, `CREATE DATABASE ${namespace}`);
      return {
        options: { ...base, database: namespace, charset: 'utf8mb4' },
        drop: () => onServer(this, base, `DROP DATABASE IF EXISTS ${namespace}`),
      };
    },
  },
  {
    name: 'sqlite',
    start: 'npm rebuild better-sqlite3',
    async prepare() {
      const dir = mkdtempSync(join(tmpdir(), 'nsk-tokens-'));
      return {
        options: { type: 'better-sqlite3', database: join(dir, 'tokens.sqlite') },
        drop: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
];

/** A DataSource in this run's namespace of `backend`, migrated by TOKEN_MIGRATIONS, and a store on it. */
async function sqlFixture(
  backend: SqlBackend,
  synchronize = false,
): Promise<TokenStoreFixture & { dataSource: DataSource; log: StatementLog; store: TypeOrmTokenStore }> {
  const { options, drop } = await backend.prepare();
  const log = new StatementLog();
  const dataSource = new DataSource({
    ...options,
    entities: TOKEN_ENTITIES,
    migrations: TOKEN_MIGRATIONS,
    migrationsTableName: 'nsk_token_migrations',
    logging: true,
    logger: log,
  });
  await dataSource.initialize();
  if (synchronize) await dataSource.synchronize();
  else await dataSource.runMigrations({ transaction: 'each' });
  const store = new TypeOrmTokenStore({ dataSource, cleanupIntervalMs: 0 });
  await store.connect();
  const q = (name: string) =>
    backend.name === 'mariadb' ? `\`${name}\`` : backend.name === 'postgres' ? `"${namespace}"."${name}"` : `"${name}"`;
  const p = (n: number) => (backend.name === 'postgres' ? `$${n}` : '?');
  return {
    dataSource,
    log,
    store,
    // A used token without its successor, and a family without its user: rows no write of the store produces.
    corruptToken: async ({ tokenId }) =>
      void (await dataSource.query(`UPDATE ${q('nsk_refresh_token')} SET used_at = 1, successor_id = NULL WHERE token_id = ${p(1)}`, [
        tokenId,
      ])),
    corruptFamily: async ({ familyId }) =>
      void (await dataSource.query(`UPDATE ${q('nsk_refresh_family')} SET user_id = '' WHERE family_id = ${p(1)}`, [familyId])),
    cleanup: async () => {
      await store.close();
      await dataSource.destroy();
      await drop();
    },
  };
}

for (const backend of SQL_BACKENDS) {
  describeTokenStore(`typeorm ${backend.name}`, () => sqlFixture(backend), hooks);
}
// The same tables made by `synchronize` from TOKEN_ENTITIES instead of the migration.
describeTokenStore('typeorm sqlite (synchronize)', () => sqlFixture(SQL_BACKENDS[2], true), hooks);

const MIN = 60_000;
const family = (t0: number, userId = `user-${randomBytes(4).toString('hex')}`) => ({
  familyId: randomBytes(16).toString('base64url'),
  userId,
  clientId: 'client-a',
  scope: 'read',
  aal: 1,
  authTime: t0,
  createdAt: t0,
  absoluteExpiresAt: t0 + 60 * MIN,
});
const tokenId = () => randomBytes(32).toString('base64url');
const rotation = (id: string, now: number) => ({
  tokenId: id,
  successorId: tokenId(),
  sealedSuccessor: 'sealed',
  now,
  idleTimeoutMs: 15 * MIN,
  graceMs: 10_000,
});

/** Calls per command from INFO commandstats (the test's own INFO and CONFIG left out). */
async function commandStats(client: RedisClient): Promise<Record<string, number>> {
  const stats: Record<string, number> = {};
  for (const m of (await client.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+),.*?rejected_calls=(\d+)/gm)) {
    if (m[1] === 'info' || m[1].startsWith('config|')) continue;
    stats[m[1]] = Number(m[2]) + Number(m[3]);
  }
  return stats;
}

/** Every method of the contract once, for a user whose family and token exist. */
function everyMethod(store: RedisTokenStore | TypeOrmTokenStore, t0: number, userId: string, token: string, familyId: string) {
  return {
    createFamily: () => store.createFamily(family(t0), tokenId(), t0, 15 * MIN),
    rotateRefresh: () => store.rotateRefresh(rotation(token, t0 + 1)),
    revokeFamilyOfToken: () => store.revokeFamilyOfToken(tokenId(), t0),
    revokeFamily: () => store.revokeFamily(familyId, t0 + 2),
    revokeAllForUser: () => store.revokeAllForUser(userId, t0, t0 + MIN, t0 + 3),
    listFamilies: () => store.listFamilies(userId, t0),
    denyAccessToken: () => store.denyAccessToken(`iss ${tokenId()}`, t0 + MIN, t0),
    denySession: () => store.denySession('sid', t0 + MIN, t0),
    checkAccess: () => store.checkAccess({ userId, jti: `iss ${tokenId()}`, issuedAt: t0, sid: 'sid' }, t0),
    ping: () => store.ping(),
  };
}

describe('RedisTokenStore on a private redis-server', () => {
  let redis: PrivateRedis;
  let store: RedisTokenStore;
  let admin: RedisClient;

  beforeAll(async () => {
    redis = new PrivateRedis(await freePort());
    await redis.start();
    store = new RedisTokenStore({ url: redis.url, commandTimeoutMs: 1000 });
    await store.connect();
    admin = await redisClient(redis.url);
  });
  afterAll(async () => {
    await store?.close();
    if (admin?.isOpen) admin.destroy();
    await redis?.dispose();
  });

  it('a reply that came in while the process was blocked past commandTimeoutMs is an answer, not a timeout', async () => {
    const check = { userId: 'u', jti: 'iss j', issuedAt: 1 };
    const expected = await store.checkAccess(check, 2);
    const real = await redisClient(redis.url);
    try {
      // node-redis writes in a setImmediate queued by its sendCommand; the block is queued right after it, so Redis gets
      // the command and answers while this process cannot run (a long synchronous task, a paused process).
      const blocked = new RedisTokenStore({
        client: {
          sendCommand: (args) => {
            const reply = real.sendCommand([...args]);
            setImmediate(() => {
              const until = Date.now() + 300;
              while (Date.now() < until);
            });
            return reply;
          },
        },
        commandTimeoutMs: 50,
      });
      await expect(blocked.checkAccess(check, 2)).resolves.toEqual(expected);
    } finally {
      real.destroy();
    }
  });

  it('a command still waiting to be written when the process stopped gets its whole timeout after the resume', async () => {
    // node-redis writes from a setImmediate; stopped before it (SIGSTOP, a paused VM, a long synchronous task), the
    // command reaches Redis only after the resume, past its deadline. Through a proxy in this process, the answer
    // needs more turns of the event loop than the first sweep after the resume.
    const sockets = new Set<Socket>();
    const proxy = createServer((client) => {
      const upstream = connectTcp(redis.port, '127.0.0.1');
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => sockets.delete(socket));
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxied = await redisClient(`redis://127.0.0.1:${(proxy.address() as AddressInfo).port}`);
    try {
      const check = { userId: 'u', jti: 'iss j', issuedAt: 1 };
      const expected = await store.checkAccess(check, 2);
      const stopping = new RedisTokenStore({
        client: {
          sendCommand: (args) => {
            const reply = proxied.sendCommand([...args]);
            // Queued, not written: the process stops now.
            const until = Date.now() + 300;
            while (Date.now() < until);
            return reply;
          },
        },
        commandTimeoutMs: 50,
      });
      await expect(stopping.checkAccess(check, 2)).resolves.toEqual(expected);
      await stopping.close();
    } finally {
      proxied.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('sends ONE command per operation: an EVALSHA, or for checkAccess one MGET (INFO commandstats)', async () => {
    const t0 = Date.now();
    const f = family(t0);
    const first = tokenId();
    await store.createFamily(f, first, t0, 15 * MIN);
    const methods = everyMethod(store, t0, f.userId, first, f.familyId);
    for (const call of Object.values(methods)) await call(); // every script cached
    const counts: Record<string, Record<string, number>> = {};
    for (const [name, call] of Object.entries(everyMethod(store, t0, f.userId, tokenId(), f.familyId))) {
      await admin.configResetStat();
      await call();
      const stats = await commandStats(admin);
      counts[name] = stats;
      const sent = (stats.evalsha ?? 0) + (stats.mget ?? 0) + (stats.ping ?? 0);
      expect({ name, sent }).toEqual({ name, sent: 1 });
    }
    expect(counts.checkAccess).toEqual({ mget: 1 });
    expect(counts.rotateRefresh.evalsha).toBe(1);
  });

  it('runs again after Redis lost its script cache (EVAL once, then EVALSHA)', async () => {
    const t0 = Date.now();
    const f = family(t0);
    const first = tokenId();
    await store.createFamily(f, first, t0, 15 * MIN);
    await admin.scriptFlush();
    await admin.configResetStat();
    expect((await store.rotateRefresh(rotation(first, t0 + 1))).status).toBe('rotated');
    const stats = await commandStats(admin);
    expect(stats.evalsha).toBe(1); // answered NOSCRIPT
    expect(stats.eval).toBe(1);
  });

  it('keeps every key no longer than its deadline (PTTL against the caller-given deadlines)', async () => {
    const t0 = Date.now();
    const f = { ...family(t0), absoluteExpiresAt: t0 + 20 * MIN };
    const first = tokenId();
    await store.createFamily(f, first, t0, 15 * MIN);
    await store.denyAccessToken('iss j', t0 + 5 * MIN, t0);
    const ttl = async (key: string) => admin.pTTL(`{nsk}:tok:${key}`);
    expect(await ttl(`{u:${f.userId}}:f:${f.familyId}`)).toBeLessThanOrEqual(20 * MIN);
    expect(await ttl(`{u:${f.userId}}:f:${f.familyId}`)).toBeGreaterThan(19 * MIN);
    expect(await ttl(`{u:${f.userId}}:t:${first}`)).toBeLessThanOrEqual(15 * MIN);
    expect(await ttl(`r:${first}`)).toBeLessThanOrEqual(15 * MIN);
    expect(await ttl('j:iss j')).toBeLessThanOrEqual(5 * MIN);
    // A successor's idle deadline is capped at the family's absolute deadline: rotated 10 min in, it lives 10 min, not 15.
    const next = rotation(first, t0 + 10 * MIN);
    await store.rotateRefresh(next);
    expect(await ttl(`{u:${f.userId}}:t:${next.successorId}`)).toBeLessThanOrEqual(10 * MIN);
    expect(await ttl(`{u:${f.userId}}:t:${next.successorId}`)).toBeGreaterThan(9 * MIN);
  });

  it("prunes the user's index of families Redis has expired as new families are created", async () => {
    const t0 = Date.now();
    const userId = `user-${randomBytes(4).toString('hex')}`;
    const gone = Array.from({ length: 5 }, (_, i) => ({ ...family(t0 + i, userId) }));
    for (const f of gone) await store.createFamily(f, tokenId(), t0, 15 * MIN);
    // As Redis does at each family's absolute deadline: the family key disappears, its index entry stays.
    for (const f of gone) await admin.del(`{nsk}:tok:{u:${userId}}:f:${f.familyId}`);
    expect(await admin.zCard(`{nsk}:tok:{u:${userId}}:fams`)).toBe(5);
    const live = family(t0 + 10, userId);
    await store.createFamily(live, tokenId(), t0, 15 * MIN);
    expect(await admin.zRange(`{nsk}:tok:{u:${userId}}:fams`, 0, -1)).toEqual([live.familyId]);
  });

  it('fails closed with TokenStoreUnavailableError on every method while Redis is down, and recovers by itself', async () => {
    const t0 = Date.now();
    const f = family(t0);
    const first = tokenId();
    await store.createFamily(f, first, t0, 15 * MIN);
    await redis.signal('SIGKILL');
    for (const [name, call] of Object.entries(everyMethod(store, t0, f.userId, first, f.familyId))) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect({ name, unavailable: error instanceof TokenStoreUnavailableError }).toEqual({ name, unavailable: true });
      expect(isStoreConnectionError(error)).toBe(true);
    }
    await redis.start();
    // The store's own client reconnects with a capped backoff (at most 2 s between attempts).
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        await store.ping();
        break;
      } catch (error) {
        if (!(error instanceof TokenStoreUnavailableError) || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const again = family(Date.now());
    await store.createFamily(again, tokenId(), Date.now(), 15 * MIN);
    expect(await store.listFamilies(again.userId, Date.now())).toEqual([again]);
  });
});

describe('RedisTokenStore failures and options', () => {
  it('throws TokenStoreUnavailableError from every method with a client pointed at a closed port', async () => {
    const port = await freePort();
    const client = createClient({ url: `redis://127.0.0.1:${port}`, disableOfflineQueue: true, socket: { reconnectStrategy: false } });
    client.on('error', () => undefined);
    await expect(client.connect()).rejects.toBeDefined();
    const store = new RedisTokenStore({ client });
    const t0 = Date.now();
    for (const [name, call] of Object.entries(everyMethod(store, t0, 'u', tokenId(), 'f'))) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect({ name, unavailable: error instanceof TokenStoreUnavailableError }).toEqual({ name, unavailable: true });
    }
    await expect(store.connect()).rejects.toBeInstanceOf(TokenStoreUnavailableError);
  });

  it('stops start-up with a message naming the URL when its own client cannot connect', async () => {
    const port = await freePort();
    const store = new RedisTokenStore({ url: `redis://user:secret@127.0.0.1:${port}`, connectTimeoutMs: 500 });
    const error = await store.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenStoreUnavailableError);
    expect((error as Error).message).toContain(`127.0.0.1:${port}`);
    expect((error as Error).message).not.toContain('secret');
    await store.close();
  });

  it('times out a stalled Redis after commandTimeoutMs as TokenStoreUnavailableError', async () => {
    const store = new RedisTokenStore({ client: { sendCommand: () => new Promise(() => undefined) }, commandTimeoutMs: 50 });
    await expect(store.checkAccess({ userId: 'u', jti: 'iss j', issuedAt: 1 }, 2)).rejects.toBeInstanceOf(TokenStoreUnavailableError);
  });

  it('reports an error reply (a bug, not an outage) as it is, and a LOADING or READONLY reply as unavailable', async () => {
    class ErrorReply extends Error {}
    const replying = (message: string) => new RedisTokenStore({ client: { sendCommand: () => Promise.reject(new ErrorReply(message)) } });
    const bug = await replying('ERR wrong number of arguments')
      .ping()
      .catch((e: unknown) => e);
    expect(bug).not.toBeInstanceOf(TokenStoreUnavailableError);
    await expect(replying('LOADING Redis is loading the dataset in memory').ping()).rejects.toBeInstanceOf(TokenStoreUnavailableError);
    // A write that reached a master demoted by a failover (or a replica behind a stale address): an outage that
    // passes, as RedisSessionStore already treats it, never a 500.
    await expect(replying("READONLY You can't write against a read only replica.").ping()).rejects.toBeInstanceOf(
      TokenStoreUnavailableError,
    );
  });

  it('refuses bad options with a message naming the option', () => {
    const client = { sendCommand: async () => 'OK' };
    expect(() => new RedisTokenStore({ client, prefix: '' })).toThrow(/prefix/);
    expect(() => new RedisTokenStore({ client, commandTimeoutMs: 0 })).toThrow(/commandTimeoutMs/);
    expect(() => new RedisTokenStore({ client, url: 'redis://x' })).toThrow(/client.*url/);
    expect(() => new RedisTokenStore({ url: 'http://[bad' })).toThrow(/url/);
  });
});

describe('TypeOrmTokenStore specifics', () => {
  const sqlite = SQL_BACKENDS.find((b) => b.name === 'sqlite') as SqlBackend;

  for (const backend of SQL_BACKENDS) {
    it(`checks an access token in ONE query on ${backend.name}`, async () => {
      const fixture = await sqlFixture(backend);
      try {
        const t0 = Date.now();
        await fixture.store.denySession('sid-1', t0 + MIN, t0);
        fixture.log.queries.length = 0;
        expect(await fixture.store.checkAccess({ userId: 'u', jti: 'iss j', issuedAt: t0, sid: 'sid-1' }, t0)).toBe('session');
        expect(fixture.log.queries).toHaveLength(1);
        fixture.log.queries.length = 0;
        expect(await fixture.store.checkAccess({ userId: 'u', jti: 'iss j', issuedAt: t0 }, t0)).toBeNull();
        expect(fixture.log.queries).toHaveLength(1);
      } finally {
        await fixture.cleanup?.();
      }
    });
  }

  it('deletes what nothing can use any more, and nothing else (deleteExpired)', async () => {
    const fixture = await sqlFixture(sqlite);
    const { store, dataSource } = fixture;
    try {
      const t0 = Date.now();
      const short = { ...family(t0), absoluteExpiresAt: t0 + MIN };
      const long = family(t0);
      const longToken = tokenId();
      await store.createFamily(short, tokenId(), t0, 15 * MIN);
      await store.createFamily(long, longToken, t0, 5 * MIN);
      const next = rotation(longToken, t0 + 1);
      await store.rotateRefresh(next);
      await store.denyAccessToken('iss j', t0 + MIN, t0);
      await store.revokeAllForUser('v', t0, t0 + 10 * MIN, t0);
      const count = async (table: string) => Number((await dataSource.query(`SELECT COUNT(*) AS n FROM ${table}`))[0].n);
      expect([await count('nsk_refresh_family'), await count('nsk_refresh_token'), await count('nsk_token_revocation')]).toEqual([2, 3, 2]);
      // At t0 + 2 min: the short family (and its token) and the jti entry are over; the long family lives on.
      expect(await store.deleteExpired(t0 + 2 * MIN)).toBe(3);
      expect([await count('nsk_refresh_family'), await count('nsk_refresh_token'), await count('nsk_token_revocation')]).toEqual([1, 2, 1]);
      // At t0 + 5 min the first token of the long family idled out; its successor (15 min from t0 + 1) did not.
      expect(await store.deleteExpired(t0 + 5 * MIN)).toBe(1);
      expect((await store.rotateRefresh(rotation(next.successorId, t0 + 5 * MIN))).status).toBe('rotated');
    } finally {
      await fixture.cleanup?.();
    }
  });

  for (const backend of SQL_BACKENDS) {
    it(`matches the entities on ${backend.name}: synchronize after the migration has nothing to change`, async () => {
      const fixture = await sqlFixture(backend);
      try {
        const pending = await fixture.dataSource.driver.createSchemaBuilder().log();
        expect(pending.upQueries.map((q) => q.query)).toEqual([]);
      } finally {
        await fixture.cleanup?.();
      }
    });
  }

  it('connect() names TOKEN_MIGRATIONS when the tables are missing', async () => {
    const dataSource = await new DataSource({ type: 'better-sqlite3', database: ':memory:' }).initialize();
    try {
      await expect(new TypeOrmTokenStore({ dataSource, cleanupIntervalMs: 0 }).connect()).rejects.toThrow(/TOKEN_MIGRATIONS/);
    } finally {
      await dataSource.destroy();
    }
  });

  it('fails closed with TokenStoreUnavailableError once the DataSource is gone, on every method', async () => {
    const fixture = await sqlFixture(SQL_BACKENDS[0]);
    const { store, dataSource } = fixture;
    const t0 = Date.now();
    const f = family(t0);
    const first = tokenId();
    await store.createFamily(f, first, t0, 15 * MIN);
    await dataSource.destroy();
    try {
      for (const [name, call] of Object.entries(everyMethod(store, t0, f.userId, first, f.familyId))) {
        const error = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect({ name, unavailable: error instanceof TokenStoreUnavailableError }).toEqual({ name, unavailable: true });
      }
    } finally {
      await dataSource.initialize();
      await fixture.cleanup?.();
    }
  });

  it('fails closed with TokenStoreUnavailableError while PostgreSQL is unreachable, and recovers by itself', async () => {
    // A TCP proxy in front of the shared server: closing it is an outage of this test's connections only.
    const sockets = new Set<Socket>();
    const listen = (port: number) =>
      new Promise<Server>((resolve) => {
        const proxy = createServer((client) => {
          const upstream = connectTcp(5432, '127.0.0.1');
          for (const socket of [client, upstream]) {
            sockets.add(socket);
            socket.on('error', () => undefined);
            socket.on('close', () => sockets.delete(socket));
          }
          client.pipe(upstream).pipe(client);
        });
        proxy.listen(port, '127.0.0.1', () => resolve(proxy));
      });
    let proxy = await listen(0);
    const port = (proxy.address() as AddressInfo).port;
    const postgres = SQL_BACKENDS[0];
    const { options, drop } = await postgres.prepare();
    const dataSource = new DataSource({
      ...options,
      port,
      migrations: TOKEN_MIGRATIONS,
      migrationsTableName: 'nsk_token_migrations',
    } as DataSourceOptions);
    await dataSource.initialize();
    try {
      await dataSource.runMigrations();
      const store = new TypeOrmTokenStore({ dataSource, cleanupIntervalMs: 0 });
      const t0 = Date.now();
      const f = family(t0);
      const first = tokenId();
      await store.createFamily(f, first, t0, 15 * MIN);
      const closed = new Promise((resolve) => proxy.close(resolve));
      sockets.forEach((socket) => socket.destroy());
      await closed;
      for (const [name, call] of Object.entries(everyMethod(store, t0, f.userId, first, f.familyId))) {
        const error = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect({ name, unavailable: error instanceof TokenStoreUnavailableError }).toEqual({ name, unavailable: true });
      }
      proxy = await listen(port);
      expect(await store.listFamilies(f.userId, t0)).toEqual([f]);
    } finally {
      proxy.close();
      sockets.forEach((socket) => socket.destroy());
      if (dataSource.isInitialized) await dataSource.destroy();
      await drop();
    }
  });

  it('refuses bad options with a message naming the option', async () => {
    const dataSource = new DataSource({ type: 'better-sqlite3', database: ':memory:' });
    expect(() => new TypeOrmTokenStore({ dataSource, cleanupIntervalMs: -1 })).toThrow(/cleanupIntervalMs/);
    expect(() => new TypeOrmTokenStore({} as never)).toThrow(/dataSource/);
  });

  it('migrates down and up again on MariaDB through the mysql driver', async () => {
    const database = `nsk_tokmig_${run}`;
    const server = { host: '127.0.0.1', port: 3306, username: 'root', password: '' } as const;
    const admin = new DataSource({ type: 'mysql', ...server, database: 'test' });
    await admin.initialize();
    await admin.query(`CREATE DATABASE ${database}`);
    const dataSource = new DataSource({ type: 'mysql', ...server, database, charset: 'utf8mb4', migrations: TOKEN_MIGRATIONS });
    try {
      await dataSource.initialize();
      await dataSource.runMigrations();
      await new TypeOrmTokenStore({ dataSource, cleanupIntervalMs: 0 }).connect();
      await dataSource.undoLastMigration();
      await expect(new TypeOrmTokenStore({ dataSource, cleanupIntervalMs: 0 }).connect()).rejects.toThrow(/TOKEN_MIGRATIONS/);
      await dataSource.runMigrations();
      const store = new TypeOrmTokenStore({ dataSource, cleanupIntervalMs: 0 });
      await store.connect();
      // Ids compare exactly (utf8mb4_bin): users differing only in case are two users.
      const t0 = Date.now();
      await store.revokeAllForUser('Alice', t0, t0 + MIN, t0);
      expect(await store.checkAccess({ userId: 'alice', jti: 'iss j', issuedAt: t0 - 1 }, t0)).toBeNull();
      expect(await store.checkAccess({ userId: 'Alice', jti: 'iss j', issuedAt: t0 - 1 }, t0)).toBe('user');
    } finally {
      if (dataSource.isInitialized) await dataSource.destroy();
      await admin.query(`DROP DATABASE IF EXISTS ${database}`);
      await admin.destroy();
    }
  });
});

/**
 * The token-store contract (`lib/tokens/token-store.ts`) on every backend: Redis (the shared server, under a key
 * prefix of this run, deleted after) and TypeORM on PostgreSQL (a schema of this run), MariaDB (a database of this
 * run) and SQLite (a temporary file), each built by the store's own migration and dropped after. A missing server
 * fails these tests with a message saying how to start it; it never skips them. Then what only some backends have:
 * Redis outages and script-cache loss, the SQL migration and single-query revocation check.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { DataSource, DataSourceOptions, Logger as TypeOrmLogger } from 'typeorm';
import { isStoreConnectionError } from '../../lib/core/errors';
import { RedisTokenStore } from '../../lib/stores/redis';
import { TOKEN_MIGRATIONS, TypeOrmTokenStore } from '../../lib/stores/typeorm';
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

// InMemoryTokenStore joins here at merge, one line: describeTokenStore('memory', async () => ({ store: new InMemoryTokenStore() }), hooks);
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
      return { options: { ...base, database: namespace, charset: 'utf8mb4' }, drop: () => onServer(this, base, `DROP DATABASE IF EXISTS ${namespace}`) };
    },
  },
  {
    name: 'sqlite',
    start: 'npm rebuild better-sqlite3',
    async prepare() {
      const dir = mkdtempSync(join(tmpdir(), 'nsk-tokens-'));
      return { options: { type: 'better-sqlite3', database: join(dir, 'tokens.sqlite') }, drop: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
];

/** A DataSource in this run's namespace of `backend`, migrated by TOKEN_MIGRATIONS, and a store on it. */
async function sqlFixture(backend: SqlBackend): Promise<TokenStoreFixture & { dataSource: DataSource; log: StatementLog; store: TypeOrmTokenStore }> {
  const { options, drop } = await backend.prepare();
  const log = new StatementLog();
  const dataSource = new DataSource({ ...options, migrations: TOKEN_MIGRATIONS, migrationsTableName: 'nsk_token_migrations', logging: true, logger: log });
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  const store = new TypeOrmTokenStore({ dataSource, cleanupIntervalMs: 0 });
  await store.connect();
  const q = (name: string) => (backend.name === 'mariadb' ? `\`${name}\`` : backend.name === 'postgres' ? `"${namespace}"."${name}"` : `"${name}"`);
  const p = (n: number) => (backend.name === 'postgres' ? `$${n}` : '?');
  return {
    dataSource,
    log,
    store,
    // A used token without its successor, and a family without its user: rows no write of the store produces.
    corruptToken: async ({ tokenId }) =>
      void (await dataSource.query(`UPDATE ${q('nsk_refresh_token')} SET used_at = 1, successor_id = NULL WHERE token_id = ${p(1)}`, [tokenId])),
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

/**
 * TypeOrmSessionStore against real servers: PostgreSQL and MariaDB on 127.0.0.1 (they must be running: a
 * missing server fails these tests, it never skips them) and SQLite through better-sqlite3.
 *
 * Each backend gets its own namespace (a PostgreSQL schema, a MariaDB database, a temporary SQLite file),
 * rebuilt from nothing by the store's own migration, so parallel test files never share tables.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { AddressInfo, Socket, connect as connectTcp, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource, DataSourceOptions, MigrationInterface, Logger as TypeOrmLogger } from 'typeorm';
import { SessionStoreConnectionError, isStoreConnectionError } from '../../lib/core/errors';
import { ROTATION_TOMBSTONE_MS, isExpired, pointerState, pointerWindows } from '../../lib/core/lifecycle';
import {
  CreateSessionTables1795676727574,
  SESSION_ENTITIES,
  SESSION_MIGRATIONS,
  SessionEntity,
  SessionPointerEntity,
  SessionRolesTierImpersonation1796400000000,
  SessionStageAndPointerUntil1796007977546,
  TypeOrmSessionStore,
  TypeOrmSessionStoreOptions,
} from '../../lib/stores/typeorm';
import { describeDatabase, isConnectionFailure } from '../../lib/stores/typeorm/connection-errors';
import { SESSION_COLUMNS, sessionValues } from '../../lib/stores/typeorm/session-row';
import { Connection, Dialect } from '../../lib/stores/typeorm/sql-dialect';
import { describeSessionStore, makeRecord, newId } from '../../lib/testing';

// jest.config.js sets testTimeout on the integration project, but Jest reads testTimeout only globally: without
// this the default 5 s applies, which the contract's 50-writer test can exceed on a loaded machine.
jest.setTimeout(60_000);

const MIN = 60_000;
const IDLE = 30 * MIN;
/** Schemas (PostgreSQL) or databases (MariaDB) of this file: the conformance run, the specifics, scratch. */
const NAMESPACES = { contract: 'nsk_typeorm_contract', spec: 'nsk_typeorm_spec', scratch: 'nsk_typeorm_scratch' } as const;
type Namespace = keyof typeof NAMESPACES;
const MIGRATIONS_TABLE = 'nsk_spec_migrations';
const TABLES = ['nsk_session', 'nsk_session_pointer', 'nsk_counter', MIGRATIONS_TABLE];

type BackendName = 'postgres' | 'mariadb' | 'sqlite';

/** Counts the statements TypeORM runs, so tests can see how the store talks to the database. */
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

interface Backend {
  name: BackendName;
  /** The server's TCP port (0 for SQLite), for tests that put a proxy in front of it. */
  port: number;
  /** Where the server should be, for the failure message. */
  where: string;
  /** How to start it, for the failure message. */
  start: string;
  /** Creates the namespace if needed and returns the options of a DataSource inside it. */
  prepare(namespace: string): Promise<DataSourceOptions>;
  /** Removes what prepare() made outside the database server (the SQLite file). */
  dispose(): void;
}

let sqliteDir: string | undefined;

const BACKENDS: Backend[] = [
  {
    name: 'postgres',
    port: 5432,
    where: 'postgres://postgres@127.0.0.1:5432/test',
    start: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
    async prepare(namespace) {
      const base = { type: 'postgres', host: '127.0.0.1', port: 5432, username: 'postgres', database: 'test' } as const;
      await withBootstrap(this, base, (ds) => ds.query(`CREATE SCHEMA IF NOT EXISTS ${namespace}`));
      return { ...base, schema: namespace };
    },
    dispose() {},
  },
  {
    name: 'mariadb',
    port: 3306,
    where: 'mysql://root@127.0.0.1:3306/test',
    start: 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd',
    async prepare(namespace) {
      const base = { type: 'mariadb', host: '127.0.0.1', port: 3306, username: 'root', password: '', database: 'test' } as const;
      await withBootstrap(this, base, (ds) => ds.query(`CREATE DATABASE IF NOT EXISTS ${namespace}`));
      return { ...base, database: namespace };
    },
    dispose() {},
  },
  {
    name: 'sqlite',
    port: 0,
    where: 'a temporary file',
    start: 'npm rebuild better-sqlite3',
    async prepare(namespace) {
      sqliteDir ??= mkdtempSync(join(tmpdir(), 'nsk-typeorm-'));
      return { type: 'better-sqlite3', database: join(sqliteDir, `${namespace}.sqlite`) };
    },
    dispose() {
      if (sqliteDir) rmSync(sqliteDir, { recursive: true, force: true });
      sqliteDir = undefined;
    },
  },
];

/** Connects, or fails with a message that says which server is missing and how to start it. */
async function connect(backend: Backend, options: DataSourceOptions): Promise<DataSource> {
  const dataSource = new DataSource(options);
  try {
    return await dataSource.initialize();
  } catch (error) {
    throw new Error(
      `${backend.name} is not reachable at ${backend.where}: ${(error as Error).message}. ` +
        `These tests need it running; start it with: ${backend.start}`,
    );
  }
}

async function withBootstrap(backend: Backend, options: DataSourceOptions, work: (ds: DataSource) => Promise<unknown>): Promise<void> {
  const dataSource = await connect(backend, options);
  try {
    await work(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

interface Fixture {
  dataSource: DataSource;
  store: TypeOrmSessionStore;
  log: StatementLog;
  cleanup(): Promise<void>;
}

/** An initialized DataSource in `namespace`, as the namespace is (nothing dropped, no migration run). */
async function openDatabase(
  backend: Backend,
  namespace: Namespace,
  migrations: (new () => MigrationInterface)[] = SESSION_MIGRATIONS,
  overrides: Record<string, unknown> = {},
): Promise<{ dataSource: DataSource; log: StatementLog }> {
  const log = new StatementLog();
  const options = {
    ...(await backend.prepare(NAMESPACES[namespace])),
    entities: SESSION_ENTITIES,
    migrations,
    migrationsTableName: MIGRATIONS_TABLE,
    logger: log,
    ...overrides,
  } as DataSourceOptions;
  return { dataSource: await connect(backend, options), log };
}

/** A DataSource on an empty namespace, migrated by the store's migrations (not synchronize). */
async function freshDatabase(
  backend: Backend,
  namespace: Namespace,
  migrations: (new () => MigrationInterface)[] = SESSION_MIGRATIONS,
): Promise<{ dataSource: DataSource; log: StatementLog }> {
  const { dataSource, log } = await openDatabase(backend, namespace, migrations);
  const runner = dataSource.createQueryRunner();
  try {
    for (const table of TABLES) await runner.dropTable(table, true);
  } finally {
    await runner.release();
  }
  await dataSource.runMigrations();
  return { dataSource, log };
}

/**
 * Raw SQL with `?` placeholders on the namespace's own tables (`{session}`, `{pointer}`; `{until}` for the column
 * whose name MySQL reserves), as the store writes it.
 */
function rawSql(dataSource: DataSource, sql: string, params: unknown[] = []): Promise<unknown> {
  const type = dataSource.options.type;
  const family = type === 'postgres' ? 'postgres' : type === 'better-sqlite3' ? 'sqlite' : 'mysql';
  const dialect = new Dialect(family, (dataSource.options as { schema?: string }).schema);
  const expanded = sql
    .replace('{session}', dialect.table('nsk_session'))
    .replace('{pointer}', dialect.table('nsk_session_pointer'))
    .replace('{until}', dialect.quote('until'));
  return dataSource.query(dialect.bind(expanded), params);
}

/**
 * A TCP proxy to a local database port: connections through it work until `close()`, which cuts every open
 * connection and closes the port, as a database host that goes away does.
 */
async function proxyTo(port: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connectTcp(port, '127.0.0.1');
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', cut);
      socket.on('close', cut);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/**
 * Lands `action` (a real store operation on another connection) just before the first statement matching
 * `pattern` with `param` among its parameters runs: the one interleaving that a race test needs, made certain.
 */
async function withInterleaving<T>(pattern: RegExp, param: string, action: () => Promise<unknown>, work: () => Promise<T>): Promise<T> {
  const original = Connection.prototype.run;
  let landed = false;
  const spy = jest.spyOn(Connection.prototype, 'run').mockImplementation(async function (
    this: Connection,
    sql: string,
    params: unknown[] = [],
  ) {
    if (!landed && pattern.test(sql) && params.includes(param)) {
      landed = true;
      await action();
    }
    return original.call(this, sql, params);
  } as typeof Connection.prototype.run);
  try {
    const result = await work();
    expect(landed).toBe(true);
    return result;
  } finally {
    spy.mockRestore();
  }
}

async function setup(backend: Backend, namespace: Namespace, options: Partial<TypeOrmSessionStoreOptions> = {}): Promise<Fixture> {
  const { dataSource, log } = await freshDatabase(backend, namespace);
  const store = new TypeOrmSessionStore({ dataSource, ...options });
  return {
    dataSource,
    store,
    log,
    async cleanup() {
      await store.close();
      if (dataSource.isInitialized) await dataSource.destroy();
    },
  };
}

const read = (store: TypeOrmSessionStore, id: string, now: number, touchIntervalMs = MIN) =>
  store.read(id, { now, idleTimeoutMs: IDLE, touchIntervalMs });

describe('TypeORM store: which errors are connection failures', () => {
  const error = (message: string, fields: Record<string, unknown> = {}) => Object.assign(new Error(message), fields);
  /** A TypeORM QueryFailedError's shape: the driver's error as `driverError`, its fields copied on the wrapper too. */
  const queryFailed = (driverError: Error) => Object.assign(new Error(driverError.message), { name: 'QueryFailedError', driverError });

  it.each([
    ['connection refused (pg, mysql2)', error('connect ECONNREFUSED 127.0.0.1:5432', { code: 'ECONNREFUSED', errno: -111 })],
    ['connection reset', error('read ECONNRESET', { code: 'ECONNRESET' })],
    ['connect timeout (mysql2)', error('connect ETIMEDOUT', { code: 'ETIMEDOUT' })],
    ['broken pipe', error('write EPIPE', { code: 'EPIPE' })],
    ['unknown host', error('getaddrinfo ENOTFOUND db', { code: 'ENOTFOUND' })],
    [
      'localhost refused on IPv6 and IPv4 (AggregateError)',
      Object.assign(new AggregateError([error('connect ECONNREFUSED ::1:5432', { code: 'ECONNREFUSED' })], ''), { code: 'ECONNREFUSED' }),
    ],
    ['PostgreSQL 08006 connection failure', queryFailed(error('connection failure', { code: '08006' }))],
    ['PostgreSQL 08P01 protocol violation', error('protocol violation', { code: '08P01' })],
    ['PostgreSQL 57P01 admin shutdown', queryFailed(error('terminating connection due to administrator command', { code: '57P01' }))],
    ['PostgreSQL 57P02 crash shutdown', error('crash shutdown', { code: '57P02' })],
    ['PostgreSQL 57P03 cannot connect now', error('the database system is starting up', { code: '57P03' })],
    ['PostgreSQL 53300 too many connections', error('sorry, too many clients already', { code: '53300' })],
    ['pg: connection terminated', error('Connection terminated unexpectedly')],
    ['pg-pool: acquire timeout', error('timeout exceeded when trying to connect')],
    ['pg-pool: connect timeout', error('Connection terminated due to connection timeout', { cause: error('timeout expired') })],
    ['pg-pool: ended pool', error('Cannot use a pool after calling end on the pool')],
    [
      'MySQL connection lost',
      queryFailed(error('Connection lost: The server closed the connection.', { code: 'PROTOCOL_CONNECTION_LOST' })),
    ],
    ['MySQL too many connections', error('Too many connections', { code: 'ER_CON_COUNT_ERROR', errno: 1040 })],
    ['MySQL server shutdown', error('Server shutdown in progress', { code: 'ER_SERVER_SHUTDOWN', errno: 1053 })],
    ['MariaDB connection killed', error('Connection was killed', { errno: 1927 })],
    ['mysql2: closed pool', error('Pool is closed.')],
    ['mysql2: closed connection', error("Can't add new command when connection is in closed state")],
    ['better-sqlite3: closed database', queryFailed(new TypeError('The database connection is not open'))],
    ['SQLite: file cannot be opened', error('unable to open database file', { code: 'SQLITE_CANTOPEN' })],
    ['TypeORM: DataSource not initialized', Object.assign(error('Cannot execute operation'), { name: 'CannotExecuteNotConnectedError' })],
    ['TypeORM: driver not connected (pg)', error('Driver not Connected')],
    ['already classified', new SessionStoreConnectionError('down')],
  ])('%s: yes', (_label, failure) => {
    expect(isConnectionFailure(failure)).toBe(true);
  });

  it.each([
    ['PostgreSQL 22001 value too long', queryFailed(error('value too long for type character varying(255)', { code: '22001' }))],
    ['PostgreSQL 42601 syntax error', queryFailed(error('syntax error at or near "SELEC"', { code: '42601' }))],
    ['PostgreSQL 23505 unique violation', error('duplicate key value violates unique constraint', { code: '23505' })],
    ['PostgreSQL 57P04 database dropped', error('database dropped', { code: '57P04' })],
    ['PostgreSQL 57014 query canceled', error('canceling statement due to user request', { code: '57014' })],
    ['MySQL data too long', queryFailed(error("Data too long for column 'user_id' at row 1", { code: 'ER_DATA_TOO_LONG', errno: 1406 }))],
    ['MySQL syntax error', error('You have an error in your SQL syntax', { code: 'ER_PARSE_ERROR', errno: 1064 })],
    ['MySQL lock wait timeout', error('Lock wait timeout exceeded', { code: 'ER_LOCK_WAIT_TIMEOUT', errno: 1205 })],
    ['SQLite syntax error', error('near "SELEC": syntax error', { code: 'SQLITE_ERROR' })],
    ['a RangeError from the store', new RangeError('TypeOrmSessionStore.create: userId has 300 characters')],
    ['a message that only quotes a connection error', error('bad row: "Connection terminated" in data')],
    ['not an error at all', 'ECONNREFUSED'],
    ['null', null],
  ])('%s: no', (_label, failure) => {
    expect(isConnectionFailure(failure)).toBe(false);
  });

  it('names the database by type, host:port/database or file, never the password or user', () => {
    expect(describeDatabase({ type: 'postgres', url: 'postgres://app:s3cret@db.internal:6543/sessions?sslmode=require' })).toBe(
      'postgres at db.internal:6543/sessions',
    );
    expect(describeDatabase({ type: 'postgres', host: 'db', username: 'app', password: 's3cret', database: 'app' })).toBe(
      'postgres at db:5432/app',
    );
    expect(describeDatabase({ type: 'mariadb', host: '10.0.0.5', port: 3307, password: 's3cret', database: 'app' })).toBe(
      'mariadb at 10.0.0.5:3307/app',
    );
    expect(
      describeDatabase({ type: 'mysql', replication: { master: { host: 'primary', password: 's3cret' }, slaves: [] }, database: 'app' }),
    ).toBe('mysql at primary:3306/app');
    expect(describeDatabase({ type: 'better-sqlite3', database: '/var/lib/app/sessions.sqlite' })).toBe(
      'better-sqlite3 file /var/lib/app/sessions.sqlite',
    );
    expect(describeDatabase({ type: 'better-sqlite3', database: ':memory:' })).toBe('better-sqlite3 in memory');
  });
});

for (const backend of BACKENDS) {
  describeSessionStore(`typeorm/${backend.name}`, () => setup(backend, 'contract'), { describe, it, beforeAll, afterAll });

  describe(`TypeOrmSessionStore on ${backend.name}`, () => {
    let fx: Fixture;
    let store: TypeOrmSessionStore;
    let t0: number;

    beforeAll(async () => {
      fx = await setup(backend, 'spec', { cleanupIntervalMs: 0 });
      store = fx.store;
    });
    afterAll(async () => {
      await fx?.cleanup();
    });
    beforeEach(() => {
      t0 = Date.now();
      fx.log.queries.length = 0;
    });

    describe('schema', () => {
      it('the migration creates the three tables with their keys and indexes', async () => {
        const runner = fx.dataSource.createQueryRunner();
        try {
          const session = await runner.getTable('nsk_session');
          const pointer = await runner.getTable('nsk_session_pointer');
          const counter = await runner.getTable('nsk_counter');
          expect(session?.primaryColumns.map((c) => c.name)).toEqual(['id']);
          expect(pointer?.primaryColumns.map((c) => c.name)).toEqual(['id']);
          expect(counter?.primaryColumns.map((c) => c.name)).toEqual(['key']);
          const indexes = (t: typeof session) =>
            (t?.indices ?? []).map((i) => ({ name: i.name, columns: i.columnNames, unique: Boolean(i.isUnique) }));
          expect(indexes(session)).toEqual(
            expect.arrayContaining([
              { name: 'UQ_nsk_session_handle', columns: ['handle'], unique: true },
              { name: 'IDX_nsk_session_user_id', columns: ['user_id'], unique: false },
              { name: 'IDX_nsk_session_expires_at', columns: ['expires_at'], unique: false },
            ]),
          );
          expect(indexes(pointer)).toEqual([{ name: 'IDX_nsk_session_pointer_until', columns: ['until'], unique: false }]);
          expect(indexes(counter)).toEqual([{ name: 'IDX_nsk_counter_reset_at', columns: ['reset_at'], unique: false }]);
          expect(session?.findColumnByName('created_at')?.type).toBe('bigint');
          if (backend.name === 'mariadb') {
            // Identifiers compare byte for byte: the server default collation is case-insensitive.
            for (const column of ['id', 'handle', 'user_id']) expect(session?.findColumnByName(column)?.collation).toBe('utf8mb4_bin');
            expect(counter?.findColumnByName('key')?.collation).toBe('utf8mb4_bin');
          }
        } finally {
          await runner.release();
        }
      });

      it('matches the entities: synchronize after the migration has nothing to change', async () => {
        const pending = await fx.dataSource.driver.createSchemaBuilder().log();
        expect(pending.upQueries.map((q) => q.query)).toEqual([]);
      });

      it('works on a schema made by synchronize from SESSION_ENTITIES instead of the migration', async () => {
        const { dataSource } = await freshDatabase(backend, 'scratch');
        try {
          const runner = dataSource.createQueryRunner();
          try {
            for (const table of TABLES) await runner.dropTable(table, true);
          } finally {
            await runner.release();
          }
          await dataSource.synchronize();
          const synced = new TypeOrmSessionStore({ dataSource, cleanupIntervalMs: 0 });
          const id = newId();
          const next = newId();
          // Exact matching even where synchronize left the server's case-insensitive default collation (MariaDB).
          const rec = makeRecord(t0, { userId: 'Mixed-Case', data: { ok: '✓' } });
          await synced.create(id, rec, { now: t0, maxConcurrent: 1 });
          await synced.create(newId(), makeRecord(t0, { userId: 'mixed-case' }), { now: t0, maxConcurrent: 1 });
          expect(await synced.rotate(id, next, { now: t0, graceMs: 1000, changes: {} })).toEqual({
            status: 'rotated',
            record: { ...rec, version: 2 },
          });
          expect((await synced.listByUser('Mixed-Case', t0)).map((s) => s.id)).toEqual([next]);
          expect((await synced.increment('k', 1000, t0)).count).toBe(1);
          // The counter's window and the pointer's memory (tombstone included) are over; the session is not.
          expect(await synced.deleteExpired(t0 + ROTATION_TOMBSTONE_MS)).toBe(1 + 1);
          await synced.close();
        } finally {
          await dataSource.destroy();
        }
      });

      it('each migration reverts cleanly, the third deleting impersonation and remembered sessions, the second pending ones, and they apply again', async () => {
        const { dataSource } = await freshDatabase(backend, 'scratch');
        try {
          const before = new TypeOrmSessionStore({ dataSource, cleanupIntervalMs: 0 });
          const complete = newId();
          const pending = newId();
          const remembered = newId();
          const impersonated = newId();
          await before.create(complete, makeRecord(t0, { roles: ['user'] }), { now: t0, maxConcurrent: 0 });
          await before.create(pending, makeRecord(t0, { stage: 'pending' }), { now: t0, maxConcurrent: 0 });
          await before.create(remembered, makeRecord(t0, { tier: 'remember' }), { now: t0, maxConcurrent: 0 });
          await before.create(impersonated, makeRecord(t0, { impersonatedBy: 'admin-1' }), { now: t0, maxConcurrent: 0 });
          await before.close();
          const ids = async () => ((await rawSql(dataSource, 'SELECT id FROM {session}')) as { id: string }[]).map((r) => r.id);
          const runner = dataSource.createQueryRunner();
          try {
            await dataSource.undoLastMigration();
            // Schema v2 knows no impersonation and no tiers: such sessions left there would pass for the user's own
            // standard ones.
            expect((await ids()).sort()).toEqual([complete, pending].sort());
            for (const column of ['roles', 'tier', 'impersonated_by', 'idle_timeout_ms']) {
              expect(await runner.hasColumn('nsk_session', column)).toBe(false);
            }
            await dataSource.undoLastMigration();
            // Schema v1 knows no stages: a pending session left there would be admitted as a complete one.
            expect(await ids()).toEqual([complete]);
            expect(await runner.hasColumn('nsk_session', 'stage')).toBe(false);
            expect(await runner.hasColumn('nsk_session_pointer', 'until')).toBe(false);
            const pointer = await runner.getTable('nsk_session_pointer');
            expect(pointer?.indices.map((i) => i.name)).toEqual(['IDX_nsk_session_pointer_grace_until']);
            await dataSource.undoLastMigration();
            expect(await runner.hasTable('nsk_session')).toBe(false);
            expect(await runner.hasTable('nsk_counter')).toBe(false);
          } finally {
            await runner.release();
          }
          await dataSource.runMigrations();
          const again = new TypeOrmSessionStore({ dataSource, cleanupIntervalMs: 0 });
          await again.connect();
          const id = newId();
          const rec = makeRecord(t0, { roles: ['user'], tier: 'remember', impersonatedBy: 'admin-2', idleTimeoutMs: 5 * MIN });
          await again.create(id, rec, { now: t0, maxConcurrent: 0 });
          expect(await read(again, id, t0)).toEqual({ status: 'active', id, record: rec, viaGrace: false });
          await again.close();
        } finally {
          await dataSource.destroy();
        }
      });

      it('upgrades a schema v2 database in place: its sessions read with no roles, standard, not impersonated, on the module idle timeout', async () => {
        const v2 = await freshDatabase(backend, 'scratch', SESSION_MIGRATIONS.slice(0, 2));
        const id = newId();
        const userId = 'u-' + newId();
        const rec = makeRecord(t0, { userId, data: { cart: [1] }, stage: 'pending' });
        try {
          // A row as the previous version wrote it: none of the v3 columns.
          const v3 = new Set(['roles', 'tier', 'impersonated_by', 'idle_timeout_ms']);
          const columns = SESSION_COLUMNS.filter((c) => !v3.has(c));
          const values = sessionValues(id, rec).filter((_, i) => !v3.has(SESSION_COLUMNS[i]));
          await rawSql(
            v2.dataSource,
            `INSERT INTO {session} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
            values,
          );
        } finally {
          await v2.dataSource.destroy();
        }
        const { dataSource } = await openDatabase(backend, 'scratch');
        try {
          expect((await dataSource.runMigrations()).map((m) => m.name)).toEqual([new SessionRolesTierImpersonation1796400000000().name]);
          expect((await dataSource.driver.createSchemaBuilder().log()).upQueries.map((q) => q.query)).toEqual([]);
          const upgraded = new TypeOrmSessionStore({ dataSource, cleanupIntervalMs: 0 });
          await upgraded.connect();
          expect(await read(upgraded, id, t0)).toEqual({ status: 'active', id, record: rec, viaGrace: false });
          expect(rec).toMatchObject({ roles: [], tier: 'standard', impersonatedBy: null, idleTimeoutMs: null });
          // Without its own idle timeout, a touch uses the one the read is given.
          const touched = await upgraded.read(id, { now: t0 + 5 * MIN, idleTimeoutMs: 7 * MIN, touchIntervalMs: MIN });
          expect(touched.status === 'active' && touched.record.idleExpiresAt).toBe(t0 + 12 * MIN);
          // A legacy session takes part in role changes like any other: it gains roles, and must rotate for it.
          expect(await upgraded.updateUserRoles(userId, ['user'], t0 + 5 * MIN)).toBe(1);
          const after = await read(upgraded, id, t0 + 5 * MIN);
          expect(after.status === 'active' && after.record).toMatchObject({
            roles: ['user'],
            rotateRequired: true,
            rolesVersion: 1,
            version: 2,
          });
          await upgraded.close();
        } finally {
          await dataSource.destroy();
        }
      });

      it('upgrades a schema v1 database in place: its sessions read as complete, its pointers keep their grace', async () => {
        const v1 = await freshDatabase(backend, 'scratch', [CreateSessionTables1795676727574]);
        const id = newId();
        const old = newId();
        const successor = newId();
        const rec = makeRecord(t0, { data: { cart: [1] } });
        const moved = makeRecord(t0);
        try {
          // Rows as the first version wrote them: no stage (nor any later column), pointers without `until`.
          const later = new Set(['stage', 'roles', 'tier', 'impersonated_by', 'idle_timeout_ms']);
          const columns = SESSION_COLUMNS.filter((c) => !later.has(c));
          const v1Values = (sessionId: string, r: typeof rec) =>
            sessionValues(sessionId, r).filter((_, i) => !later.has(SESSION_COLUMNS[i]));
          const insert = `INSERT INTO {session} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
          await rawSql(v1.dataSource, insert, v1Values(id, rec));
          await rawSql(v1.dataSource, insert, v1Values(successor, moved));
          await rawSql(v1.dataSource, 'INSERT INTO {pointer} (id, successor_id, grace_until) VALUES (?, ?, ?)', [
            old,
            successor,
            t0 + 10_000,
          ]);
        } finally {
          await v1.dataSource.destroy();
        }
        const { dataSource } = await openDatabase(backend, 'scratch');
        try {
          expect((await dataSource.runMigrations()).map((m) => m.name)).toEqual([
            new SessionStageAndPointerUntil1796007977546().name,
            new SessionRolesTierImpersonation1796400000000().name,
          ]);
          expect((await dataSource.driver.createSchemaBuilder().log()).upQueries.map((q) => q.query)).toEqual([]);
          const upgraded = new TypeOrmSessionStore({ dataSource, cleanupIntervalMs: 0 });
          await upgraded.connect();
          expect(await read(upgraded, id, t0)).toEqual({ status: 'active', id, record: { ...rec, stage: 'complete' }, viaGrace: false });
          const via = await read(upgraded, old, t0 + 9_999);
          expect(via).toEqual({ status: 'active', id: successor, record: moved, viaGrace: true });
          // `until = grace_until`: the old id means what it meant when it was written, and nothing after.
          expect(await read(upgraded, old, t0 + 10_000)).toEqual({ status: 'missing' });
          await upgraded.close();
        } finally {
          await dataSource.destroy();
        }
      });
    });

    describe('times', () => {
      it('round-trips bigint millisecond times exactly, up to 2^53 - 1', async () => {
        const id = newId();
        const rec = makeRecord(t0, {
          createdAt: 1_795_676_727_574,
          lastSeenAt: t0,
          authenticatedAt: 8_640_000_000_000_000,
          rotatedAt: 2 ** 53 - 2,
          idleExpiresAt: 2 ** 53 - 3,
          absoluteExpiresAt: Number.MAX_SAFE_INTEGER,
        });
        await store.create(id, rec, { now: t0, maxConcurrent: 0 });
        expect(await read(store, id, t0)).toEqual({ status: 'active', id, record: rec, viaGrace: false });
        expect(await store.destroyByHandle(rec.userId, rec.handle)).toEqual(rec);
      });

      it('the entity maps bigint columns back to numbers', async () => {
        const id = newId();
        const rec = makeRecord(t0, { absoluteExpiresAt: Number.MAX_SAFE_INTEGER });
        await store.create(id, rec, { now: t0, maxConcurrent: 0 });
        const entity = await fx.dataSource.getRepository(SessionEntity).findOneByOrFail({ id });
        expect(entity).toMatchObject({ createdAt: t0, absoluteExpiresAt: Number.MAX_SAFE_INTEGER, expiresAt: t0 + IDLE });
        expect(typeof entity.createdAt).toBe('number');
        await store.destroy(id);
      });

      it('refuses times that a bigint column cannot hold exactly, naming the field', async () => {
        await expect(store.create(newId(), makeRecord(t0, { lastSeenAt: t0 + 0.5 }), { now: t0, maxConcurrent: 0 })).rejects.toThrow(
          /lastSeenAt/,
        );
      });
    });

    it('stores any Unicode, 4-byte UTF-8 included, in data and the user agent', async () => {
      const id = newId();
      const rec = makeRecord(t0, { userAgent: 'Agent 🔐 ünïcødé', data: { emoji: '🔐🧪', cjk: '会话', rtl: 'جلسة' } });
      await store.create(id, rec, { now: t0, maxConcurrent: 0 });
      expect(await read(store, id, t0)).toEqual({ status: 'active', id, record: rec, viaGrace: false });
    });

    describe('compare-and-set', () => {
      it('lets exactly one of two writers with the same expected version win', async () => {
        const id = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        const results = await Promise.all([
          store.update(id, 1, { data: { writer: 'a' } }, t0),
          store.update(id, 1, { data: { writer: 'b' } }, t0),
        ]);
        const ok = results.filter((r) => r.status === 'ok');
        const conflict = results.filter((r) => r.status === 'conflict');
        expect(ok).toHaveLength(1);
        expect(conflict).toHaveLength(1);
        const winner = ok[0].status === 'ok' ? ok[0].record : undefined;
        expect(conflict[0].status === 'conflict' && conflict[0].record).toEqual(winner);
        const got = await read(store, id, t0);
        expect(got.status === 'active' && got.record).toEqual(winner);
        expect(winner?.version).toBe(2);
      });

      it('a touch in between is not a conflict, and the update keeps it', async () => {
        const id = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        const t1 = t0 + 5 * MIN;
        const touched = await read(store, id, t1);
        expect(touched.status === 'active' && touched.record.version).toBe(1);
        const res = await store.update(id, 1, { data: { after: 'touch' } }, t1);
        expect(res.status).toBe('ok');
        expect(res.status === 'ok' && res.record).toMatchObject({ lastSeenAt: t1, idleExpiresAt: t1 + IDLE, version: 2 });
      });

      it('a touch never overwrites a concurrent update (no lost write under parallel touches)', async () => {
        const id = newId();
        await store.create(id, makeRecord(t0, { data: { n: 0 } }), { now: t0, maxConcurrent: 0 });
        const work: Promise<unknown>[] = [];
        for (let i = 1; i <= 10; i++) {
          work.push(read(store, id, t0 + i * MIN, 1));
          work.push(
            (async () => {
              for (;;) {
                const cur = await read(store, id, t0, 10 * IDLE);
                if (cur.status !== 'active') throw new Error('session vanished');
                const n = (cur.record.data.n as number) + 1;
                const res = await store.update(id, cur.record.version, { data: { n } }, t0);
                if (res.status === 'ok') return;
              }
            })(),
          );
        }
        await Promise.all(work);
        const got = await read(store, id, t0, 10 * IDLE);
        expect(got.status === 'active' && got.record.data.n).toBe(10);
        expect(got.status === 'active' && got.record.version).toBe(11);
      });
    });

    describe('atomic per-user limit', () => {
      it('two parallel logins with maxConcurrent = 1 leave exactly one session', async () => {
        const userId = 'u-' + newId();
        const results = await Promise.all([
          store.create(newId(), makeRecord(t0, { userId }), { now: t0, maxConcurrent: 1 }),
          store.create(newId(), makeRecord(t0, { userId }), { now: t0, maxConcurrent: 1 }),
        ]);
        expect(await store.countByUser(userId, t0)).toBe(1);
        expect(results.reduce((n, r) => n + (r.status === 'created' ? r.evicted.length : Number.NaN), 0)).toBe(1);
      });

      it('holds under 20 parallel logins mixed with rotations of the same user', async () => {
        const userId = 'u-' + newId();
        const first = newId();
        await store.create(first, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 2 });
        const work: Promise<unknown>[] = [store.rotate(first, newId(), { now: t0, graceMs: 0, changes: {} })];
        for (let i = 1; i <= 20; i++) work.push(store.create(newId(), makeRecord(t0 + i, { userId }), { now: t0 + i, maxConcurrent: 2 }));
        await Promise.all(work);
        expect(await store.countByUser(userId, t0 + 21)).toBe(2);
      });

      it('on a tie in createdAt, evicts the older session, not the newcomer', async () => {
        const userId = 'u-' + newId();
        const older = makeRecord(t0, { userId });
        const newcomer = newId();
        await store.create(newId(), older, { now: t0, maxConcurrent: 1 });
        const res = await store.create(newcomer, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 1 });
        expect(res).toEqual({ status: 'created', evicted: [older] });
        expect((await read(store, newcomer, t0)).status).toBe('active');
      });
    });

    describe('exact identifiers', () => {
      it('treats user ids that differ only in case or trailing space as different users', async () => {
        const base = 'Case-' + newId().slice(0, 8);
        for (const userId of [base, base.toLowerCase(), base + ' ']) {
          await store.create(newId(), makeRecord(t0, { userId }), { now: t0, maxConcurrent: 1 });
        }
        for (const userId of [base, base.toLowerCase(), base + ' ']) {
          const list = await store.listByUser(userId, t0);
          expect(list.map((s) => s.record.userId)).toEqual([userId]);
        }
        expect(await store.destroyByUser(base.toLowerCase())).toHaveLength(1);
        expect(await store.countByUser(base, t0)).toBe(1);
      });

      it('treats counter keys that differ only in case as different counters', async () => {
        const key = 'Login:' + newId();
        await store.increment(key, MIN, t0);
        expect((await store.increment(key.toLowerCase(), MIN, t0)).count).toBe(1);
        expect((await store.increment(key, MIN, t0)).count).toBe(2);
      });
    });

    describe('corrupted rows', () => {
      const corrupt = async (id: string, data: string) => {
        const table = fx.dataSource.getMetadata(SessionEntity).tablePath;
        await fx.dataSource.createQueryBuilder().update(table).set({ data }).where('id = :id', { id }).execute();
      };

      it.each([
        ['data that is not JSON', '{"cart": [1, 2'],
        ['data that is JSON but not an object', '[1, 2, 3]'],
        ['data that is null', 'null'],
      ])('reads %s as missing, everywhere, without throwing', async (_label, data) => {
        const id = newId();
        const rec = makeRecord(t0);
        await store.create(id, rec, { now: t0, maxConcurrent: 0 });
        await corrupt(id, data);
        expect(await read(store, id, t0 + 5 * MIN)).toEqual({ status: 'missing' });
        expect(await store.update(id, 1, { data: {} }, t0)).toEqual({ status: 'missing' });
        expect(await store.rotate(id, newId(), { now: t0, graceMs: 1000, changes: {} })).toEqual({ status: 'missing' });
        expect(await store.listByUser(rec.userId, t0)).toEqual([]);
        expect(await store.countByUser(rec.userId, t0)).toBe(0);
        expect(await store.destroy(id)).toBeNull();
        expect(await read(store, id, t0)).toEqual({ status: 'missing' });
      });

      it('reads a row whose numbers are not numbers as missing', async () => {
        const id = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        const table = fx.dataSource.getMetadata(SessionEntity).tablePath;
        await fx.dataSource.createQueryBuilder().update(table).set({ handle: '' }).where('id = :id', { id }).execute();
        expect(await read(store, id, t0)).toEqual({ status: 'missing' });
      });
    });

    describe('batched cleanup', () => {
      it('deletes 1200 expired sessions in 3 batches of at most 500 and leaves live ones alone', async () => {
        const repo = fx.dataSource.getRepository(SessionEntity);
        const expired = Array.from({ length: 1200 }, (_, i) => {
          const r = makeRecord(t0 - IDLE - i);
          return { id: newId(), ...r, expiresAt: r.idleExpiresAt, data: '{}', roles: '[]' };
        });
        for (let i = 0; i < expired.length; i += 200) await repo.insert(expired.slice(i, i + 200));
        const live = Array.from({ length: 5 }, () => ({ id: newId(), rec: makeRecord(t0) }));
        for (const s of live) await store.create(s.id, s.rec, { now: t0, maxConcurrent: 0 });
        // One pointer forgotten by t0, one past its grace but still a tombstone then, which must stay.
        const forgotten = newId();
        await store.create(forgotten, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        await store.rotate(forgotten, newId(), { now: t0 - ROTATION_TOMBSTONE_MS - 2000, graceMs: 1000, changes: {} });
        const tombstone = newId();
        await store.create(tombstone, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        await store.rotate(tombstone, newId(), { now: t0 - 2000, graceMs: 1000, changes: {} });
        await store.increment('k-' + newId(), 1000, t0 - 5000);

        fx.log.queries.length = 0;
        expect(await store.deleteExpired(t0, 500)).toBe(1200 + 1 + 1);
        expect(await read(store, tombstone, t0)).toEqual({ status: 'tombstone' });
        const deletes = fx.log.queries.filter((q) => /^DELETE FROM \S*nsk_session["`] /.test(q));
        expect(deletes).toHaveLength(3);
        const selects = fx.log.queries.filter((q) => /^SELECT id AS k FROM \S*nsk_session["`] /.test(q));
        expect(selects).toHaveLength(3);

        for (const s of live) expect((await read(store, s.id, t0)).status).toBe('active');
        expect(await repo.countBy({ id: expired[0].id })).toBe(0);
        expect(await store.deleteExpired(t0, 500)).toBe(0);
      });

      it('runs in the background every cleanupIntervalMs, and close() stops it', async () => {
        const background = new TypeOrmSessionStore({ dataSource: fx.dataSource, cleanupIntervalMs: 20 });
        const now = Date.now();
        const id = newId();
        // Created with a past `now`: already over by the real clock that the background cleanup uses.
        await background.create(id, makeRecord(now - IDLE - 1000), { now: now - IDLE - 1000, maxConcurrent: 0 });
        const repo = fx.dataSource.getRepository(SessionEntity);
        for (let i = 0; i < 100 && (await repo.countBy({ id })) > 0; i++) await new Promise((r) => setTimeout(r, 20));
        expect(await repo.countBy({ id })).toBe(0);
        await background.close();
        const later = newId();
        await store.create(later, makeRecord(now - IDLE - 1000), { now: now - IDLE - 1000, maxConcurrent: 0 });
        await new Promise((r) => setTimeout(r, 100));
        expect(await repo.countBy({ id: later })).toBe(1);
        await store.destroy(later);
      });

      it('rejects invalid options with messages naming them', () => {
        expect(() => new TypeOrmSessionStore({ dataSource: fx.dataSource, cleanupIntervalMs: -1 })).toThrow(/cleanupIntervalMs/);
        expect(() => new TypeOrmSessionStore({ dataSource: fx.dataSource, cleanupBatchSize: 0 })).toThrow(/cleanupBatchSize/);
        return expect(store.deleteExpired(t0, 1.5)).rejects.toThrow(/batchSize/);
      });
    });

    describe('lifecycle rules in SQL', () => {
      it('the cleanup deletes exactly the sessions isExpired calls over and the pointers pointerState calls gone, at the boundaries', async () => {
        const T = t0 + 10 * MIN;
        const deadlines = [
          { idleExpiresAt: T - 1, absoluteExpiresAt: T + IDLE },
          { idleExpiresAt: T, absoluteExpiresAt: T + IDLE },
          { idleExpiresAt: T + 1, absoluteExpiresAt: T + IDLE },
          { idleExpiresAt: T + IDLE, absoluteExpiresAt: T },
          { idleExpiresAt: T + IDLE, absoluteExpiresAt: T + 1 },
        ];
        const sessions = deadlines.map((d) => ({ id: newId(), record: makeRecord(t0, d) }));
        for (const s of sessions) await store.create(s.id, s.record, { now: t0, maxConcurrent: 0 });
        // Pointers forgotten one ms before T, at T, and one ms after.
        const pointers: { id: string; until: number; graceUntil: number }[] = [];
        for (const shift of [-1, 0, 1]) {
          const id = newId();
          await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
          const rotatedAt = T - ROTATION_TOMBSTONE_MS + shift;
          await store.rotate(id, newId(), { now: rotatedAt, graceMs: 0, changes: {} });
          pointers.push({ id, ...pointerWindows(rotatedAt, 0) });
        }
        await store.deleteExpired(T);
        const sessionRepo = fx.dataSource.getRepository(SessionEntity);
        const pointerRepo = fx.dataSource.getRepository(SessionPointerEntity);
        for (const s of sessions)
          expect([s.record, await sessionRepo.countBy({ id: s.id })]).toEqual([s.record, isExpired(s.record, T) ? 0 : 1]);
        for (const p of pointers) expect([p, await pointerRepo.countBy({ id: p.id })]).toEqual([p, pointerState(p, T) === 'gone' ? 0 : 1]);
      });
    });

    // SQLite runs the store's operations one at a time: there a row cannot move in the middle of a read.
    if (backend.name !== 'sqlite') {
      describe('races with a rotation, landed at the exact statement', () => {
        const TOUCH = /SET last_seen_at = \?, idle_expires_at = \?, expires_at = \?\s+WHERE/;
        const UPDATE = /SET last_seen_at = \?, idle_expires_at = \?, absolute_expires_at = \?/;

        it('a read whose touch finds the row rotated away follows the grace pointer instead of answering missing', async () => {
          const id = newId();
          const next = newId();
          const rec = makeRecord(t0);
          await store.create(id, rec, { now: t0, maxConcurrent: 0 });
          const t1 = t0 + MIN;
          const rotate = () => store.rotate(id, next, { now: t1, graceMs: 10_000, changes: { rotatedAt: t1 } });
          const got = await withInterleaving(TOUCH, id, rotate, () => read(store, id, t1));
          expect(got).toEqual({
            status: 'active',
            id: next,
            record: { ...rec, rotatedAt: t1, version: 2, lastSeenAt: t1, idleExpiresAt: t1 + IDLE },
            viaGrace: true,
          });
        });

        it('a read whose touch finds the row rotated away without grace answers tombstone, not missing', async () => {
          const id = newId();
          await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
          const t1 = t0 + MIN;
          const rotate = () => store.rotate(id, newId(), { now: t1, graceMs: 0, changes: {} });
          expect(await withInterleaving(TOUCH, id, rotate, () => read(store, id, t1))).toEqual({ status: 'tombstone' });
        });

        it('an update whose compare-and-set finds the row rotated away conflicts at the successor', async () => {
          const id = newId();
          const next = newId();
          await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
          const rotate = () => store.rotate(id, next, { now: t0, graceMs: 0, changes: { rotatedAt: t0 } });
          const res = await withInterleaving(UPDATE, id, rotate, () => store.update(id, 1, { data: { late: true } }, t0));
          expect(res).toMatchObject({ status: 'conflict', id: next, record: { version: 2, data: {} } });
        });
      });
    }

    describe('errors: outages apart from bugs', () => {
      it('connect() passes on a ready database', async () => {
        await expect(store.connect()).resolves.toBeUndefined();
      });

      it('connect() on a DataSource that is not initialized says to initialize it or use TypeOrmModule', async () => {
        const options = { ...(await backend.prepare(NAMESPACES.spec)), password: 'pw-never-shown' } as DataSourceOptions;
        const idle = new TypeOrmSessionStore({ dataSource: new DataSource(options), cleanupIntervalMs: 0 });
        const error = await idle.connect().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SessionStoreConnectionError);
        expect((error as Error).message).toMatch(/not initialized.*dataSource\.initialize\(\).*TypeOrmModule/s);
        expect((error as Error).message).toContain(describeDatabase(options));
        expect((error as Error).message).not.toContain('pw-never-shown');
        await expect(read(idle, newId(), t0)).rejects.toThrow(SessionStoreConnectionError);
      });

      it('connect() on tables older than the store says to run SESSION_MIGRATIONS (not an outage)', async () => {
        const { dataSource } = await freshDatabase(backend, 'scratch', [CreateSessionTables1795676727574]);
        try {
          const stale = new TypeOrmSessionStore({ dataSource, cleanupIntervalMs: 0 });
          const error = await stale.connect().catch((e: unknown) => e);
          expect(error).toBeInstanceOf(Error);
          expect(isStoreConnectionError(error)).toBe(false);
          expect((error as Error).message).toMatch(/missing or older than this version.*SESSION_MIGRATIONS/s);
        } finally {
          await dataSource.destroy();
        }
      });

      it('a userId longer than a session holds is refused before the database, as a RangeError (a bug, not an outage)', async () => {
        const error = await store
          .create(newId(), makeRecord(t0, { userId: 'u'.repeat(256) }), { now: t0, maxConcurrent: 0 })
          .catch((e) => e);
        expect(error).toBeInstanceOf(RangeError);
        expect(isStoreConnectionError(error)).toBe(false);
        expect((error as Error).message).toMatch(/userId has 256 characters.*255/);
      });

      it('database errors that are bugs are not connection failures: a syntax error, a value too long for its column', async () => {
        const syntax = await fx.dataSource.query('SELEC 1').catch((e: unknown) => e);
        expect(syntax).toBeInstanceOf(Error);
        expect(isConnectionFailure(syntax)).toBe(false);
        if (backend.name === 'sqlite') return; // SQLite does not enforce varchar lengths.
        const tooLong = await rawSql(fx.dataSource, 'INSERT INTO {pointer} (id, successor_id, grace_until, {until}) VALUES (?, ?, 0, 0)', [
          'i'.repeat(300),
          newId(),
        ]).catch((e: unknown) => e);
        expect(tooLong).toBeInstanceOf(Error);
        expect(isConnectionFailure(tooLong)).toBe(false);
      });

      if (backend.name === 'mariadb') {
        it('data too large for the TEXT column is rethrown as the database error, not reported as an outage', async () => {
          const huge = { blob: 'x'.repeat(70_000) };
          const error = await store.create(newId(), makeRecord(t0, { data: huge }), { now: t0, maxConcurrent: 0 }).catch((e: unknown) => e);
          expect(error).toMatchObject({ code: 'ER_DATA_TOO_LONG' });
          expect(isStoreConnectionError(error)).toBe(false);
        });
      }

      if (backend.name !== 'sqlite') {
        it('a refused connection is a connection failure', async () => {
          const closed = await proxyTo(backend.port);
          await closed.close();
          const options = { ...(await backend.prepare(NAMESPACES.spec)), port: closed.port } as DataSourceOptions;
          const error = await new DataSource(options).initialize().catch((e: unknown) => e);
          expect(error).toMatchObject({ code: 'ECONNREFUSED' });
          expect(isConnectionFailure(error)).toBe(true);
        });

        it('a database that goes away makes read, update, rotate, create and connect throw SessionStoreConnectionError naming it', async () => {
          const proxy = await proxyTo(backend.port);
          const secret = backend.name === 'postgres' ? { password: 'pw-never-shown' } : {}; // trust auth ignores it
          const { dataSource } = await openDatabase(backend, 'spec', SESSION_MIGRATIONS, {
            host: '127.0.0.1',
            port: proxy.port,
            ...secret,
          });
          const remote = new TypeOrmSessionStore({ dataSource, cleanupIntervalMs: 0 });
          try {
            await remote.connect();
            const id = newId();
            await remote.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
            expect((await read(remote, id, t0)).status).toBe('active');
            await proxy.close();
            const attempts: [string, () => Promise<unknown>][] = [
              ['read', () => read(remote, id, t0)],
              ['update', () => remote.update(id, 1, { data: {} }, t0)],
              ['rotate', () => remote.rotate(id, newId(), { now: t0, graceMs: 0, changes: {} })],
              ['create', () => remote.create(newId(), makeRecord(t0), { now: t0, maxConcurrent: 1 })],
              ['connect', () => remote.connect()],
            ];
            for (const [operation, attempt] of attempts) {
              const error = await attempt().catch((e: unknown) => e);
              expect(error).toBeInstanceOf(SessionStoreConnectionError);
              const message = (error as Error).message;
              expect(message).toContain(`TypeOrmSessionStore.${operation}: cannot reach ${backend.name} at 127.0.0.1:${proxy.port}/`);
              expect(message).toMatch(/Check that the database server is running/);
              expect(message).not.toContain('pw-never-shown');
            }
          } finally {
            await remote.close();
            await proxy.close();
            await dataSource.destroy();
          }
        });
      }
    });

    describe('outages', () => {
      it('throws SessionStoreConnectionError (never reports missing) once the DataSource is destroyed, which stays the owner’s', async () => {
        const { dataSource } = await freshDatabase(backend, 'scratch');
        const doomed = new TypeOrmSessionStore({ dataSource, cleanupIntervalMs: 0 });
        const id = newId();
        await doomed.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        await doomed.close();
        expect(dataSource.isInitialized).toBe(true);
        await dataSource.destroy();
        await expect(doomed.ping()).rejects.toThrow(SessionStoreConnectionError);
        await expect(read(doomed, id, t0)).rejects.toThrow(SessionStoreConnectionError);
        await expect(doomed.update(id, 1, { data: {} }, t0)).rejects.toThrow(SessionStoreConnectionError);
        await expect(doomed.rotate(id, newId(), { now: t0, graceMs: 0, changes: {} })).rejects.toThrow(SessionStoreConnectionError);
        await expect(doomed.create(newId(), makeRecord(t0), { now: t0, maxConcurrent: 1 })).rejects.toThrow(SessionStoreConnectionError);
        await expect(doomed.increment('k', 1000, t0)).rejects.toThrow(SessionStoreConnectionError);
        await expect(doomed.destroy(id)).rejects.toThrow(/not initialized/);
      });

      it('a query runner caught by the destruction mid-operation is a connection failure too', async () => {
        const { dataSource } = await freshDatabase(backend, 'scratch');
        const runner = dataSource.createQueryRunner();
        await dataSource.destroy();
        const error = await runner.query('SELECT 1').catch((e: unknown) => e);
        expect(error).toBeInstanceOf(Error);
        expect(isConnectionFailure(error)).toBe(true);
      });
    });

    if (backend.name === 'sqlite') {
      it('serialises two stores sharing one SQLite DataSource', async () => {
        const other = new TypeOrmSessionStore({ dataSource: fx.dataSource, cleanupIntervalMs: 0 });
        const userId = 'u-' + newId();
        await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 ? store : other).create(newId(), makeRecord(t0 + i, { userId }), { now: t0 + i, maxConcurrent: 3 }),
          ),
        );
        expect(await store.countByUser(userId, t0 + 10)).toBe(3);
        await other.close();
      });
    }
  });
}

afterAll(() => {
  for (const backend of BACKENDS) backend.dispose();
});

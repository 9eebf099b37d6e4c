/**
 * The backends of the scale run (bench/scale.ts): how to make an empty one, fill it with many sessions in the
 * store's own format, and read its footprint. One {@link ScaleBackend} per store; the run opens two instances of
 * each (a small and a large one) so that the same app can be measured on both side by side.
 *
 * To add a store (Memcached, ...): write its {@link ScaleBackend} here, add its app variant to bench/app.ts, and
 * list it in {@link SCALE_BACKENDS}. A `GET /me` variant without a backend to fill (sealed cookies) goes in
 * `SCALE_ME_VARIANTS` of bench/scale.ts only.
 */
import { createHash } from 'node:crypto';
import { createClient } from 'redis';
import { DataSource } from 'typeorm';
import type { SessionRecord } from '../lib/core/session-record';
import type { SessionStore } from '../lib/stores/session-store';
import { makeRecord, newId } from '../lib/testing/session-fixtures';
import { USER_AGENT } from './load';
import { PrivateRedis } from './processes';
import type { AppVariant } from './settings';

/** One empty backend of a kind, ready to be filled and served. */
export interface BackendInstance {
  /** What it is, for the report (`private redis-server 7.0.15 on port 41234`, `database nsk_bench_scale_large`). */
  readonly description: string;
  /** Environment of the app server that serves `GET /me` from this backend (bench/app.ts). */
  readonly appEnv: NodeJS.ProcessEnv;
  /** The store on this backend, for the fill check and the per-user operations (timed in the driver). */
  readonly store: SessionStore;
  /**
   * Writes `count` sessions made by `record(i)` under `id(i)`, in the store's exact format, as fast as the backend
   * allows. `progress` is called now and then with how many are written.
   */
  fill(count: number, id: (i: number) => string, record: (i: number) => SessionRecord, progress: (done: number) => void): Promise<void>;
  /** Sessions stored (Redis: session keys; SQL: rows), to check a fill. */
  sessionCount(): Promise<number>;
  /** Bytes the backend holds for its sessions, by kind (Redis `used_memory`; SQL table and index sizes). */
  footprint(): Promise<Record<string, number>>;
  /**
   * Time the backend's server itself spent on the store's commands so far (µs, monotonic), when the backend can tell
   * (Redis: `INFO commandstats` usec of EVALSHA and EVAL); undefined otherwise.
   */
  serverUs?(): Promise<number>;
  /** Bytes of one session as stored, its key and its share of the user index (Redis only). */
  sessionBytes?(
    ids: string[],
    userIds: string[],
  ): Promise<{ sessionKey: number[]; userIndex: number[]; encodings: Record<string, number> }>;
  /** Closes the store and removes the backend (stops the private server, drops the database). */
  dispose(): Promise<void>;
}

/** A kind of backend the scale run measures. */
export interface ScaleBackend {
  /** Short name in the report and in `BENCH_SCALE_BACKENDS`. */
  readonly name: string;
  /** The bench/app.ts variant that serves `GET /me` from it. */
  readonly variant: AppVariant;
  /** Makes an empty instance. `label` (`small`, `large`) keeps two instances apart. `core`: where to pin a server. */
  open(label: string, core: number | undefined): Promise<BackendInstance>;
}

// ------------------------------------------------------------------------------------------------- Redis

/** Concurrent `create` calls while filling Redis: node-redis pipelines them on its one connection. */
const REDIS_FILL_BATCH = 1000;

/** The Redis store on a private `redis-server` of its own (bench/processes.ts), filled through the store's own `create`. */
export const REDIS_BACKEND: ScaleBackend = {
  name: 'redis',
  variant: 'kit-redis',
  open: (label, core) => openRedis(label, core),
};

/** A private `redis-server` (with extra `config` arguments, default none) and the store on it: see {@link REDIS_BACKEND}. */
async function openRedis(label: string, core: number | undefined, config: readonly string[] = []): Promise<BackendInstance> {
  const redis = await PrivateRedis.start(core, config);
  const admin = createClient({ url: redis.url });
  admin.on('error', () => undefined);
  await admin.connect();
  const { RedisSessionStore } = await import('../lib/stores/redis');
  // The prefix of bench/app.ts' kit-redis (createKitRedisStore), so the app reads what the fill wrote.
  const prefix = '{bench-kit}:';
  const store = await RedisSessionStore.connect({ url: redis.url, prefix, commandTimeoutMs: 30_000 });
  const info = async (section: string): Promise<string> => String(await admin.sendCommand(['INFO', section]));
  const memoryUsage = async (key: string): Promise<number> => {
    const bytes = Number(await admin.sendCommand(['MEMORY', 'USAGE', key, 'SAMPLES', '0']));
    if (!Number.isFinite(bytes) || bytes <= 0) throw new Error(`redis ${label}: MEMORY USAGE ${key} answered nothing (is the key there?)`);
    return bytes;
  };
  return {
    description: `private redis-server ${redis.version} on port ${redis.port}`,
    appEnv: { BENCH_REDIS_URL: redis.url },
    store,
    async fill(count, id, record, progress) {
      for (let start = 0; start < count; start += REDIS_FILL_BATCH) {
        const end = Math.min(count, start + REDIS_FILL_BATCH);
        const batch: Promise<unknown>[] = [];
        for (let i = start; i < end; i++) {
          const r = record(i);
          batch.push(store.create(id(i), r, { now: r.createdAt, maxConcurrent: 0 }));
        }
        await Promise.all(batch);
        progress(end);
      }
    },
    async sessionCount() {
      // Every session key and user index key of the store is under the prefix; the fill has one user per session.
      let cursor = '0';
      let sessions = 0;
      do {
        const [next, keys] = (await admin.sendCommand(['SCAN', cursor, 'MATCH', `${prefix}s:*`, 'COUNT', '10000'])) as [string, string[]];
        cursor = String(next);
        sessions += keys.length;
      } while (cursor !== '0');
      return sessions;
    },
    async footprint() {
      const memory = await info('memory');
      const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(memory)?.[1] ?? Number.NaN);
      return {
        usedMemory: field('used_memory'),
        usedMemoryDataset: field('used_memory_dataset'),
        keys: Number(await admin.sendCommand(['DBSIZE'])),
      };
    },
    async serverUs() {
      const stats = await info('commandstats');
      let usec = 0;
      for (const m of stats.matchAll(/^cmdstat_(evalsha|eval):calls=\d+,usec=(\d+)/gm)) usec += Number(m[2]);
      return usec;
    },
    async sessionBytes(ids, userIds) {
      const sessionKey: number[] = [];
      const userIndex: number[] = [];
      /** How Redis holds the sampled keys (`hash hashtable`, `zset listpack`...): what decides their size. */
      const encodings: Record<string, number> = {};
      const encoding = async (type: string, key: string): Promise<void> => {
        const name = `${type} ${String(await admin.sendCommand(['OBJECT', 'ENCODING', key]))}`;
        encodings[name] = (encodings[name] ?? 0) + 1;
      };
      for (const id of ids) {
        sessionKey.push(await memoryUsage(`${prefix}s:${id}`));
        await encoding('session hash', `${prefix}s:${id}`);
      }
      for (const userId of userIds) {
        const members = Number(await admin.sendCommand(['ZCARD', `${prefix}u:${userId}`]));
        if (!(members > 0)) throw new Error(`redis ${label}: the user index of ${userId} is empty`);
        userIndex.push((await memoryUsage(`${prefix}u:${userId}`)) / members);
        await encoding('user index zset', `${prefix}u:${userId}`);
      }
      return { sessionKey, userIndex, encodings };
    },
    async dispose() {
      await store.close().catch(() => undefined);
      await admin.quit().catch(() => undefined);
      await redis.stop();
    },
  };
}

/** Redis server settings whose effect on bytes per session the scale run reports next to the defaults. */
export const REDIS_MEMORY_SETTINGS: readonly { name: string; config: readonly string[] }[] = [
  // Sessions stay in the compact listpack encoding while every value is at most this long; a browser's user agent
  // (101 characters here) is longer than the default 64, which turns every session hash into a hashtable.
  { name: 'hash-max-listpack-value 128', config: ['--hash-max-listpack-value', '128'] },
];

/**
 * Bytes per session on a private Redis started with `config`, filled with `count` sessions like the large instance:
 * `MEMORY USAGE` of `sample` session keys and user indexes, their encodings, and the growth of `used_memory` ÷ `count`.
 */
export async function redisBytesWith(
  config: readonly string[],
  count: number,
  sample: number,
  core: number | undefined,
): Promise<{ sessionKey: number[]; userIndex: number[]; encodings: Record<string, number>; usedMemoryPerSession: number }> {
  const inst = await openRedis('settings', core, config);
  try {
    const now = Date.now();
    // Ids as the store is given them (SHA-256, base64url: 43 characters), so the keys are as long as the real ones.
    const id = (i: number) => createHash('sha256').update(`settings:${now}:${i}`).digest('base64url');
    const before = await inst.footprint();
    await inst.fill(
      count,
      id,
      (i) => fillRecord(now, i),
      () => undefined,
    );
    const after = await inst.footprint();
    const picks = Array.from({ length: sample }, (_, k) => Math.floor((k * count) / sample));
    const bytes = await inst.sessionBytes!(
      picks.map(id),
      picks.map((i) => `scale-${i}`),
    );
    return { ...bytes, usedMemoryPerSession: (after.usedMemory - before.usedMemory) / count };
  } finally {
    await inst.dispose();
  }
}

// -------------------------------------------------------------------------------------------- PostgreSQL

/** The shared PostgreSQL of this machine (trust authentication); the run makes databases of its own on it. */
const PG = { type: 'postgres', host: '127.0.0.1', port: 5432, username: 'postgres' } as const;
/** Rows per INSERT while filling (22 columns each: 22,000 parameters, under PostgreSQL's 65,535). */
const PG_FILL_ROWS = 1000;
/** INSERTs in flight at once while filling (each on its own pooled connection). */
const PG_FILL_PARALLEL = 4;

/** Runs `sql` on the server's `postgres` database (to create and drop the run's own databases). */
async function onMaintenanceDb(sql: string): Promise<void> {
  const ds = new DataSource({ ...PG, database: 'postgres' });
  try {
    await ds.initialize();
  } catch (error) {
    throw new Error(
      `scale: cannot reach PostgreSQL at 127.0.0.1:5432 as postgres (${(error as Error).message}); start it with scripts/ensure-services.sh`,
      { cause: error },
    );
  }
  try {
    await ds.query(sql);
  } finally {
    await ds.destroy();
  }
}

/**
 * The TypeORM store on a database of its own on the shared PostgreSQL (`nsk_bench_scale_<label>`, made by the store's
 * migrations and dropped after the run; database `test` is never touched), filled by multi-row INSERTs of the store's
 * own row encoding (`SESSION_COLUMNS`, `sessionValues`), then `VACUUM ANALYZE`d (as autovacuum would after such a load)
 * and checkpointed.
 */
export const POSTGRES_BACKEND: ScaleBackend = {
  name: 'postgres',
  variant: 'kit-postgres',
  async open(label) {
    const database = `nsk_bench_scale_${label}`;
    // A database left by an interrupted run is dropped first; the name is the scale run's alone.
    await onMaintenanceDb(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await onMaintenanceDb(`CREATE DATABASE ${database}`);
    const { SESSION_MIGRATIONS, TypeOrmSessionStore } = await import('../lib/stores/typeorm');
    const { SESSION_COLUMNS, sessionValues } = await import('../lib/stores/typeorm/session-row');
    const { SESSION_TABLE } = await import('../lib/stores/typeorm/schema');
    // The driver's connections (fill and per-user timings, never the app servers') commit without waiting for the WAL
    // flush: that wait is the disk's, the same at any table size, and on this shared VM it scatters from 1 to 20 ms,
    // which would drown the queries' own cost that the per-user timings are after.
    const dataSource = await new DataSource({
      ...PG,
      database,
      migrations: SESSION_MIGRATIONS,
      migrationsRun: true,
      extra: { max: PG_FILL_PARALLEL + 2, options: '-c synchronous_commit=off' },
    }).initialize();
    const [sync] = (await dataSource.query('SHOW synchronous_commit')) as { synchronous_commit: string }[];
    if (sync?.synchronous_commit !== 'off')
      throw new Error(`postgres ${label}: synchronous_commit is ${sync?.synchronous_commit}, expected off on the driver's connections`);
    // No background cleanup in the driver's store: only the app servers' stores run theirs, as in production.
    const store = new TypeOrmSessionStore({ dataSource, cleanupIntervalMs: 0 });
    await store.connect();
    const insert = async (from: number, to: number, id: (i: number) => string, record: (i: number) => SessionRecord): Promise<void> => {
      const params: unknown[] = [];
      const rows: string[] = [];
      for (let i = from; i < to; i++) {
        const values = sessionValues(id(i), record(i));
        rows.push(`(${values.map((_, c) => `$${params.length + c + 1}`).join(', ')})`);
        params.push(...values);
      }
      await dataSource.query(`INSERT INTO ${SESSION_TABLE} (${SESSION_COLUMNS.join(', ')}) VALUES ${rows.join(', ')}`, params);
    };
    return {
      description: `database ${database} on the shared PostgreSQL at 127.0.0.1:5432`,
      appEnv: { BENCH_PG_DATABASE: database },
      store,
      async fill(count, id, record, progress) {
        let next = 0;
        let done = 0;
        const worker = async (): Promise<void> => {
          while (next < count) {
            const from = next;
            const to = Math.min(count, from + PG_FILL_ROWS);
            next = to;
            await insert(from, to, id, record);
            done += to - from;
            progress(done);
          }
        };
        await Promise.all(Array.from({ length: PG_FILL_PARALLEL }, worker));
        await dataSource.query(`VACUUM ANALYZE ${SESSION_TABLE}`);
        // Write the load's dirty pages out now (hundreds of MB at 1M), so that no measurement meets the checkpoint
        // or a backend that must flush a dirty buffer before it can read an index page: the runs are about steady
        // state, not the minutes after a bulk load (in a run without it, the large instance's per-user timings taken
        // about five minutes after its fill, when the server's own checkpoint was due, ran 13-36% slower than at 1k).
        await dataSource.query('CHECKPOINT');
      },
      async sessionCount() {
        const [row] = (await dataSource.query(`SELECT count(*) AS n FROM ${SESSION_TABLE}`)) as { n: string }[];
        return Number(row.n);
      },
      async footprint() {
        const [row] = (await dataSource.query(
          `SELECT pg_table_size('${SESSION_TABLE}') AS "table", pg_indexes_size('${SESSION_TABLE}') AS "indexes"`,
        )) as { table: string; indexes: string }[];
        return { table: Number(row.table), indexes: Number(row.indexes) };
      },
      async dispose() {
        await store.close().catch(() => undefined);
        await dataSource.destroy().catch(() => undefined);
        await onMaintenanceDb(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      },
    };
  },
};

/** Every backend the scale run fills, in report order. Add a store here (with its app variant in bench/app.ts). */
export const SCALE_BACKENDS: readonly ScaleBackend[] = [REDIS_BACKEND, POSTGRES_BACKEND];

// ---------------------------------------------------------------------------------------------- records

/** Idle timeout of the filled sessions (ms): long enough that none expires during a run. */
const FILL_IDLE_MS = 12 * 60 * 60_000;
/** Absolute lifetime of the filled sessions (ms). */
const FILL_ABSOLUTE_MS = 24 * 60 * 60_000;

/**
 * The i-th filled session: user `scale-<i>` (one session per user, the most index entries per session), created
 * `now`, with the bench's user agent, a 12 h idle timeout of its own and a 24 h lifetime, so none expires during the
 * run. Fresh random id and handle, as a login would make.
 */
export function fillRecord(now: number, i: number): SessionRecord {
  return makeRecord(now, {
    userId: `scale-${i}`,
    userAgent: USER_AGENT,
    idleTimeoutMs: FILL_IDLE_MS,
    idleExpiresAt: now + FILL_IDLE_MS,
    absoluteExpiresAt: now + FILL_ABSOLUTE_MS,
  });
}

/** A fresh session id (what a store is given: 43 characters of base64url). */
export const freshId = (): string => newId();

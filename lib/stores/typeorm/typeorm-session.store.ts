import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { isStoreConnectionError } from '../../core/errors';
import {
  RotationPointer,
  applyChanges,
  countsTowardLimit,
  expiresAt,
  isExpired,
  pointerState,
  pointerWindows,
  rolesChange,
  startsCounting,
  touchChanges,
} from '../../core/lifecycle';
import { SessionChanges, SessionRecord } from '../../core/session-record';
import {
  CounterState,
  CreateOptions,
  CreateResult,
  ReadOptions,
  ReadResult,
  RotateOptions,
  RotateResult,
  RotationLimit,
  SessionStore,
  StoredSession,
  UpdateResult,
} from '../session-store';
import {
  dataSourceNotInitialized,
  databaseUnreachable,
  describeDatabase,
  isConnectionFailure,
  messageOf,
  operationTimedOut,
} from './connection-errors';
import { COUNTER_TABLE, SESSION_POINTER_TABLE, SESSION_TABLE } from './schema';
import {
  Connection,
  Dialect,
  sqliteTransaction,
  Mutex,
  isTransientFailure,
  lockUser,
  mutexFor,
  releaseUserLocks,
  sqlFamilyOf,
} from './sql-dialect';
import { SESSION_COLUMNS, SessionRow, assertStorable, decodeRow, sessionValues } from './session-row';

/** Options for {@link TypeOrmSessionStore}. */
export interface TypeOrmSessionStoreOptions {
  /**
   * Your TypeORM DataSource (PostgreSQL, MariaDB/MySQL through mysql2, or better-sqlite3), initialized, with the
   * tables of `SESSION_MIGRATIONS` (or `SESSION_ENTITIES` synchronised). It stays yours: the store never
   * initialises or destroys it, and `connect()` fails, saying so, when it is not initialized.
   */
  dataSource: DataSource;
  /**
   * How often (ms) expired sessions, forgotten rotation pointers and counters are deleted in the background;
   * the timer does not keep the process alive and stops in `close()`. 0 turns it off (run
   * `deleteExpired(Date.now())` yourself, e.g. from a cron job). Default 60,000 (one minute).
   */
  cleanupIntervalMs?: number;
  /**
   * Rows deleted per statement by the cleanup (each batch is a short statement of its own, so cleanup never
   * holds long locks). Default 500.
   */
  cleanupBatchSize?: number;
  /**
   * Longest time (ms) one store operation may take, from asking the pool for a connection to the last reply; past
   * it the operation fails with a `SessionStoreConnectionError` (the module answers 503), so a stalled or paused
   * database cannot hold requests, and their memory, for ever. The database's work is not cancelled: it ends, or
   * fails, on its own, and a write that finishes after its timeout stays written (a 503 never promises that nothing
   * happened). Also set the driver's own limits so a stalled connection goes back to the pool: for PostgreSQL
   * `connectTimeoutMS` (the pool's connect and acquire wait) and `extra: { query_timeout }`. 0 turns it off.
   * Default {@link DEFAULT_SQL_OPERATION_TIMEOUT_MS} (5000 ms; longer than Redis' 2000 ms because a transaction
   * may wait its turn for a user's lock).
   */
  operationTimeoutMs?: number;
}

/** Default {@link TypeOrmSessionStoreOptions.operationTimeoutMs}, in ms. */
export const DEFAULT_SQL_OPERATION_TIMEOUT_MS = 5000;

const DEFAULT_CLEANUP_INTERVAL_MS = 60_000;
const DEFAULT_CLEANUP_BATCH_SIZE = 500;
/** Compare-and-set retries when only a touch raced us; touches happen at most once per touch interval. */
const MAX_CAS_ATTEMPTS = 5;
/** Runs of a transaction that the database aborted as a deadlock or serialisation victim. */
const MAX_TRANSACTION_ATTEMPTS = 3;
/** Longest `setInterval` delay Node accepts (ms); beyond it the timer fires at once. */
const MAX_TIMER_MS = 2_147_483_647;
/**
 * The SQL form of `isExpired(record, now)` (`lib/core/lifecycle.ts`), with `?` bound to `now`: `expires_at` is
 * written as `expiresAt(record)` with every change, and a deadline is exclusive. The one copy of the rule in
 * SQL, needed where a delete must stay conditional inside the database (a concurrent re-authentication may
 * revive the row) or use the expiry index; the spec checks it against `isExpired` at the boundaries.
 */
const EXPIRED = 'expires_at <= ?';

const MISSING = { status: 'missing' } as const;
const TOMBSTONE = { status: 'tombstone' } as const;

type PointerRow = { successor_id: string; grace_until: unknown; until: unknown };
type CounterRow = { n: unknown; reset_at: unknown };

/**
 * A {@link SessionStore} on a relational database through TypeORM: PostgreSQL, MariaDB/MySQL or SQLite
 * (better-sqlite3). Import it from `nest-session-kit/typeorm`.
 *
 * Every operation is atomic: single rows change by compare-and-set (`UPDATE ... WHERE id = ? AND version = ?`,
 * checking the affected-row count), and the operations that change a user's set of sessions (create with its
 * eviction, rotate, logout everywhere) run in a READ COMMITTED transaction holding a per-user lock (a
 * PostgreSQL advisory lock, a MariaDB/MySQL `GET_LOCK`) and row locks (`SELECT ... FOR UPDATE`). On SQLite,
 * whose single TypeORM connection cannot hold two transactions, the store runs its operations one at a time
 * (`BEGIN IMMEDIATE` for the multi-statement ones).
 *
 * The lifecycle rules (expiry, idle touch, version bumps, rotation pointers) are those of
 * `lib/core/lifecycle.ts`, called rather than restated. Decisions use the `now` passed in, never the database
 * clock. A corrupted row reads as missing. When the database cannot be reached, times out or drops the
 * connection, methods throw a `SessionStoreConnectionError` naming it; any other database error (a bug, a
 * value a column cannot hold) is rethrown as it is.
 *
 * @example
 * const dataSource = new DataSource({
 *   type: 'postgres', url: process.env.DATABASE_URL,
 *   migrations: SESSION_MIGRATIONS, migrationsRun: true,
 * });
 * await dataSource.initialize();
 * const store = new TypeOrmSessionStore({ dataSource });
 * await store.connect(); // SessionModule does this at start-up
 */
export class TypeOrmSessionStore extends SessionStore {
  private readonly dataSource: DataSource;
  private readonly dialect: Dialect;
  /** Set on SQLite only (see the class comment). */
  private readonly mutex?: Mutex;
  private readonly cleanupBatchSize: number;
  private readonly operationTimeoutMs: number;
  private readonly logger = new Logger('TypeOrmSessionStore');
  private cleanupTimer?: NodeJS.Timeout;
  private cleanupRun?: Promise<void>;
  /** The database for error messages: type, host:port/database or file, never credentials. */
  private readonly database: string;

  private readonly sessions: string;
  private readonly pointers: string;
  private readonly counters: string;
  private readonly columns: string;
  /** `until` is a reserved word in MySQL. */
  private readonly until: string;

  constructor(options: TypeOrmSessionStoreOptions) {
    super();
    if (!options?.dataSource) throw new TypeError('TypeOrmSessionStore: the dataSource option is required');
    this.dataSource = options.dataSource;
    const family = sqlFamilyOf(this.dataSource);
    // TypeORM puts unqualified tables in the DataSource's `schema` on PostgreSQL; so must our SQL.
    const schema = family === 'postgres' ? (this.dataSource.options as { schema?: string }).schema : undefined;
    this.dialect = new Dialect(family, schema);
    if (family === 'sqlite') this.mutex = mutexFor(this.dataSource);
    this.database = describeDatabase(this.dataSource.options);

    const interval = options.cleanupIntervalMs ?? DEFAULT_CLEANUP_INTERVAL_MS;
    if (!Number.isInteger(interval) || interval < 0 || interval > MAX_TIMER_MS) {
      throw new RangeError(
        `TypeOrmSessionStore: cleanupIntervalMs must be an integer from 0 (off) to ${MAX_TIMER_MS} ms (got ${options.cleanupIntervalMs})`,
      );
    }
    this.operationTimeoutMs = options.operationTimeoutMs ?? DEFAULT_SQL_OPERATION_TIMEOUT_MS;
    if (!Number.isInteger(this.operationTimeoutMs) || this.operationTimeoutMs < 0 || this.operationTimeoutMs > MAX_TIMER_MS) {
      throw new RangeError(
        `TypeOrmSessionStore: operationTimeoutMs must be an integer from 0 (off) to ${MAX_TIMER_MS} ms, e.g. 5000 (got ${options.operationTimeoutMs})`,
      );
    }
    this.cleanupBatchSize = options.cleanupBatchSize ?? DEFAULT_CLEANUP_BATCH_SIZE;
    assertBatchSize(this.cleanupBatchSize, 'cleanupBatchSize');

    this.sessions = this.dialect.table(SESSION_TABLE);
    this.pointers = this.dialect.table(SESSION_POINTER_TABLE);
    this.counters = this.dialect.table(COUNTER_TABLE);
    this.columns = SESSION_COLUMNS.filter((c) => c !== 'expires_at').join(', ');
    this.until = this.dialect.quote('until');

    if (interval > 0) {
      this.cleanupTimer = setInterval(() => this.runCleanup(), interval);
      this.cleanupTimer.unref();
    }
  }

  /**
   * Checks that the store can serve: the DataSource is initialized, the database answers, and the session tables
   * have the columns this version needs. The module awaits it at start-up. The DataSource is yours, so the store
   * does not initialize it. Safe to call more than once.
   *
   * @throws SessionStoreConnectionError when the DataSource is not initialized or the database cannot be reached
   *   (the message names the database, without credentials, and what to check).
   * @throws Error when the tables are missing or older than this version (run `SESSION_MIGRATIONS`).
   */
  override async connect(): Promise<void> {
    await this.withConnection('connect', async (db) => {
      await db.rows('SELECT 1 AS ok');
      try {
        // Selects nothing, but fails on a missing table or column: a schema the migrations have not reached.
        await db.rows(`SELECT ${this.columns} FROM ${this.sessions} WHERE 1 = 0`);
        await db.rows(`SELECT id, successor_id, grace_until, ${this.until} FROM ${this.pointers} WHERE 1 = 0`);
        await db.rows(`SELECT ${this.dialect.quote('key')}, ${this.dialect.quote('count')}, reset_at FROM ${this.counters} WHERE 1 = 0`);
      } catch (error) {
        if (isConnectionFailure(error)) throw error;
        throw new Error(
          `TypeOrmSessionStore.connect: the session tables in ${this.database} are missing or older than this version ` +
            `(${messageOf(error)}). Add SESSION_MIGRATIONS (from nest-session-kit/typeorm) to the DataSource's ` +
            '`migrations` and run them (`migrationsRun: true`, or `typeorm migration:run`), or synchronize SESSION_ENTITIES.',
          { cause: error },
        );
      }
    });
  }

  async create(id: string, record: SessionRecord, options: CreateOptions): Promise<CreateResult> {
    assertStorable(id, record, 'create');
    const { now, maxConcurrent } = options;
    // A session that does not count toward the limit (impersonation, pending) is never refused and evicts nothing.
    const limited = maxConcurrent > 0 && countsTowardLimit(record);
    return this.transaction('create', async (db): Promise<CreateResult> => {
      // The user lock makes the count and the insert one step: parallel logins of the user wait here in turn.
      await lockUser(db, record.userId);
      if (await this.idInUse(db, id)) {
        throw new Error('TypeOrmSessionStore.create: a session with this id already exists; ids must be fresh');
      }
      const rows = await db.rows<SessionRow>(
        `SELECT ${this.columns} FROM ${this.sessions} WHERE ${this.dialect.eq('user_id')} ORDER BY created_at, id${this.dialect.forUpdate}`,
        [record.userId],
      );
      const live: StoredSession[] = [];
      const dead: string[] = [];
      for (const row of rows) {
        const stored = decodeRow(row);
        if (stored && !isExpired(stored, now)) {
          if (countsTowardLimit(stored)) live.push({ id: row.id, record: stored });
        } else if (stored) dead.push(row.id);
      }
      if (limited && options.onLimit === 'deny-new' && live.length >= maxConcurrent) {
        return { status: 'denied', live: live.map((s) => s.record) };
      }
      // The newcomer goes after every session created at or before it, so a tie never evicts the newcomer.
      const position = live.findIndex((s) => s.record.createdAt > record.createdAt);
      const ranked = [...live];
      ranked.splice(position === -1 ? live.length : position, 0, { id, record });
      const victims = limited && options.onLimit !== 'deny-new' ? ranked.slice(0, Math.max(0, ranked.length - maxConcurrent)) : [];
      const doomed = [...dead, ...victims.filter((v) => v.id !== id).map((v) => v.id)];
      if (doomed.length > 0) {
        await db.exec(`DELETE FROM ${this.sessions} WHERE ${this.dialect.in('id', doomed.length)}`, doomed);
      }
      // As in the reference store, a newcomer older than every kept session (clock skew) is itself evicted.
      if (!victims.some((v) => v.id === id)) await this.insertSession(db, id, record);
      return { status: 'created', evicted: victims.map((v) => v.record) };
    });
  }

  async read(id: string, options: ReadOptions): Promise<ReadResult> {
    return this.withConnection('read', async (db) => {
      const row = await this.selectSession(db, id, false);
      if (row) return this.readLive(db, id, row, options, false);
      return this.readThroughPointer(db, id, options);
    });
  }

  /**
   * Compare-and-set on `version`. A rotated-away id whose pointer is still remembered (grace or tombstone) sends
   * the write on to its successor, one hop, so a write that was in flight when a rotation landed is compared
   * there (and, being stale, conflicts and retries at the id this returns) instead of being lost.
   */
  async update(id: string, expectedVersion: number, changes: SessionChanges, now: number): Promise<UpdateResult> {
    return this.withConnection('update', async (db) => {
      let at = id;
      let followed = false;
      for (let attempt = 1; ; attempt++) {
        const row = await this.selectSession(db, at, false);
        if (!row) {
          // Not a session, or no longer one: the row may have moved under a rotation since the last attempt.
          // The rotation committed its pointer with the move, so the pointer is visible whenever the row is gone.
          if (followed) return MISSING;
          const pointer = await this.selectPointer(db, at, false);
          if (!pointer || pointerState(pointer, now) === 'gone') return MISSING;
          at = pointer.successor;
          followed = true;
          continue;
        }
        const record = decodeRow(row);
        if (!record) return MISSING;
        if (isExpired(record, now)) {
          await this.deleteIfExpired(db, at, now);
          return MISSING;
        }
        // After MAX_CAS_ATTEMPTS lost races the caller gets a conflict with the current record and retries from
        // it, as it would after any other concurrent write.
        if (record.version !== expectedVersion || attempt > MAX_CAS_ATTEMPTS) return { status: 'conflict', id: at, record };
        const next = applyChanges(record, changes);
        assertStorable(at, next, 'update');
        // The WHERE clause is the whole state this write was computed from: the version, and the touch fields
        // (a touch moves them without a new version). Zero rows affected means someone wrote in between, or
        // rotated the row away.
        const affected = await db.exec(
          `UPDATE ${this.sessions} SET last_seen_at = ?, idle_expires_at = ?, absolute_expires_at = ?, expires_at = ?, idle_timeout_ms = ?,
             authenticated_at = ?, rotated_at = ?, aal = ?, stage = ?, roles_version = ?, rotate_required = ?, version = ?, data = ?
           WHERE ${this.dialect.eq('id')} AND version = ? AND last_seen_at = ? AND idle_expires_at = ?`,
          [
            next.lastSeenAt,
            next.idleExpiresAt,
            next.absoluteExpiresAt,
            expiresAt(next),
            next.idleTimeoutMs,
            next.authenticatedAt,
            next.rotatedAt,
            next.aal,
            next.stage,
            next.rolesVersion,
            next.rotateRequired,
            next.version,
            JSON.stringify(next.data),
            at,
            record.version,
            record.lastSeenAt,
            record.idleExpiresAt,
          ],
        );
        if (affected === 1) return { status: 'ok', id: at, record: next };
      }
    });
  }

  async rotate(oldId: string, newId: string, options: RotateOptions): Promise<RotateResult> {
    const { now, graceMs, changes, limit } = options;
    return this.transaction('rotate', async (db) => {
      const [owner] = await db.rows<{ user_id: string }>(`SELECT user_id FROM ${this.sessions} WHERE ${this.dialect.eq('id')}`, [oldId]);
      if (owner) {
        // The user lock orders this rotation with the user's creates and completions (which count and evict the
        // user's rows); the row lock then makes parallel rotations of this id wait for the first one, which deletes
        // the row.
        await lockUser(db, owner.user_id);
        const row = await this.selectSession(db, oldId, true);
        if (row) return this.moveSession(db, oldId, newId, row, now, graceMs, changes, limit);
      }
      // Not (or no longer) a session: a rotation that won the race may have left a pointer. READ COMMITTED
      // gives every statement a fresh snapshot, so the pointer committed by the winner is visible here.
      const pointer = await this.selectPointer(db, oldId, false);
      if (!pointer) return MISSING;
      switch (pointerState(pointer, now)) {
        case 'gone':
          return MISSING;
        case 'tombstone':
          return TOMBSTONE;
        case 'grace': {
          const successorRow = await this.selectSession(db, pointer.successor, false);
          const successor = successorRow ? decodeRow(successorRow) : null;
          if (!successor || isExpired(successor, now)) return MISSING;
          return { status: 'superseded', id: pointer.successor, record: successor };
        }
      }
    });
  }

  /**
   * Deletes the session; through a remembered rotation pointer (grace or tombstone), the session it points to.
   * The contract gives this method no `now`, so "remembered" is judged by this machine's clock: a forgotten old
   * token (past the pointer's `until`, not yet cleaned up) ends nothing.
   */
  async destroy(id: string): Promise<SessionRecord | null> {
    const now = Date.now();
    return this.transaction('destroy', async (db) => {
      const row = await this.selectSession(db, id, true);
      if (row) {
        await db.exec(`DELETE FROM ${this.sessions} WHERE ${this.dialect.eq('id')}`, [id]);
        return decodeRow(row);
      }
      const pointer = await this.selectPointer(db, id, true);
      if (!pointer) return null;
      await db.exec(`DELETE FROM ${this.pointers} WHERE ${this.dialect.eq('id')}`, [id]);
      if (pointerState(pointer, now) === 'gone') return null;
      const successor = await this.selectSession(db, pointer.successor, true);
      if (!successor) return null;
      await db.exec(`DELETE FROM ${this.sessions} WHERE ${this.dialect.eq('id')}`, [pointer.successor]);
      return decodeRow(successor);
    });
  }

  async listByUser(userId: string, now: number): Promise<StoredSession[]> {
    return this.withConnection('listByUser', async (db) => {
      const rows = await db.rows<SessionRow>(
        `SELECT ${this.columns} FROM ${this.sessions} WHERE ${this.dialect.eq('user_id')} ORDER BY created_at, id`,
        [userId],
      );
      const live: StoredSession[] = [];
      let expired = false;
      for (const row of rows) {
        const record = decodeRow(row);
        if (record && !isExpired(record, now)) live.push({ id: row.id, record });
        else if (record) expired = true;
      }
      if (expired) await db.exec(`DELETE FROM ${this.sessions} WHERE ${this.dialect.eq('user_id')} AND ${EXPIRED}`, [userId, now]);
      return live;
    });
  }

  /**
   * Deletes every session of the user except `exceptId`. Atomic with respect to the user's concurrent creates
   * and rotations: it holds the same per-user lock, so none of them can add a row while it runs.
   */
  async destroyByUser(userId: string, exceptId?: string): Promise<SessionRecord[]> {
    return this.transaction('destroyByUser', async (db) => {
      await lockUser(db, userId);
      const keep = exceptId === undefined ? '' : ` AND ${this.dialect.ne('id')}`;
      const params = exceptId === undefined ? [userId] : [userId, exceptId];
      const rows = await db.rows<SessionRow>(
        `SELECT ${this.columns} FROM ${this.sessions} WHERE ${this.dialect.eq('user_id')}${keep} ORDER BY created_at, id${this.dialect.forUpdate}`,
        params,
      );
      if (rows.length === 0) return [];
      await db.exec(`DELETE FROM ${this.sessions} WHERE ${this.dialect.eq('user_id')}${keep}`, params);
      return rows.map(decodeRow).filter((r): r is SessionRecord => r !== null);
    });
  }

  async destroyByHandle(userId: string, handle: string): Promise<SessionRecord | null> {
    return this.transaction('destroyByHandle', async (db) => {
      const [row] = await db.rows<SessionRow>(
        `SELECT ${this.columns} FROM ${this.sessions} WHERE ${this.dialect.eq('user_id')} AND ${this.dialect.eq('handle')}${this.dialect.forUpdate}`,
        [userId, handle],
      );
      if (!row) return null;
      await db.exec(`DELETE FROM ${this.sessions} WHERE ${this.dialect.eq('id')}`, [row.id]);
      return decodeRow(row);
    });
  }

  /**
   * Marks every session of the user (expired ones not yet collected included: this method has no `now`) in
   * one UPDATE, so it is atomic on its own.
   */
  async requireRotationForUser(userId: string): Promise<number> {
    return this.withConnection('requireRotationForUser', (db) =>
      db.exec(
        `UPDATE ${this.sessions} SET rotate_required = ?, roles_version = roles_version + 1, version = version + 1
         WHERE ${this.dialect.eq('user_id')}`,
        [true, userId],
      ),
    );
  }

  /**
   * Replaces the roles of the user's live sessions in one transaction holding the user lock and the rows' locks,
   * so a parallel create, rotation or logout everywhere of the user waits for it (and a parallel update or touch of
   * one of the sessions conflicts on the version and retries from the new roles).
   */
  async updateUserRoles(userId: string, roles: string[], now: number): Promise<number> {
    const json = JSON.stringify(roles);
    return this.transaction('updateUserRoles', async (db) => {
      await lockUser(db, userId);
      const rows = await db.rows<SessionRow>(
        `SELECT ${this.columns} FROM ${this.sessions} WHERE ${this.dialect.eq('user_id')} ORDER BY created_at, id${this.dialect.forUpdate}`,
        [userId],
      );
      let changed = 0;
      for (const row of rows) {
        const record = decodeRow(row);
        if (!record || isExpired(record, now)) continue;
        const change = rolesChange(record.roles, roles);
        if (change === 'same') continue;
        // An elevation rotates at the next request; a demotion never cancels a rotation already due.
        const next = applyChanges(record, {
          rolesVersion: record.rolesVersion + 1,
          rotateRequired: record.rotateRequired || change === 'elevation',
        });
        assertStorable(row.id, next, 'updateUserRoles');
        await db.exec(
          `UPDATE ${this.sessions} SET roles = ?, roles_version = ?, rotate_required = ?, version = ? WHERE ${this.dialect.eq('id')}`,
          [json, next.rolesVersion, next.rotateRequired, next.version, row.id],
        );
        changed++;
      }
      return changed;
    });
  }

  async countByUser(userId: string, now: number): Promise<number> {
    return this.withConnection('countByUser', async (db) => {
      const rows = await db.rows<SessionRow>(`SELECT ${this.columns} FROM ${this.sessions} WHERE ${this.dialect.eq('user_id')}`, [userId]);
      // Decoded like everywhere else, so a corrupted row, which reads as missing, is not counted either.
      return rows.filter((row) => {
        const record = decodeRow(row);
        return record !== null && !isExpired(record, now);
      }).length;
    });
  }

  async increment(key: string, windowMs: number, now: number): Promise<CounterState> {
    if (!Number.isSafeInteger(windowMs) || windowMs <= 0) {
      throw new RangeError(`TypeOrmSessionStore.increment: windowMs must be a positive integer (got ${windowMs})`);
    }
    if (!Number.isSafeInteger(now)) throw new RangeError(`TypeOrmSessionStore.increment: now must be an integer (got ${now})`);
    const q = (name: string) => this.dialect.quote(name);
    const resetAt = now + windowMs;
    if (this.dialect.family === 'mysql') {
      // No RETURNING on MySQL: the upsert keeps the row locked until COMMIT, so the SELECT in the same
      // transaction reads exactly the value this increment produced. `count` is assigned first, while
      // `reset_at` still holds the old window end (MySQL applies assignments left to right).
      return this.transaction('increment', async (db) => {
        await db.exec(
          `INSERT INTO ${this.counters} (${q('key')}, ${q('count')}, reset_at) VALUES (?, 1, ?)
           ON DUPLICATE KEY UPDATE ${q('count')} = IF(reset_at <= ?, 1, ${q('count')} + 1), reset_at = IF(reset_at <= ?, ?, reset_at)`,
          [key, resetAt, now, now, resetAt],
        );
        // Plain equality: the upsert matched the key by the primary key's collation, and so must this read.
        const [row] = await db.rows<CounterRow>(`SELECT ${q('count')} AS n, reset_at FROM ${this.counters} WHERE ${q('key')} = ?`, [key]);
        return toCounterState(row);
      });
    }
    return this.withConnection('increment', async (db) => {
      const [row] = await db.rows<CounterRow>(
        `INSERT INTO ${this.counters} AS c (${q('key')}, ${q('count')}, reset_at) VALUES (?, 1, ?)
         ON CONFLICT (${q('key')}) DO UPDATE SET
           ${q('count')} = CASE WHEN c.reset_at <= ? THEN 1 ELSE c.${q('count')} + 1 END,
           reset_at = CASE WHEN c.reset_at <= ? THEN ? ELSE c.reset_at END
         RETURNING ${q('count')} AS n, reset_at`,
        [key, resetAt, now, now, resetAt],
      );
      return toCounterState(row);
    });
  }

  async resetCounter(key: string): Promise<void> {
    await this.withConnection('resetCounter', (db) =>
      db.exec(`DELETE FROM ${this.counters} WHERE ${this.dialect.quote('key')} = ?`, [key]),
    );
  }

  async ping(): Promise<void> {
    await this.withConnection('ping', (db) => db.rows('SELECT 1 AS ok'));
  }

  /** Stops the cleanup timer and waits for a cleanup in progress. The DataSource stays open: it is yours. */
  async close(): Promise<void> {
    if (this.cleanupTimer) clearInterval(this.cleanupTimer);
    this.cleanupTimer = undefined;
    await this.cleanupRun;
  }

  /**
   * Deletes sessions that are over, rotation pointers that are forgotten (`until` reached: tombstones included
   * until then) and counters whose window ended, at `now` (ms since epoch), `batchSize` rows per statement,
   * oldest first, until none is left. Each batch selects the ids through the table's deadline index
   * (`ORDER BY ... LIMIT`, which every database supports, unlike `DELETE ... LIMIT`) and deletes them by id, so
   * no statement holds locks for long. The background timer calls it with `Date.now()`.
   *
   * @param now ms since epoch: rows whose deadline is at or before it go.
   * @param batchSize rows per statement; default the store's `cleanupBatchSize` (500).
   * @returns how many rows were deleted, all three tables together.
   */
  async deleteExpired(now: number, batchSize: number = this.cleanupBatchSize): Promise<number> {
    assertBatchSize(batchSize, 'deleteExpired batchSize');
    const sessions = await this.deleteInBatches(this.sessions, 'id', 'expires_at', now, batchSize, true);
    // `until` and not `grace_until`: past its grace window a pointer is a tombstone, which still has work to do.
    const pointers = await this.deleteInBatches(this.pointers, 'id', this.until, now, batchSize, true);
    const counters = await this.deleteInBatches(this.counters, this.dialect.quote('key'), 'reset_at', now, batchSize, false);
    return sessions + pointers + counters;
  }

  private async deleteInBatches(
    table: string,
    key: string,
    deadline: string,
    now: number,
    batchSize: number,
    exactKey: boolean,
  ): Promise<number> {
    let deleted = 0;
    for (;;) {
      // Each batch is its own short operation, so other requests interleave between batches (on SQLite too).
      const batch = await this.withConnection('deleteExpired', async (db) => {
        const rows = await db.rows<{ k: string }>(`SELECT ${key} AS k FROM ${table} WHERE ${deadline} <= ? ORDER BY ${deadline} LIMIT ?`, [
          now,
          batchSize,
        ]);
        if (rows.length === 0) return { selected: 0, affected: 0 };
        const keys = rows.map((r) => r.k);
        const match = exactKey ? this.dialect.in(key, keys.length) : `${key} IN (${keys.map(() => '?').join(', ')})`;
        // The deadline is checked again: a row touched since the SELECT is alive and stays.
        const affected = await db.exec(`DELETE FROM ${table} WHERE ${match} AND ${deadline} <= ?`, [...keys, now]);
        return { selected: rows.length, affected };
      });
      deleted += batch.affected;
      if (batch.selected < batchSize) return deleted;
    }
  }

  private runCleanup(): void {
    if (this.cleanupRun || !this.dataSource.isInitialized) return;
    this.cleanupRun = this.deleteExpired(Date.now())
      .then(
        () => undefined,
        (error: unknown) => {
          // A cleanup that fails (database briefly down) is retried at the next tick; requests are unaffected.
          this.logger.warn(`Expired-session cleanup failed: ${messageOf(error)}`);
        },
      )
      .finally(() => {
        this.cleanupRun = undefined;
      });
  }

  /**
   * The read path after the row was found: expiry, then the touch (`touchChanges`) as a conditional UPDATE
   * when due. `viaGrace` says the row was reached through a grace pointer.
   */
  private async readLive(db: Connection, id: string, found: SessionRow, options: ReadOptions, viaGrace: boolean): Promise<ReadResult> {
    const { now, idleTimeoutMs, touchIntervalMs } = options;
    const active = (record: SessionRecord): ReadResult => ({ status: 'active', id, record, viaGrace });
    let row: SessionRow | null = found;
    for (let attempt = 1; ; attempt++) {
      const record = decodeRow(row);
      if (!record) return MISSING;
      if (isExpired(record, now)) {
        await this.deleteIfExpired(db, id, now);
        return { status: 'expired', record };
      }
      // No touch when none is due or it would change nothing (MySQL would then report 0 affected rows, which
      // means "lost the race" below). After MAX_CAS_ATTEMPTS lost races the touch waits for the next request.
      const touch = touchChanges(record, now, idleTimeoutMs, touchIntervalMs);
      if (!touch || attempt > MAX_CAS_ATTEMPTS) return active(record);
      const touched = applyChanges(record, touch, false);
      // Conditional on the exact state read, so a touch never overwrites a concurrent update or re-authentication.
      const affected = await db.exec(
        `UPDATE ${this.sessions} SET last_seen_at = ?, idle_expires_at = ?, expires_at = ?
         WHERE ${this.dialect.eq('id')} AND version = ? AND last_seen_at = ? AND idle_expires_at = ? AND absolute_expires_at = ?`,
        [
          touched.lastSeenAt,
          touched.idleExpiresAt,
          expiresAt(touched),
          id,
          record.version,
          record.lastSeenAt,
          record.idleExpiresAt,
          record.absoluteExpiresAt,
        ],
      );
      if (affected === 1) return active(touched);
      row = await this.selectSession(db, id, false);
      if (!row) {
        // The row moved between the SELECT and the touch: a parallel rotation took it to a new id (or it was
        // destroyed). A rotation commits its pointer together with the move, so the pointer is visible now:
        // answer as a read that started a moment later would. A read that already followed a pointer does not
        // follow another (one hop).
        return viaGrace ? MISSING : this.readThroughPointer(db, id, options);
      }
    }
  }

  /** The read of an id that is not a session: what its rotation pointer, if any, says at `now`. */
  private async readThroughPointer(db: Connection, id: string, options: ReadOptions): Promise<ReadResult> {
    const pointer = await this.selectPointer(db, id, false);
    if (!pointer) return MISSING;
    switch (pointerState(pointer, options.now)) {
      case 'gone':
        // A pointer never changes once written and its id is never reused, so deleting by id alone is safe.
        await db.exec(`DELETE FROM ${this.pointers} WHERE ${this.dialect.eq('id')}`, [id]);
        return MISSING;
      case 'tombstone':
        return TOMBSTONE;
      case 'grace': {
        // One hop only: the successor is read as a session, never followed as a pointer again.
        const successor = await this.selectSession(db, pointer.successor, false);
        if (!successor) return MISSING;
        return this.readLive(db, pointer.successor, successor, options, true);
      }
    }
  }

  /**
   * Moves a locked session row to `newId` (version bumped, `changes` applied) and leaves a pointer at `oldId`,
   * with the windows of `pointerWindows`: even with `graceMs` 0, when the pointer is a tombstone at once. When the
   * changes make the session start counting (a pending session completing), holds `limit` first, under the user
   * lock the caller took: the user's other counted rows are locked, then evicted or the rotation refused.
   */
  private async moveSession(
    db: Connection,
    oldId: string,
    newId: string,
    row: SessionRow,
    now: number,
    graceMs: number,
    changes: SessionChanges,
    limit: RotationLimit | undefined,
  ): Promise<RotateResult> {
    const record = decodeRow(row);
    if (!record) return MISSING;
    if (isExpired(record, now)) {
      await this.deleteIfExpired(db, oldId, now);
      return MISSING;
    }
    const next = applyChanges(record, changes);
    assertStorable(newId, next, 'rotate');
    if (await this.idInUse(db, newId)) {
      throw new Error('TypeOrmSessionStore.rotate: the new id is already in use; ids must be fresh');
    }
    const limited = limit !== undefined && limit.maxConcurrent > 0 && startsCounting(record, next);
    let victims: StoredSession[] = [];
    if (limited) {
      // Decided before anything moves, so a refusal leaves the session exactly as it was. The rotating session is
      // never a victim: its completion is the user's newest sign-in.
      const others = (await this.lockedLiveSessions(db, record.userId, now, oldId)).filter((s) => countsTowardLimit(s.record));
      const excess = others.length + 1 - limit.maxConcurrent;
      if (excess > 0) {
        if (limit.onLimit === 'deny-new') return { status: 'denied', live: others.map((s) => s.record) };
        victims = others.slice(0, excess);
      }
    }
    // Delete before insert: the handle stays the same and is unique.
    await db.exec(`DELETE FROM ${this.sessions} WHERE ${this.dialect.eq('id')}`, [oldId]);
    await this.insertSession(db, newId, next);
    const { graceUntil, until } = pointerWindows(now, graceMs);
    await db.exec(`INSERT INTO ${this.pointers} (id, successor_id, grace_until, ${this.until}) VALUES (?, ?, ?, ?)`, [
      oldId,
      newId,
      graceUntil,
      until,
    ]);
    if (!limited) return { status: 'rotated', record: next };
    if (victims.length > 0) {
      await db.exec(
        `DELETE FROM ${this.sessions} WHERE ${this.dialect.in('id', victims.length)}`,
        victims.map((v) => v.id),
      );
    }
    return { status: 'rotated', record: next, evicted: victims.map((v) => v.record) };
  }

  /**
   * The user's live sessions but `exceptId`, oldest first (`created_at`, then id, as `create` ranks them), with
   * their rows locked until the transaction ends. Rows that are over or corrupted are left out.
   */
  private async lockedLiveSessions(db: Connection, userId: string, now: number, exceptId: string): Promise<StoredSession[]> {
    const rows = await db.rows<SessionRow>(
      `SELECT ${this.columns} FROM ${this.sessions} WHERE ${this.dialect.eq('user_id')} AND ${this.dialect.ne('id')}
       ORDER BY created_at, id${this.dialect.forUpdate}`,
      [userId, exceptId],
    );
    const live: StoredSession[] = [];
    for (const row of rows) {
      const stored = decodeRow(row);
      if (stored && !isExpired(stored, now)) live.push({ id: row.id, record: stored });
    }
    return live;
  }

  private async insertSession(db: Connection, id: string, record: SessionRecord): Promise<void> {
    await db.exec(
      `INSERT INTO ${this.sessions} (${SESSION_COLUMNS.join(', ')}) VALUES (${SESSION_COLUMNS.map(() => '?').join(', ')})`,
      sessionValues(id, record),
    );
  }

  private async selectSession(db: Connection, id: string, forUpdate: boolean): Promise<SessionRow | null> {
    const [row] = await db.rows<SessionRow>(
      `SELECT ${this.columns} FROM ${this.sessions} WHERE ${this.dialect.eq('id')}${forUpdate ? this.dialect.forUpdate : ''}`,
      [id],
    );
    return row ?? null;
  }

  private async selectPointer(db: Connection, id: string, forUpdate: boolean): Promise<RotationPointer | null> {
    const [row] = await db.rows<PointerRow>(
      `SELECT successor_id, grace_until, ${this.until} FROM ${this.pointers} WHERE ${this.dialect.eq('id')}${forUpdate ? this.dialect.forUpdate : ''}`,
      [id],
    );
    // The drivers hand `bigint` back as strings. A value that is not a number makes the pointer `gone`.
    return row ? { successor: row.successor_id, graceUntil: Number(row.grace_until), until: Number(row.until) } : null;
  }

  /** Whether `id` names a session or a pointer: a fresh id must be neither. */
  private async idInUse(db: Connection, id: string): Promise<boolean> {
    const rows = await db.rows(
      `SELECT 1 AS hit FROM ${this.sessions} WHERE ${this.dialect.eq('id')}
       UNION ALL SELECT 1 AS hit FROM ${this.pointers} WHERE ${this.dialect.eq('id')}`,
      [id, id],
    );
    return rows.length > 0;
  }

  /** Deletes the session only if it is still over at `now`: a concurrent re-authentication may have revived it. */
  private async deleteIfExpired(db: Connection, id: string, now: number): Promise<void> {
    await db.exec(`DELETE FROM ${this.sessions} WHERE ${this.dialect.eq('id')} AND ${EXPIRED}`, [id, now]);
  }

  /**
   * Runs one operation of the store: refuses at once when the DataSource is not initialized (TypeORM's own
   * error for it names no database and no fix), and turns connectivity failures into
   * `SessionStoreConnectionError`. Every other error goes through unchanged: it is a bug to see, not an outage.
   */
  private async guarded<T>(operation: string, work: () => Promise<T>): Promise<T> {
    if (!this.dataSource.isInitialized) throw dataSourceNotInitialized(operation, this.database);
    try {
      return await (this.operationTimeoutMs > 0 ? this.bounded(operation, work()) : work());
    } catch (error) {
      if (isStoreConnectionError(error) || !isConnectionFailure(error)) throw error;
      throw databaseUnreachable(operation, this.database, error);
    }
  }

  /**
   * `pending`, or a `SessionStoreConnectionError` once `operationTimeoutMs` has passed. The race subscribes to
   * `pending`, so its late failure is handled, never an unhandled rejection.
   */
  private bounded<T>(operation: string, pending: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(operationTimedOut(operation, this.database, this.operationTimeoutMs)), this.operationTimeoutMs);
    });
    return Promise.race([pending, timeout]).finally(() => clearTimeout(timer));
  }

  /** Runs statements on one connection, without a transaction (each statement is atomic on its own). */
  private async withConnection<T>(operation: string, work: (db: Connection) => Promise<T>): Promise<T> {
    const run = async () => {
      const runner = this.dataSource.createQueryRunner();
      try {
        return await work(new Connection(runner, this.dialect));
      } finally {
        await runner.release();
      }
    };
    return this.guarded(operation, () => (this.mutex ? this.mutex.run(run) : run()));
  }

  /**
   * Runs `work` in one transaction on one connection, retrying it when the database aborted it as a deadlock
   * victim. READ COMMITTED on PostgreSQL and MariaDB/MySQL: every statement sees what other transactions
   * committed before it, which is what lets the losers of a rotation race see the winner's pointer once the
   * lock they waited for is released (MySQL's default REPEATABLE READ would show them the old snapshot).
   */
  private async transaction<T>(operation: string, work: (db: Connection) => Promise<T>): Promise<T> {
    return this.guarded(operation, () =>
      this.mutex ? this.mutex.run(() => sqliteTransaction(this.dataSource, this.dialect, work)) : this.serverTransaction(work),
    );
  }

  private async serverTransaction<T>(work: (db: Connection) => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    const db = new Connection(runner, this.dialect);
    let failed = false;
    try {
      for (let attempt = 1; ; attempt++) {
        await runner.startTransaction('READ COMMITTED');
        try {
          const result = await work(db);
          await runner.commitTransaction();
          return result;
        } catch (error) {
          if (runner.isTransactionActive) {
            // A failed rollback (connection lost) must not hide the error that caused it.
            await runner.rollbackTransaction().catch(() => undefined);
          }
          if (attempt < MAX_TRANSACTION_ATTEMPTS && isTransientFailure(error)) continue;
          failed = true;
          throw error;
        }
      }
    } finally {
      try {
        // MySQL user locks outlive transactions: release them before the connection goes back to the pool.
        // If the connection is broken the server has released them already, and the first error is the one
        // worth reporting.
        await releaseUserLocks(db).catch((error: unknown) => {
          if (!failed) throw error;
        });
      } finally {
        await runner.release();
      }
    }
  }
}

function assertBatchSize(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`TypeOrmSessionStore: ${name} must be a positive integer (got ${value})`);
  }
}

function toCounterState(row: CounterRow | undefined): CounterState {
  if (!row) throw new Error('TypeOrmSessionStore.increment: the counter row vanished during its own upsert');
  return { count: Number(row.n), resetAt: Number(row.reset_at) };
}

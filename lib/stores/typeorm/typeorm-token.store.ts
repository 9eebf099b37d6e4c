import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { isStoreConnectionError } from '../../core/errors';
import {
  AccessCheck,
  AccessRevocation,
  RefreshFamily,
  RefreshRotation,
  RefreshRotationResult,
  TokenStore,
  TokenStoreUnavailableError,
} from '../../tokens/token-store';
import { describeDatabase, isConnectionFailure, messageOf } from './connection-errors';
import { Connection, Dialect, sqliteTransaction, Mutex, isTransientFailure, mutexFor, sqlFamilyOf } from './sql-dialect';
import {
  CLIENT_ID_LENGTH,
  REFRESH_FAMILY_TABLE,
  REFRESH_TOKEN_TABLE,
  REVOCATION_SUBJECT_LENGTH,
  TOKEN_ID_LENGTH,
  TOKEN_REVOCATION_TABLE,
  TOKEN_USER_ID_LENGTH,
} from './token-schema';

/** Options of {@link TypeOrmTokenStore}. */
export interface TypeOrmTokenStoreOptions {
  /**
   * Your TypeORM DataSource (PostgreSQL, MariaDB/MySQL, or better-sqlite3), initialized, with the tables of
   * `TOKEN_MIGRATIONS`: typically the same DataSource as your `TypeOrmSessionStore`. It stays yours: the store never
   * initializes or destroys it.
   */
  dataSource: DataSource;
  /**
   * How often (ms) rows nothing can use any more are deleted in the background (tokens past their idle deadline,
   * families past their absolute deadline, revocation entries past `until`). The timer does not keep the process
   * alive and stops in `close()`. 0 turns it off (call `deleteExpired(Date.now())` yourself). Default 60,000 ms.
   */
  cleanupIntervalMs?: number;
}

const DEFAULT_CLEANUP_INTERVAL_MS = 60_000;
/** Longest `setInterval` delay Node accepts (ms). */
const MAX_TIMER_MS = 2_147_483_647;
/** Runs of a transaction the database aborted as a deadlock or serialisation victim. */
const MAX_TRANSACTION_ATTEMPTS = 3;

const FAMILY_COLUMNS = 'family_id, user_id, client_id, scope, aal, auth_time, created_at, absolute_expires_at, revoked_at';
const TOKEN_COLUMNS = 'token_id, family_id, idle_expires_at, used_at, grace_until, successor_id, sealed_successor';

interface FamilyRow {
  family_id: string;
  user_id: string;
  client_id: string;
  scope: string;
  aal: unknown;
  auth_time: unknown;
  created_at: unknown;
  absolute_expires_at: unknown;
  revoked_at: unknown;
}

interface TokenRow {
  token_id: string;
  family_id: string;
  idle_expires_at: unknown;
  used_at: unknown;
  grace_until: unknown;
  successor_id: string | null;
  sealed_successor: string | null;
}

/** A family row as the contract's {@link RefreshFamily} plus whether it is revoked. */
interface StoredFamily {
  family: RefreshFamily;
  revoked: boolean;
}

/** A token row, decoded: `used` set together with its grace deadline and successor. */
interface StoredToken {
  familyId: string;
  idleExpiresAt: number;
  used: { graceUntil: number; successorId: string; sealedSuccessor: string } | null;
}

/**
 * The {@link TokenStore} on a relational database through TypeORM: PostgreSQL, MariaDB/MySQL or SQLite
 * (better-sqlite3), next to the sessions of `TypeOrmSessionStore`, on the same DataSource. Import it from
 * `nest-session-kit/typeorm` and add `TOKEN_MIGRATIONS` to the DataSource's migrations.
 *
 * SQL cannot do every operation in one statement, so "one atomic operation" here means one transaction or one
 * conditional statement, never a read and a write across two awaits without one:
 * - `rotateRefresh` runs in a READ COMMITTED transaction holding the token's row lock (`SELECT ... FOR UPDATE`):
 *   parallel refreshes with one token wait for the first, then see it used (a locking read sees the latest
 *   committed row) and answer `grace` with its successor, so a family never forks. On SQLite, whose one TypeORM
 *   connection cannot hold two transactions, the store runs its operations one at a time (`BEGIN IMMEDIATE`).
 * - Revocations are conditional UPDATEs (`... WHERE revoked_at IS NULL AND absolute_expires_at > now`), whose
 *   affected-row count is the answer; `revokeAllForUser` ends the families and moves the cut-off in one transaction.
 * - The cut-off and the denylists are upserts keeping the later deadline (`ON CONFLICT` / `ON DUPLICATE KEY`).
 * - `checkAccess` is ONE indexed query over the three primary keys it may hit (the per-request cost of revocation).
 *
 * Decisions use the `now` passed in, never the database clock. A row no write of the store produces (a corrupted
 * one) reads as missing. The `jti` denylist is keyed by the SHA-256 of the issuer-qualified `jti`, so any length
 * fits the column. An unreachable database throws {@link TokenStoreUnavailableError} (503); any other database
 * error is a bug and is thrown as it is.
 *
 * @example
 * const dataSource = new DataSource({
 *   type: 'postgres', url: process.env.DATABASE_URL,
 *   migrations: [...SESSION_MIGRATIONS, ...TOKEN_MIGRATIONS], migrationsRun: true,
 * });
 * await dataSource.initialize();
 * const sessions = new TypeOrmSessionStore({ dataSource });
 * const tokens = new TypeOrmTokenStore({ dataSource });
 * await tokens.connect();
 */
export class TypeOrmTokenStore extends TokenStore {
  private readonly dataSource: DataSource;
  private readonly dialect: Dialect;
  /** Set on SQLite only (see the class comment). */
  private readonly mutex?: Mutex;
  private readonly logger = new Logger('TypeOrmTokenStore');
  private readonly database: string;
  private readonly families: string;
  private readonly tokens: string;
  private readonly revocations: string;
  /** `until` is a reserved word in MySQL. */
  private readonly until: string;
  private cleanupTimer?: NodeJS.Timeout;
  private cleanupRun?: Promise<void>;

  constructor(options: TypeOrmTokenStoreOptions) {
    super();
    if (!options?.dataSource)
      throw new TypeError('TypeOrmTokenStore: the dataSource option is required (an initialized TypeORM DataSource)');
    this.dataSource = options.dataSource;
    const family = sqlFamilyOf(this.dataSource);
    const schema = family === 'postgres' ? (this.dataSource.options as { schema?: string }).schema : undefined;
    this.dialect = new Dialect(family, schema);
    if (family === 'sqlite') this.mutex = mutexFor(this.dataSource);
    this.database = describeDatabase(this.dataSource.options);
    this.families = this.dialect.table(REFRESH_FAMILY_TABLE);
    this.tokens = this.dialect.table(REFRESH_TOKEN_TABLE);
    this.revocations = this.dialect.table(TOKEN_REVOCATION_TABLE);
    this.until = this.dialect.quote('until');

    const interval = options.cleanupIntervalMs ?? DEFAULT_CLEANUP_INTERVAL_MS;
    if (!Number.isInteger(interval) || interval < 0 || interval > MAX_TIMER_MS) {
      throw new RangeError(
        `TypeOrmTokenStore: cleanupIntervalMs must be an integer from 0 (off) to ${MAX_TIMER_MS} ms (got ${String(options.cleanupIntervalMs)})`,
      );
    }
    if (interval > 0) {
      this.cleanupTimer = setInterval(() => this.runCleanup(), interval);
      this.cleanupTimer.unref();
    }
  }

  /**
   * Checks that the database answers and that the token tables exist.
   *
   * @throws TokenStoreUnavailableError when the DataSource is not initialized or the database cannot be reached.
   * @throws Error when the tables are missing (add `TOKEN_MIGRATIONS` to the DataSource's migrations and run them).
   */
  override async connect(): Promise<void> {
    await this.withConnection('connect', async (db) => {
      await db.rows('SELECT 1 AS ok');
      try {
        await db.rows(`SELECT ${FAMILY_COLUMNS} FROM ${this.families} WHERE 1 = 0`);
        await db.rows(`SELECT ${TOKEN_COLUMNS} FROM ${this.tokens} WHERE 1 = 0`);
        await db.rows(`SELECT kind, subject, not_before, ${this.until} FROM ${this.revocations} WHERE 1 = 0`);
      } catch (error) {
        if (isConnectionFailure(error)) throw error;
        throw new Error(
          `TypeOrmTokenStore.connect: the token tables in ${this.database} are missing (${messageOf(error)}). Add TOKEN_MIGRATIONS ` +
            "(from nest-session-kit/typeorm) to the DataSource's `migrations` and run them (`migrationsRun: true`, or `typeorm migration:run`).",
          { cause: error },
        );
      }
    });
  }

  async createFamily(family: RefreshFamily, tokenId: string, now: number, idleTimeoutMs: number): Promise<void> {
    assertFamily(family);
    assertId(tokenId, 'tokenId', TOKEN_ID_LENGTH);
    assertNumber(now, 'now');
    assertNumber(idleTimeoutMs, 'idleTimeoutMs');
    await this.transaction('createFamily', async (db) => {
      const taken = await db.rows(
        `SELECT 1 AS hit FROM ${this.families} WHERE ${this.dialect.eq('family_id')}
         UNION ALL SELECT 1 AS hit FROM ${this.tokens} WHERE ${this.dialect.eq('token_id')}`,
        [family.familyId, tokenId],
      );
      if (taken.length > 0) {
        throw new Error('TypeOrmTokenStore.createFamily: the family id or token id exists already; generate fresh random values');
      }
      await db.exec(`INSERT INTO ${this.families} (${FAMILY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)`, [
        family.familyId,
        family.userId,
        family.clientId,
        family.scope,
        family.aal,
        family.authTime,
        family.createdAt,
        family.absoluteExpiresAt,
      ]);
      await this.insertToken(db, tokenId, family.familyId, Math.min(now + idleTimeoutMs, family.absoluteExpiresAt));
    });
  }

  async rotateRefresh(rotation: RefreshRotation): Promise<RefreshRotationResult> {
    const { tokenId, successorId, sealedSuccessor, now, idleTimeoutMs, graceMs } = rotation;
    assertId(tokenId, 'tokenId', TOKEN_ID_LENGTH);
    assertId(successorId, 'successorId', TOKEN_ID_LENGTH);
    if (typeof sealedSuccessor !== 'string') throw new TypeError('TypeOrmTokenStore.rotateRefresh: sealedSuccessor must be a string');
    for (const [name, value] of Object.entries({ now, idleTimeoutMs, graceMs })) assertNumber(value, name);
    return this.transaction('rotateRefresh', async (db): Promise<RefreshRotationResult> => {
      // The row lock is what keeps a family from forking: parallel refreshes with this token queue here.
      const [tokenRow] = await db.rows<TokenRow>(
        `SELECT ${TOKEN_COLUMNS} FROM ${this.tokens} WHERE ${this.dialect.eq('token_id')}${this.dialect.forUpdate}`,
        [tokenId],
      );
      const token = tokenRow ? decodeToken(tokenRow) : null;
      if (!token) return { status: 'missing' };
      const stored = await this.selectFamily(db, token.familyId);
      if (!stored) return { status: 'missing' };
      const { family } = stored;
      if (stored.revoked || now >= family.absoluteExpiresAt) return { status: 'expired', family };
      if (token.used) {
        if (now < token.used.graceUntil) {
          return { status: 'grace', family, successorId: token.used.successorId, sealedSuccessor: token.used.sealedSuccessor };
        }
        if (now >= token.idleExpiresAt) return { status: 'expired', family };
        await this.endFamily(db, family.familyId, now);
        return { status: 'reused', family };
      }
      if (now >= token.idleExpiresAt) return { status: 'expired', family };
      const [taken] = await db.rows(`SELECT 1 AS hit FROM ${this.tokens} WHERE ${this.dialect.eq('token_id')}`, [successorId]);
      if (taken) throw new Error('TypeOrmTokenStore.rotateRefresh: the successor id exists already; generate a fresh random token');
      await db.exec(
        `UPDATE ${this.tokens} SET used_at = ?, grace_until = ?, successor_id = ?, sealed_successor = ?
         WHERE ${this.dialect.eq('token_id')} AND used_at IS NULL`,
        [now, now + graceMs, successorId, sealedSuccessor, tokenId],
      );
      await this.insertToken(db, successorId, family.familyId, Math.min(now + idleTimeoutMs, family.absoluteExpiresAt));
      return { status: 'rotated', family };
    });
  }

  async revokeFamilyOfToken(tokenId: string, now: number): Promise<RefreshFamily | null> {
    assertId(tokenId, 'tokenId', TOKEN_ID_LENGTH);
    assertNumber(now, 'now');
    return this.withConnection('revokeFamilyOfToken', async (db) => {
      const [tokenRow] = await db.rows<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM ${this.tokens} WHERE ${this.dialect.eq('token_id')}`, [
        tokenId,
      ]);
      const token = tokenRow ? decodeToken(tokenRow) : null;
      if (!token) return null;
      return this.endLiveFamily(db, token.familyId, now);
    });
  }

  async revokeFamily(familyId: string, now: number): Promise<boolean> {
    assertId(familyId, 'familyId', TOKEN_ID_LENGTH);
    assertNumber(now, 'now');
    return this.withConnection('revokeFamily', async (db) => (await this.endLiveFamily(db, familyId, now)) !== null);
  }

  async revokeAllForUser(userId: string, notBefore: number, until: number, now: number): Promise<number> {
    assertId(userId, 'userId', TOKEN_USER_ID_LENGTH);
    for (const [name, value] of Object.entries({ notBefore, until, now })) assertNumber(value, name);
    return this.transaction('revokeAllForUser', async (db) => {
      const ended = await db.exec(
        `UPDATE ${this.families} SET revoked_at = ? WHERE ${this.dialect.eq('user_id')} AND revoked_at IS NULL AND absolute_expires_at > ?`,
        [now, userId, now],
      );
      if (until > now) await this.upsertRevocation(db, 'user', userId, notBefore, until, now);
      return ended;
    });
  }

  async listFamilies(userId: string, now: number): Promise<RefreshFamily[]> {
    assertId(userId, 'userId', TOKEN_USER_ID_LENGTH);
    assertNumber(now, 'now');
    return this.withConnection('listFamilies', async (db) => {
      const rows = await db.rows<FamilyRow>(
        `SELECT ${FAMILY_COLUMNS} FROM ${this.families}
         WHERE ${this.dialect.eq('user_id')} AND revoked_at IS NULL AND absolute_expires_at > ? ORDER BY created_at, family_id`,
        [userId, now],
      );
      // A new array of this realm: the drivers' row arrays may come from another one (Node's, under jest's VM),
      // whose Array prototype a strict deep-equality check would tell apart.
      const out: RefreshFamily[] = [];
      for (const row of rows) {
        const stored = decodeFamily(row);
        if (stored) out.push(stored.family);
      }
      return out;
    });
  }

  async denyAccessToken(jti: string, until: number, now: number): Promise<void> {
    assertId(jti, 'jti', Infinity);
    assertNumber(until, 'until');
    assertNumber(now, 'now');
    if (until <= now) return;
    await this.withConnection('denyAccessToken', (db) => this.upsertRevocation(db, 'jti', jtiSubject(jti), null, until, now));
  }

  async denySession(sid: string, until: number, now: number): Promise<void> {
    assertId(sid, 'sid', REVOCATION_SUBJECT_LENGTH);
    assertNumber(until, 'until');
    assertNumber(now, 'now');
    if (until <= now) return;
    await this.withConnection('denySession', (db) => this.upsertRevocation(db, 'session', sid, null, until, now));
  }

  /** One query over the (kind, subject) primary key: the `jti` entry, the user's cut-off and the session entry. */
  async checkAccess(check: AccessCheck, now: number): Promise<AccessRevocation> {
    assertId(check.jti, 'jti', Infinity);
    assertId(check.userId, 'userId', TOKEN_USER_ID_LENGTH);
    if (check.sid !== undefined) assertId(check.sid, 'sid', REVOCATION_SUBJECT_LENGTH);
    assertNumber(check.issuedAt, 'issuedAt');
    assertNumber(now, 'now');
    const eq = this.dialect.eq('subject');
    const params: unknown[] = [now, jtiSubject(check.jti), check.userId];
    let sql =
      `SELECT kind, not_before FROM ${this.revocations} WHERE ${this.until} > ? AND ` +
      `((kind = 'jti' AND ${eq}) OR (kind = 'user' AND ${eq})`;
    if (check.sid !== undefined) {
      sql += ` OR (kind = 'session' AND ${eq})`;
      params.push(check.sid);
    }
    const rows = await this.withConnection('checkAccess', (db) => db.rows<{ kind: string; not_before: unknown }>(`${sql})`, params));
    const kinds = new Set(rows.filter((r) => r.kind !== 'user' || check.issuedAt < Number(r.not_before)).map((r) => r.kind));
    if (kinds.has('jti')) return 'jti';
    if (kinds.has('user')) return 'user';
    if (kinds.has('session')) return 'session';
    return null;
  }

  async ping(): Promise<void> {
    await this.withConnection('ping', (db) => db.rows('SELECT 1 AS ok'));
  }

  /**
   * Deletes what nothing can use any more at `now`: tokens past their idle deadline (and grace window), the tokens
   * and rows of families past their absolute deadline, and revocation entries past `until`. Runs every
   * `cleanupIntervalMs` by itself; call it from a job of yours when that is 0. Answers how many rows it deleted.
   */
  async deleteExpired(now: number): Promise<number> {
    assertNumber(now, 'now');
    return this.withConnection('deleteExpired', async (db) => {
      let deleted = await db.exec(`DELETE FROM ${this.tokens} WHERE idle_expires_at <= ? AND (grace_until IS NULL OR grace_until <= ?)`, [
        now,
        now,
      ]);
      deleted += await db.exec(
        `DELETE FROM ${this.tokens} WHERE family_id IN (SELECT family_id FROM ${this.families} WHERE absolute_expires_at <= ?)`,
        [now],
      );
      deleted += await db.exec(`DELETE FROM ${this.families} WHERE absolute_expires_at <= ?`, [now]);
      deleted += await db.exec(`DELETE FROM ${this.revocations} WHERE ${this.until} <= ?`, [now]);
      return deleted;
    });
  }

  /** Stops the cleanup timer and waits for a cleanup in progress. The DataSource stays open: it is yours. */
  override async close(): Promise<void> {
    if (this.cleanupTimer) clearInterval(this.cleanupTimer);
    this.cleanupTimer = undefined;
    await this.cleanupRun;
  }

  private runCleanup(): void {
    if (this.cleanupRun || !this.dataSource.isInitialized) return;
    this.cleanupRun = this.deleteExpired(Date.now())
      .then(
        () => undefined,
        (error: unknown) => this.logger.warn(`Expired-token cleanup failed: ${messageOf(error)}`),
      )
      .finally(() => (this.cleanupRun = undefined));
  }

  private async insertToken(db: Connection, tokenId: string, familyId: string, idleExpiresAt: number): Promise<void> {
    await db.exec(`INSERT INTO ${this.tokens} (${TOKEN_COLUMNS}) VALUES (?, ?, ?, NULL, NULL, NULL, NULL)`, [
      tokenId,
      familyId,
      idleExpiresAt,
    ]);
  }

  private async selectFamily(db: Connection, familyId: string): Promise<StoredFamily | null> {
    const [row] = await db.rows<FamilyRow>(`SELECT ${FAMILY_COLUMNS} FROM ${this.families} WHERE ${this.dialect.eq('family_id')}`, [
      familyId,
    ]);
    return row ? decodeFamily(row) : null;
  }

  /** Ends the family if it is live at `now`: one conditional UPDATE; answers the family it ended. */
  private async endLiveFamily(db: Connection, familyId: string, now: number): Promise<RefreshFamily | null> {
    const stored = await this.selectFamily(db, familyId);
    if (!stored) return null;
    return (await this.endFamily(db, familyId, now)) ? stored.family : null;
  }

  private async endFamily(db: Connection, familyId: string, now: number): Promise<boolean> {
    const affected = await db.exec(
      `UPDATE ${this.families} SET revoked_at = ? WHERE ${this.dialect.eq('family_id')} AND revoked_at IS NULL AND absolute_expires_at > ?`,
      [now, familyId, now],
    );
    return affected === 1;
  }

  /**
   * Inserts or moves a revocation entry forward in one statement: `until` (and a cut-off's `not_before`) become the
   * later of the stored and the given value, unless the stored entry is already over at `now`, which is replaced.
   */
  private async upsertRevocation(
    db: Connection,
    kind: 'jti' | 'user' | 'session',
    subject: string,
    notBefore: number | null,
    until: number,
    now: number,
  ): Promise<void> {
    const u = this.until;
    const insert = `INSERT INTO ${this.revocations} (kind, subject, not_before, ${u}) VALUES (?, ?, ?, ?)`;
    const values = [kind, subject, notBefore, until];
    switch (this.dialect.family) {
      case 'mysql':
        // Assignments run left to right on MySQL: not_before is computed while `until` still holds the stored value.
        await db.exec(
          `${insert} ON DUPLICATE KEY UPDATE
             not_before = IF(${u} <= ?, VALUES(not_before), GREATEST(COALESCE(not_before, VALUES(not_before)), VALUES(not_before))),
             ${u} = IF(${u} <= ?, VALUES(${u}), GREATEST(${u}, VALUES(${u})))`,
          [...values, now, now],
        );
        return;
      case 'postgres':
      case 'sqlite': {
        // Every SET expression reads the stored row, `excluded` the proposed one. PostgreSQL names the stored row
        // by the INSERT's alias; SQLite by the bare column names (it has no INSERT alias).
        const postgres = this.dialect.family === 'postgres';
        const into = postgres ? `INSERT INTO ${this.revocations} AS r` : `INSERT INTO ${this.revocations}`;
        const r = postgres ? 'r.' : '';
        const greatest = postgres ? 'GREATEST' : 'MAX';
        await db.exec(
          `${into} (kind, subject, not_before, ${u}) VALUES (?, ?, ?, ?) ON CONFLICT (kind, subject) DO UPDATE SET
             not_before = CASE WHEN ${r}${u} <= ? THEN excluded.not_before
                               ELSE ${greatest}(COALESCE(${r}not_before, excluded.not_before), excluded.not_before) END,
             ${u} = CASE WHEN ${r}${u} <= ? THEN excluded.${u} ELSE ${greatest}(${r}${u}, excluded.${u}) END`,
          [...values, now, now],
        );
        return;
      }
    }
  }

  /**
   * Runs one operation: refuses at once when the DataSource is not initialized, and turns connectivity failures into
   * {@link TokenStoreUnavailableError} (503). Every other error goes through unchanged: a bug to see, not an outage.
   */
  private async guarded<T>(operation: string, work: () => Promise<T>): Promise<T> {
    if (!this.dataSource.isInitialized) {
      throw new TokenStoreUnavailableError(
        operation,
        new Error(`the DataSource for ${this.database} is not initialized (call dataSource.initialize() before the app starts)`),
      );
    }
    try {
      return await work();
    } catch (error) {
      if (!isStoreConnectionError(error) && !isConnectionFailure(error)) throw error;
      if (error instanceof TokenStoreUnavailableError) throw error;
      throw new TokenStoreUnavailableError(operation, new Error(`cannot reach ${this.database}: ${messageOf(error)}`, { cause: error }));
    }
  }

  /** Statements on one connection, without a transaction (each is atomic on its own). */
  private withConnection<T>(operation: string, work: (db: Connection) => Promise<T>): Promise<T> {
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
   * `work` in one transaction: READ COMMITTED on PostgreSQL and MariaDB/MySQL (retried when the database aborted it
   * as a deadlock victim), `BEGIN IMMEDIATE` under the DataSource's mutex on SQLite.
   */
  private transaction<T>(operation: string, work: (db: Connection) => Promise<T>): Promise<T> {
    return this.guarded(operation, () =>
      this.mutex ? this.mutex.run(() => sqliteTransaction(this.dataSource, this.dialect, work)) : this.serverTransaction(work),
    );
  }

  private async serverTransaction<T>(work: (db: Connection) => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    try {
      for (let attempt = 1; ; attempt++) {
        await runner.startTransaction('READ COMMITTED');
        try {
          const result = await work(new Connection(runner, this.dialect));
          await runner.commitTransaction();
          return result;
        } catch (error) {
          if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
          if (attempt < MAX_TRANSACTION_ATTEMPTS && isTransientFailure(error)) continue;
          throw error;
        }
      }
    } finally {
      await runner.release();
    }
  }
}

/** The denylist key of an issuer-qualified `jti`: its SHA-256, so an issuer URL of any length fits the column. */
function jtiSubject(jti: string): string {
  return createHash('sha256').update(jti).digest('base64url');
}

/** A number column as the drivers hand it back (`bigint` as a string); NaN for NULL or garbage. */
function ms(value: unknown): number {
  if (value === null || value === undefined || value === '') return NaN;
  return Number(value);
}

function decodeFamily(row: FamilyRow): StoredFamily | null {
  const family: RefreshFamily = {
    familyId: row.family_id,
    userId: row.user_id,
    clientId: row.client_id,
    scope: row.scope,
    aal: ms(row.aal),
    authTime: ms(row.auth_time),
    createdAt: ms(row.created_at),
    absoluteExpiresAt: ms(row.absolute_expires_at),
  };
  if (!family.familyId || !family.userId || typeof family.clientId !== 'string' || typeof family.scope !== 'string') return null;
  if (![family.aal, family.authTime, family.createdAt, family.absoluteExpiresAt].every(Number.isFinite)) return null;
  const revoked = row.revoked_at !== null && row.revoked_at !== undefined;
  if (revoked && !Number.isFinite(ms(row.revoked_at))) return null;
  return { family, revoked };
}

function decodeToken(row: TokenRow): StoredToken | null {
  const idleExpiresAt = ms(row.idle_expires_at);
  if (!row.family_id || !Number.isFinite(idleExpiresAt)) return null;
  const usedAt = row.used_at === null || row.used_at === undefined ? null : ms(row.used_at);
  if (usedAt === null) {
    // An unused token carries no successor: anything else is a row the store never writes.
    return row.successor_id === null && row.grace_until === null ? { familyId: row.family_id, idleExpiresAt, used: null } : null;
  }
  const graceUntil = ms(row.grace_until);
  if (!Number.isFinite(usedAt) || !Number.isFinite(graceUntil) || !row.successor_id || typeof row.sealed_successor !== 'string')
    return null;
  return {
    familyId: row.family_id,
    idleExpiresAt,
    used: { graceUntil, successorId: row.successor_id, sealedSuccessor: row.sealed_successor },
  };
}

function assertFamily(family: RefreshFamily): void {
  if (typeof family !== 'object' || family === null) throw new TypeError('TypeOrmTokenStore.createFamily: family must be a RefreshFamily');
  assertId(family.familyId, 'familyId', TOKEN_ID_LENGTH);
  assertId(family.userId, 'userId', TOKEN_USER_ID_LENGTH);
  assertId(family.clientId, 'clientId', CLIENT_ID_LENGTH);
  if (typeof family.scope !== 'string') throw new TypeError('TypeOrmTokenStore: family.scope must be a string (may be empty)');
  for (const key of ['aal', 'authTime', 'createdAt', 'absoluteExpiresAt'] as const) assertNumber(family[key], `family.${key}`);
}

function assertId(value: unknown, what: string, maxLength: number): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    throw new TypeError(
      `TypeOrmTokenStore: ${what} must be a non-empty string${Number.isFinite(maxLength) ? ` of at most ${maxLength} characters` : ''}`,
    );
  }
}

function assertNumber(value: unknown, what: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`TypeOrmTokenStore: ${what} must be a finite number of milliseconds, got ${String(value)}`);
  }
}

import type { DataSource } from 'typeorm';
import { describeDatabase, isConnectionFailure } from '../../stores/typeorm/connection-errors';
import { SqlFamily, sqlFamilyOf } from '../../stores/typeorm/sql-dialect';
import {
  AttemptCount,
  AttemptCounterStore,
  AttemptCounterStoreUnavailableError,
  AttemptHit,
  AttemptIncrement,
  checkAttemptHit,
  HitCount,
  nextHitWindowEnd,
} from '../attempt-counter.store';

/** Options of {@link TypeOrmAttemptCounterStore}. */
export interface TypeOrmAttemptCounterStoreOptions {
  /** An initialized DataSource (PostgreSQL, MariaDB/MySQL or better-sqlite3) that you own; never destroyed here. */
  dataSource: DataSource;
  /** The table of counters. Default `nsk_attempt_counters`. */
  tableName?: string;
}

/** Default of {@link TypeOrmAttemptCounterStoreOptions.tableName}. */
export const DEFAULT_ATTEMPT_TABLE = 'nsk_attempt_counters';

/** One in this many increments also deletes rows whose window ended, so the table holds about one window of failures. */
const SWEEP_EVERY = 64;

/**
 * Attempt counters in a SQL table (PostgreSQL, MariaDB/MySQL, SQLite) through TypeORM, shared by every instance
 * that uses the database. Reading the counters of a decision is one `SELECT ... IN`; an increment is one
 * `INSERT ... ON CONFLICT/ON DUPLICATE KEY UPDATE` (atomic per row, so parallel failures are never lost), plus a
 * `SELECT` on MariaDB/MySQL, which has no `RETURNING`. Windows are decided against the caller's clock (`now`),
 * and rows whose window ended are swept from time to time.
 *
 * Create the table once with {@link TypeOrmAttemptCounterStore.open} (idempotent `CREATE TABLE IF NOT EXISTS`).
 *
 * @example const counters = await TypeOrmAttemptCounterStore.open({ dataSource });
 */
export class TypeOrmAttemptCounterStore extends AttemptCounterStore {
  private readonly dataSource: DataSource;
  private readonly family: SqlFamily;
  private readonly table: string;
  private readonly where: string;
  private increments = 0;

  constructor(options: TypeOrmAttemptCounterStoreOptions) {
    super();
    if (!options?.dataSource) throw new TypeError('TypeOrmAttemptCounterStore: pass { dataSource }, an initialized TypeORM DataSource');
    this.dataSource = options.dataSource;
    this.family = sqlFamilyOf(options.dataSource);
    const name = options.tableName ?? DEFAULT_ATTEMPT_TABLE;
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) {
      throw new TypeError(`TypeOrmAttemptCounterStore: tableName ${JSON.stringify(name)} is not a plain SQL name (letters, digits, _)`);
    }
    this.table = name;
    this.where = describeDatabase(options.dataSource.options);
  }

  /** A store whose table exists: creates it (and its index) when missing. */
  static async open(options: TypeOrmAttemptCounterStoreOptions): Promise<TypeOrmAttemptCounterStore> {
    const store = new TypeOrmAttemptCounterStore(options);
    await store.createTable();
    return store;
  }

  /** Creates the table and its expiry index when missing (idempotent). */
  async createTable(): Promise<void> {
    const t = this.table;
    const bigint = this.family === 'sqlite' ? 'INTEGER' : 'BIGINT';
    await this.run('createTable', () =>
      this.dataSource.query(
        `CREATE TABLE IF NOT EXISTS ${t} (counter_key VARCHAR(255) NOT NULL PRIMARY KEY, attempts INTEGER NOT NULL, last_at ${bigint} NOT NULL, expires_at ${bigint} NOT NULL)` +
          (this.family === 'mysql' ? ' CHARACTER SET ascii COLLATE ascii_bin' : ''),
      ),
    );
    if (this.family === 'mysql') {
      const rows = await this.run('createTable', () => this.dataSource.query(`SHOW INDEX FROM ${t} WHERE Key_name = 'idx_${t}_expires'`));
      if ((rows as unknown[]).length === 0)
        await this.run('createTable', () => this.dataSource.query(`CREATE INDEX idx_${t}_expires ON ${t} (expires_at)`));
    } else {
      await this.run('createTable', () => this.dataSource.query(`CREATE INDEX IF NOT EXISTS idx_${t}_expires ON ${t} (expires_at)`));
    }
  }

  async read(keys: readonly string[], now: number): Promise<AttemptCount[]> {
    if (keys.length === 0) return [];
    const rows = await this.run('read', () =>
      this.dataSource.query(
        `SELECT counter_key, attempts, last_at, expires_at FROM ${this.table} WHERE counter_key IN (${this.params(keys.length)})`,
        [...keys],
      ),
    );
    return this.pick(keys, rows as Row[], now);
  }

  async increment(entries: readonly AttemptIncrement[], now: number): Promise<AttemptCount[]> {
    if (entries.length === 0) return [];
    const values: (string | number)[] = [];
    const tuples = entries.map((e, i) => {
      values.push(e.key, now, now + Math.ceil(e.ttlMs));
      return this.family === 'postgres' ? `($${i * 3 + 1}, 1, $${i * 3 + 2}, $${i * 3 + 3})` : '(?, 1, ?, ?)';
    });
    const insert = `INSERT INTO ${this.table} (counter_key, attempts, last_at, expires_at) VALUES ${tuples.join(', ')}`;
    const keys = entries.map((e) => e.key);
    let rows: Row[];
    if (this.family === 'mysql') {
      // MySQL evaluates the assignments left to right: `attempts` still sees the old `expires_at`.
      await this.run('increment', () =>
        this.dataSource.query(
          `${insert} ON DUPLICATE KEY UPDATE attempts = IF(expires_at > ?, attempts + 1, 1), last_at = VALUES(last_at), expires_at = VALUES(expires_at)`,
          [...values, now],
        ),
      );
      rows = (await this.run('increment', () =>
        this.dataSource.query(
          `SELECT counter_key, attempts, last_at, expires_at FROM ${this.table} WHERE counter_key IN (${this.params(keys.length)})`,
          keys,
        ),
      )) as Row[];
    } else {
      const nowParam = this.family === 'postgres' ? `$${values.length + 1}` : '?';
      rows = (await this.run('increment', () =>
        this.dataSource.query(
          `${insert} ON CONFLICT (counter_key) DO UPDATE SET attempts = CASE WHEN ${this.table}.expires_at > ${nowParam} THEN ${this.table}.attempts + 1 ELSE 1 END, ` +
            'last_at = excluded.last_at, expires_at = excluded.expires_at RETURNING counter_key, attempts, last_at, expires_at',
          [...values, now],
        ),
      )) as Row[];
    }
    if (++this.increments % SWEEP_EVERY === 0) void this.sweep(now).catch(() => undefined);
    return this.pick(keys, rows, now);
  }

  async reset(keys: readonly string[], mark?: AttemptIncrement & { now: number }): Promise<void> {
    if (keys.length > 0) {
      await this.run('reset', () =>
        this.dataSource.query(`DELETE FROM ${this.table} WHERE counter_key IN (${this.params(keys.length)})`, [...keys]),
      );
    }
    if (mark) {
      const p = this.family === 'postgres' ? '($1, 1, $2, $3)' : '(?, 1, ?, ?)';
      const upsert =
        this.family === 'mysql'
          ? 'ON DUPLICATE KEY UPDATE attempts = 1, last_at = VALUES(last_at), expires_at = VALUES(expires_at)'
          : 'ON CONFLICT (counter_key) DO UPDATE SET attempts = 1, last_at = excluded.last_at, expires_at = excluded.expires_at';
      await this.run('reset', () =>
        this.dataSource.query(`INSERT INTO ${this.table} (counter_key, attempts, last_at, expires_at) VALUES ${p} ${upsert}`, [
          mark.key,
          mark.now,
          mark.now + Math.ceil(mark.ttlMs),
        ]),
      );
    }
  }

  /**
   * One statement on every database, the rule of `nextHitWindowEnd` in SQL: a row whose window is live counts one more
   * (its end moves to `now + blockMs`, when later, on the hit that goes over the limit), a missing or ended one
   * restarts at 1. `attempts` is not capped in the row (the cap is applied to the answer), so the hit that goes over
   * is the one that makes it `limit + 1`.
   */
  async hit(hit: AttemptHit, now: number): Promise<HitCount> {
    checkAttemptHit(hit);
    // Rate-limit rows are swept like failure counters, so the table holds about one window of hits.
    if (++this.increments % SWEEP_EVERY === 0) void this.sweep(now).catch(() => undefined);
    const t = this.table;
    const fresh = nextHitWindowEnd(hit, undefined, now);
    const blockEnd = now + hit.blockMs;
    if (this.family === 'mysql') {
      // MySQL has no RETURNING, and a SELECT after the upsert may see a parallel hit's count. The assignments run left to
      // right (`expires_at` sees the new `attempts`, the last one both new values), and LAST_INSERT_ID(expr) hands this
      // statement's own answer back in the OK packet: count * 2^32 + ms left, exact in a double under the bounds of
      // checkAttemptHit. A new row sets nothing there (insertId 0): count 1, the fresh window.
      const result = (await this.run('hit', () =>
        this.dataSource.query(
          `INSERT INTO ${t} (counter_key, attempts, last_at, expires_at) VALUES (?, 1, ?, ?) ON DUPLICATE KEY UPDATE ` +
            'attempts = IF(expires_at > ?, attempts + 1, 1), ' +
            'expires_at = IF(expires_at > ?, IF(attempts = ?, GREATEST(expires_at, ?), expires_at), VALUES(expires_at)), ' +
            'last_at = IF(LAST_INSERT_ID(LEAST(attempts, ?) * 4294967296 + (expires_at - ?)) IS NULL, 0, VALUES(last_at))',
          [hit.key, now, fresh, now, now, hit.limit + 1, blockEnd, hit.limit + 1, now],
        ),
      )) as { insertId?: number | string };
      const packed = Number(result?.insertId ?? 0);
      if (packed === 0) return { count: 1, resetAt: fresh };
      return { count: Math.floor(packed / 4294967296), resetAt: now + (packed % 4294967296) };
    }
    const p = this.family === 'postgres' ? (n: number) => `$${n}` : () => '?';
    const greatest = this.family === 'postgres' ? 'GREATEST' : 'MAX';
    // Every right-hand side of DO UPDATE sees the row as it was: `${t}.attempts` is the previous count.
    const rows = (await this.run('hit', () =>
      this.dataSource.query(
        `INSERT INTO ${t} (counter_key, attempts, last_at, expires_at) VALUES (${p(1)}, 1, ${p(2)}, ${p(3)}) ON CONFLICT (counter_key) DO UPDATE SET ` +
          `attempts = CASE WHEN ${t}.expires_at > ${p(4)} THEN ${t}.attempts + 1 ELSE 1 END, ` +
          `last_at = excluded.last_at, ` +
          `expires_at = CASE WHEN ${t}.expires_at > ${p(5)} THEN CASE WHEN ${t}.attempts = ${p(6)} THEN ${greatest}(${t}.expires_at, ${p(7)}) ELSE ${t}.expires_at END ELSE excluded.expires_at END ` +
          'RETURNING attempts, expires_at',
        [hit.key, now, fresh, now, now, hit.limit, blockEnd],
      ),
    )) as { attempts: number | string; expires_at: number | string }[];
    const [row] = rows;
    if (!row) throw new TypeError(`TypeOrmAttemptCounterStore: the hit upsert on ${this.where} returned no row`);
    return { count: Math.min(Number(row.attempts), hit.limit + 1), resetAt: Number(row.expires_at) };
  }

  async claim(key: string, ttlMs: number, now: number): Promise<boolean> {
    if (this.family === 'mysql') {
      // The SELECT after an upsert may already see a parallel caller's increment, so two callers could both read 2.
      // LAST_INSERT_ID(expr) hands this statement's own value back in the OK packet instead (0 for a fresh row).
      const result = (await this.run('claim', () =>
        this.dataSource.query(
          `INSERT INTO ${this.table} (counter_key, attempts, last_at, expires_at) VALUES (?, 1, ?, ?) ` +
            'ON DUPLICATE KEY UPDATE attempts = LAST_INSERT_ID(IF(expires_at > ?, attempts + 1, 1)), last_at = VALUES(last_at), expires_at = VALUES(expires_at)',
          [key, now, now + Math.ceil(ttlMs), now],
        ),
      )) as { insertId?: number | string };
      const count = Number(result?.insertId ?? 0);
      return count === 0 || count === 1;
    }
    const [first] = await this.increment([{ key, ttlMs }], now);
    return first.count === 1;
  }

  /** Deletes the rows whose window ended before `now`. */
  async sweep(now: number): Promise<void> {
    const p = this.family === 'postgres' ? '$1' : '?';
    await this.run('sweep', () => this.dataSource.query(`DELETE FROM ${this.table} WHERE expires_at <= ${p}`, [now]));
  }

  private params(n: number): string {
    return Array.from({ length: n }, (_, i) => (this.family === 'postgres' ? `$${i + 1}` : '?')).join(', ');
  }

  private pick(keys: readonly string[], rows: Row[], now: number): AttemptCount[] {
    const byKey = new Map(rows.map((r) => [String(r.counter_key), r]));
    return keys.map((key) => {
      const row = byKey.get(key);
      if (!row || Number(row.expires_at) <= now) return { count: 0, lastAt: 0 };
      return { count: Number(row.attempts), lastAt: Number(row.last_at) };
    });
  }

  private async run<T>(operation: string, query: () => Promise<T>): Promise<T> {
    if (!this.dataSource.isInitialized) {
      throw new AttemptCounterStoreUnavailableError(operation, new Error(`the DataSource for ${this.where} is not initialized`));
    }
    try {
      return await query();
    } catch (error) {
      if (isConnectionFailure(error))
        throw new AttemptCounterStoreUnavailableError(operation, new Error(`${this.where}: ${String((error as Error)?.message)}`));
      throw error;
    }
  }
}

interface Row {
  counter_key: string;
  attempts: number | string;
  last_at: number | string;
  expires_at: number | string;
}

import { createHash } from 'node:crypto';
import type { DataSource, QueryRunner } from 'typeorm';

/** The SQL families the store speaks. Everything else is refused at construction, with a clear message. */
export type SqlFamily = 'postgres' | 'mysql' | 'sqlite';

const FAMILIES: Record<string, SqlFamily> = {
  postgres: 'postgres',
  mysql: 'mysql',
  mariadb: 'mysql',
  'better-sqlite3': 'sqlite',
};

/** Returns the SQL family of a DataSource, or throws naming the supported types. */
export function sqlFamilyOf(dataSource: DataSource): SqlFamily {
  const type = dataSource.options.type;
  const family = FAMILIES[type];
  if (!family) {
    throw new Error(`TypeOrmSessionStore: DataSource type '${type}' is not supported; use one of ${Object.keys(FAMILIES).join(', ')}`);
  }
  return family;
}

/**
 * The few places where the three databases differ, kept in one object so the store's SQL reads the same for
 * all of them.
 */
export class Dialect {
  /** ` FOR UPDATE` where row locks exist; SQLite has none (writers are serialised instead). */
  readonly forUpdate: string;

  constructor(
    readonly family: SqlFamily,
    private readonly schema: string | undefined,
  ) {
    this.forUpdate = family === 'sqlite' ? '' : ' FOR UPDATE';
  }

  /** Quotes an identifier (`key` and `count` are keywords in MySQL). */
  quote(name: string): string {
    return this.family === 'mysql' ? '`' + name.replace(/`/g, '``') + '`' : '"' + name.replace(/"/g, '""') + '"';
  }

  /** The table's path: schema-qualified on PostgreSQL when the DataSource names a schema, as TypeORM does. */
  table(name: string): string {
    return this.schema ? `${this.quote(this.schema)}.${this.quote(name)}` : this.quote(name);
  }

  /**
   * `column = ?`, compared byte for byte. On MySQL the parameter is cast to binary, which makes the comparison
   * exact even on a case-insensitive column (a schema made by `synchronize` gets the server's default
   * collation) and still uses the column's index.
   */
  eq(column: string): string {
    return this.family === 'mysql' ? `${column} = CAST(? AS BINARY)` : `${column} = ?`;
  }

  /** `column <> ?`, exact (see {@link eq}). */
  ne(column: string): string {
    return this.family === 'mysql' ? `${column} <> CAST(? AS BINARY)` : `${column} <> ?`;
  }

  /** `column IN (?, ...)` for `count` values, exact (see {@link eq}). */
  in(column: string, count: number): string {
    const one = this.family === 'mysql' ? 'CAST(? AS BINARY)' : '?';
    return `${column} IN (${Array.from({ length: count }, () => one).join(', ')})`;
  }

  /** Rewrites `?` placeholders as `$1, $2...` for PostgreSQL. The store's SQL never has `?` in literals. */
  bind(sql: string): string {
    if (this.family !== 'postgres') return sql;
    let n = 0;
    return sql.replace(/\?/g, () => `$${++n}`);
  }
}

/** Result of one statement: rows for queries, affected rows for writes. */
export interface StatementResult<T> {
  rows: T[];
  affected: number;
}

/**
 * One database connection for the duration of one store operation, so that a read and its touch, or all the
 * statements of a transaction, run on the same connection.
 */
export class Connection {
  /** Names of MySQL user-level locks held, released when the operation ends. */
  readonly mysqlLocks: string[] = [];

  constructor(
    readonly runner: QueryRunner,
    readonly dialect: Dialect,
  ) {}

  /** Runs one statement (`?` placeholders) and returns its rows and affected-row count. */
  async run<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<StatementResult<T>> {
    const result = await this.runner.query(this.dialect.bind(sql), params, true);
    return { rows: (result.records ?? []) as T[], affected: result.affected ?? 0 };
  }

  /** Runs a query and returns its rows. */
  async rows<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.run<T>(sql, params)).rows;
  }

  /** Runs a write and returns how many rows it changed. */
  async exec(sql: string, params: unknown[] = []): Promise<number> {
    return (await this.run(sql, params)).affected;
  }
}

/**
 * Runs `work` in one SQLite transaction on its own connection. `BEGIN IMMEDIATE` takes the write lock up front, so
 * another process writing the same file makes this one wait (busy timeout) instead of failing halfway when a read
 * lock cannot be upgraded. The caller serialises the store's own operations (the DataSource's `Mutex`).
 */
export async function sqliteTransaction<T>(dataSource: DataSource, dialect: Dialect, work: (db: Connection) => Promise<T>): Promise<T> {
  const runner = dataSource.createQueryRunner();
  const db = new Connection(runner, dialect);
  try {
    await db.exec('BEGIN IMMEDIATE');
    try {
      const result = await work(db);
      await db.exec('COMMIT');
      return result;
    } catch (error) {
      await db.exec('ROLLBACK').catch(() => undefined);
      throw error;
    }
  } finally {
    await runner.release();
  }
}

/** Seconds a MySQL/MariaDB transaction waits for another one on the same user before giving up. */
export const USER_LOCK_TIMEOUT_S = 30;

/** PostgreSQL advisory-lock class id of this library ("nsk"), so our keys never meet an application's. */
const PG_LOCK_CLASS = 0x6e736b;

/**
 * Serialises the transactions that change a user's set of sessions (create with its eviction, rotation, logout
 * everywhere). Row locks alone cannot do it: a user with no session yet has no row to lock, so two parallel
 * logins would both see "none" and both insert.
 *
 * PostgreSQL: a transaction-scoped advisory lock, released by COMMIT/ROLLBACK. MySQL/MariaDB: `GET_LOCK`, held
 * by the connection and released by the caller after the transaction ends. SQLite: nothing, every
 * transaction of the store already runs alone.
 */
export async function lockUser(connection: Connection, userId: string): Promise<void> {
  switch (connection.dialect.family) {
    case 'postgres':
      await connection.run(`SELECT pg_advisory_xact_lock(${PG_LOCK_CLASS}, hashtext(?)) AS locked`, [userId]);
      return;
    case 'mysql': {
      // Lock names are at most 64 characters and server-wide: hash the user id into a fixed-size name.
      const name = 'nsk:' + createHash('sha256').update(userId).digest('base64url');
      if (connection.mysqlLocks.includes(name)) return;
      const [row] = await connection.rows<{ acquired: unknown }>('SELECT GET_LOCK(?, ?) AS acquired', [name, USER_LOCK_TIMEOUT_S]);
      if (Number(row?.acquired) !== 1) {
        throw new Error(`TypeOrmSessionStore: timed out after ${USER_LOCK_TIMEOUT_S} s waiting for another session write of the same user`);
      }
      connection.mysqlLocks.push(name);
      return;
    }
    case 'sqlite':
      return;
  }
}

/** Releases the MySQL user-level locks taken by {@link lockUser}. */
export async function releaseUserLocks(connection: Connection): Promise<void> {
  while (connection.mysqlLocks.length > 0) {
    const name = connection.mysqlLocks.pop() as string;
    await connection.run('SELECT RELEASE_LOCK(?) AS released', [name]);
  }
}

/**
 * Whether a failed transaction may simply be run again: a deadlock (the database rolled one side back) or a
 * serialisation failure. Lock-wait timeouts are not retried: waiting again would double the latency.
 */
export function isTransientFailure(error: unknown): boolean {
  const cause = (error as { driverError?: unknown })?.driverError ?? error;
  const { code, errno } = (cause ?? {}) as { code?: unknown; errno?: unknown };
  return code === '40P01' || code === '40001' || errno === 1213;
}

/**
 * A promise-chain mutex. better-sqlite3 gives TypeORM a single connection, so two interleaved store operations
 * would share one transaction (or fail to open a second one): every operation of the store on such a
 * DataSource runs under this lock, one after the other. better-sqlite3 is synchronous anyway, so nothing is
 * lost.
 */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `work` once every earlier call has settled; a failure does not block the next one. */
  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** One mutex per DataSource, shared by every store over it. */
const mutexes = new WeakMap<DataSource, Mutex>();

/** The mutex of a DataSource, created on first use. */
export function mutexFor(dataSource: DataSource): Mutex {
  let mutex = mutexes.get(dataSource);
  if (!mutex) {
    mutex = new Mutex();
    mutexes.set(dataSource, mutex);
  }
  return mutex;
}

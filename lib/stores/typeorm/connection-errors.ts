import type { DataSourceOptions } from 'typeorm';
import { SessionStoreConnectionError, isStoreConnectionError } from '../../core/errors';

/**
 * Which database failures mean "the database cannot be reached right now" (the module answers 503 and recovers
 * when it is back) rather than "this is a bug" (a 500 with the stack). Only the first kind becomes a
 * `SessionStoreConnectionError`: a value too long for a column, a syntax error or a constraint violation is
 * rethrown as it is, because calling it an outage would hide the bug behind "try again later" forever.
 */

/** Socket-level failures from Node (connecting, or a connection that broke). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * PostgreSQL SQLSTATEs besides class 08 (connection exception): the server is shutting down, crashed or still
 * starting (57P01 to 57P03), closed an idle session (57P05), or has no connection slot left (53300, the
 * counterpart of MySQL's ER_CON_COUNT_ERROR). 57P04 (database dropped) is left out: waiting will not fix it.
 */
const POSTGRES_STATES = new Set(['57P01', '57P02', '57P03', '57P05', '53300']);

/** mysql2 codes: the connection was lost or timed out, the server has no connection slot left or is shutting down. */
const MYSQL_CODES = new Set(['PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_CON_COUNT_ERROR', 'ER_SERVER_SHUTDOWN']);

/**
 * Server error numbers that mysql2 has no code name for: MariaDB's "Connection was killed" (1927) and MySQL 8's
 * disconnection of an inactive client (4031).
 */
const MYSQL_ERRNOS = new Set([1927, 4031]);

/** SQLite: the database file cannot be opened (a missing directory, a file gone, no permission on the volume). */
const SQLITE_CODES = new Set(['SQLITE_CANTOPEN']);

/** TypeORM's own errors for a DataSource that is not (or no longer) initialized. */
const TYPEORM_NAMES = new Set(['CannotExecuteNotConnectedError', 'ConnectionIsNotSetError']);

/**
 * Messages of driver errors that carry no code: pg and pg-pool (a dropped or ended connection, a pool acquire
 * or query timeout), mysql2 (a closed pool or connection, a full pool queue), better-sqlite3 (a closed
 * database) and TypeORM (a destroyed DataSource). Matched from the start of the message, so a message that
 * merely quotes one does not count.
 */
const CONNECTION_MESSAGES = [
  /^Connection terminated/, // pg: "Connection terminated", "... unexpectedly", "... due to connection timeout"
  /^timeout exceeded when trying to connect/, // pg-pool: connectionTimeoutMillis ran out waiting for a client
  /^Cannot use a pool after calling end on the pool/, // pg-pool: the DataSource was destroyed
  /^Client has encountered a connection error and is not queryable/, // pg
  /^Client was closed and is not queryable/, // pg
  /^Query read timeout/, // pg: query_timeout ran out
  /^Pool is closed\./, // mysql2: the DataSource was destroyed
  /^Can't add new command when connection is in closed state/, // mysql2
  /^Queue limit reached\./, // mysql2: every connection busy and the wait queue full
  /^The database connection is not open/, // better-sqlite3: the DataSource was destroyed
  /^Driver not Connected/, // TypeORM, PostgreSQL: a query runner used after the DataSource was destroyed
  /^Connection is not established with mysql database/, // TypeORM, MariaDB/MySQL: the same
];

/** How deep {@link isConnectionFailure} looks through wrappers (`driverError`, `cause`, `AggregateError.errors`). */
const MAX_DEPTH = 4;

/**
 * Whether `error` means the database could not be reached, timed out or dropped the connection, on
 * PostgreSQL (pg), MariaDB/MySQL (mysql2) or SQLite (better-sqlite3) through TypeORM. The one place that decides
 * it for the TypeORM store. Looks through TypeORM's `QueryFailedError.driverError`, `cause` chains and
 * `AggregateError`s (Node reports a refused `localhost` connection, tried on IPv6 and IPv4, as one).
 *
 * @example isConnectionFailure(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })) // true
 * @example isConnectionFailure(Object.assign(new Error('value too long for type character varying(255)'), { code: '22001' })) // false
 */
export function isConnectionFailure(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > MAX_DEPTH) return false;
  if (isStoreConnectionError(error)) return true;
  const { code, errno, name, message, driverError, cause, errors } = error as Record<string, unknown>;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || MYSQL_CODES.has(code) || SQLITE_CODES.has(code) || POSTGRES_STATES.has(code)) return true;
    // PostgreSQL SQLSTATE class 08: connection exception. Five characters, so a Node code like 'E08...' never matches.
    if (/^08[0-9A-Z]{3}$/.test(code)) return true;
  }
  if (typeof errno === 'number' && MYSQL_ERRNOS.has(errno)) return true;
  if (typeof name === 'string' && TYPEORM_NAMES.has(name)) return true;
  if (typeof message === 'string' && CONNECTION_MESSAGES.some((pattern) => pattern.test(message))) return true;
  const inner = [driverError, cause, ...(Array.isArray(errors) ? errors : [])];
  return inner.some((e) => e !== error && isConnectionFailure(e, depth + 1));
}

/** Default ports, for naming a database whose options leave the port out. */
const DEFAULT_PORTS: Record<string, number> = { postgres: 5432, mysql: 3306, mariadb: 3306 };

/**
 * Names the database of a DataSource for error messages: type, host:port/database, or the SQLite file. Never the
 * password, nor the user (a URL is taken apart, not quoted).
 *
 * @example describeDatabase({ type: 'postgres', url: 'postgres://app:secret@db:5432/app' }) // 'postgres at db:5432/app'
 */
export function describeDatabase(options: DataSourceOptions): string {
  const o = options as unknown as Record<string, unknown>;
  const type = String(o.type);
  if (type === 'better-sqlite3' || type === 'sqlite') {
    return o.database === ':memory:' || o.database === undefined ? `${type} in memory` : `${type} file ${String(o.database)}`;
  }
  // With replication, writes (all of the store's statements) go to the master.
  const replication = o.replication as { master?: Record<string, unknown> } | undefined;
  const source = replication?.master ?? o;
  let host = typeof source.host === 'string' ? source.host : undefined;
  let port = typeof source.port === 'number' || typeof source.port === 'string' ? String(source.port) : undefined;
  let database = typeof source.database === 'string' ? source.database : typeof o.database === 'string' ? o.database : undefined;
  // The URL wins over host/port/database in both drivers, as it does here.
  if (typeof source.url === 'string') {
    try {
      const url = new URL(source.url);
      host = url.hostname || host;
      port = url.port || port;
      database = decodeURIComponent(url.pathname.replace(/^\//, '')) || database;
    } catch {
      return `${type} at an unparsable url`;
    }
  }
  if (typeof source.socketPath === 'string' && !host) return `${type} on socket ${source.socketPath}/${database ?? ''}`;
  return `${type} at ${host ?? 'localhost'}:${port ?? DEFAULT_PORTS[type] ?? '?'}/${database ?? ''}`;
}

/** The error's own message, or its code or name when it has none (an `AggregateError` of refused sockets). */
export function messageOf(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const { message, code, name, errors } = error as Record<string, unknown>;
    if (typeof message === 'string' && message) return message;
    if (Array.isArray(errors) && errors.length > 0) return messageOf(errors[0]);
    if (typeof code === 'string' && code) return code;
    if (typeof name === 'string' && name) return name;
  }
  return String(error);
}

/** The store's error for a database that failed an operation by being unreachable. */
export function databaseUnreachable(operation: string, database: string, cause: unknown): SessionStoreConnectionError {
  return new SessionStoreConnectionError(
    `TypeOrmSessionStore.${operation}: cannot reach ${database} (${messageOf(cause)}). Check that the database server ` +
      'is running and reachable from this host (host, port, firewall, TLS) and has connections to spare; requests ' +
      'that need a session fail with 503 until it answers, and the connection pool reconnects by itself.',
    { cause },
  );
}

/** The store's error for a DataSource that is not initialized (never, or destroyed since). */
export function dataSourceNotInitialized(operation: string, database: string): SessionStoreConnectionError {
  return new SessionStoreConnectionError(
    `TypeOrmSessionStore.${operation}: the DataSource for ${database} is not initialized (never initialized, or ` +
      'destroyed since). The store never initializes a DataSource you pass in: call `await dataSource.initialize()` ' +
      'before the app starts, or take the DataSource from TypeOrmModule (@nestjs/typeorm), which initializes it; ' +
      'and destroy it only after the app has closed.',
  );
}

/** The store's error for an operation that took longer than its `operationTimeoutMs`. */
export function operationTimedOut(operation: string, database: string, timeoutMs: number): SessionStoreConnectionError {
  return new SessionStoreConnectionError(
    `TypeOrmSessionStore.${operation}: ${database} did not answer within ${timeoutMs} ms (operationTimeoutMs). The ` +
      'database is stalled, overloaded or out of pooled connections; requests that need a session fail with 503 ' +
      'until it answers in time. Raise operationTimeoutMs only if the database is merely slow.',
  );
}

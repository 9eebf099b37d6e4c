import type { DataSource } from 'typeorm';
import { SessionInputError } from '../../core/errors';
import { describeDatabase, isConnectionFailure, messageOf } from '../../stores/typeorm/connection-errors';
import { Dialect, mutexFor, sqlFamilyOf } from '../../stores/typeorm/sql-dialect';
import { neutralizeEvent } from '../neutralize';
import { SecurityEvent, SecurityEventLevel, SecurityEventSink, SecurityEventType } from '../security-event';
import { AUDIT_TABLE } from './schema';

/** Where the sink reports dropped events and outages. Nest's `Logger` fits, and so does `console`. */
export interface AuditSinkLogger {
  error(message: string): void;
  warn(message: string): void;
}

/** Options of {@link TypeOrmAuditSink}; every one has a default. */
export interface TypeOrmAuditSinkOptions {
  /** Most events in one INSERT statement. Default `100`. */
  batchSize?: number;
  /**
   * Most events held in memory while the database is slow or down; beyond them new events are dropped, counted
   * and reported, so an outage can never exhaust memory. Default `10_000` (a few MB at most).
   */
  maxBuffered?: number;
  /** How long the sink waits after the database failed before it tries again, in ms. Default `5_000`. */
  retryDelayMs?: number;
  /** Default {@link TypeOrmAuditSink.query} page size. Default `50`. */
  defaultLimit?: number;
  /** Largest {@link TypeOrmAuditSink.query} page size; a larger `limit` is refused. Default `500`. */
  maxLimit?: number;
  /** Where outages and dropped events are reported. Default: `console`. */
  logger?: AuditSinkLogger;
}

/** The defaults of {@link TypeOrmAuditSinkOptions}. */
export const AUDIT_SINK_DEFAULTS = {
  batchSize: 100,
  maxBuffered: 10_000,
  retryDelayMs: 5_000,
  defaultLimit: 50,
  maxLimit: 500,
} as const;

/**
 * Largest `batchSize`: ten parameters a row keeps one INSERT far below PostgreSQL's 65,535 and SQLite's 32,766
 * bound parameters.
 */
export const MAX_BATCH_SIZE = 1000;

/** A security event as the audit table holds it. */
export interface StoredSecurityEvent extends SecurityEvent {
  /** The row's id: insertion order, unique. */
  id: number;
}

/** A filter for {@link TypeOrmAuditSink.query}. Every field is optional; they combine with AND. */
export interface AuditEventQuery {
  /** Only this user's events. */
  userId?: string;
  /** Only events of this type. */
  type?: SecurityEventType | string;
  /** Only events at or after this time (ms since the epoch). */
  from?: number;
  /** Only events before this time (ms since the epoch, exclusive). */
  to?: number;
  /** Page size, 1 to `maxLimit` (default 500). Default `defaultLimit` (50). */
  limit?: number;
  /** The `next` cursor of the previous page: the events older than its last one. */
  cursor?: string;
}

/** One page of {@link TypeOrmAuditSink.query}: newest first. */
export interface AuditEventPage {
  events: StoredSecurityEvent[];
  /** Cursor of the next (older) page; absent on the last page. */
  next?: string;
}

/** What the sink has done since it was made. */
export interface AuditSinkStats {
  /** Events in memory waiting for the database. */
  buffered: number;
  /** Events written to the table. */
  written: number;
  /** Events lost: the buffer was full, the sink was closed, or the database refused the row itself. */
  dropped: number;
  /** Whether the last write failed because the database could not be reached. */
  unavailable: boolean;
}

interface Row {
  time: number;
  type: string;
  level: string;
  outcome: string;
  user_id: string | null;
  session_handle: string | null;
  ip: string | null;
  user_agent: string | null;
  reason: string | null;
  detail: string | null;
}

const COLUMNS: (keyof Row)[] = ['time', 'type', 'level', 'outcome', 'user_id', 'session_handle', 'ip', 'user_agent', 'reason', 'detail'];

/** A cursor is the last event's `time` and `id`: the next page is what sorts after it (keyset pagination). */
const CURSOR = /^(\d{1,16})\.(\d{1,16})$/;

/**
 * Writes security events into the audit table (`nsk_audit_event`, made by `AUDIT_MIGRATIONS`) on PostgreSQL,
 * MariaDB/MySQL or SQLite, and reads them back for an admin view ({@link query}).
 *
 * A write never fails nor slows the request that emitted the event: {@link handle} only puts the event in a
 * bounded buffer. One write runs at a time; events that arrive meanwhile go out together in the next INSERT (up to
 * `batchSize` rows), so a quiet app writes each event at once and a busy one in batches. When the database cannot
 * be reached the events stay in memory, up to `maxBuffered`, and the sink tries again after `retryDelayMs`; events
 * beyond the bound are dropped, counted ({@link stats}) and reported through the logger: once when the outage
 * begins, again when more were dropped, and once when writes succeed again. A row the database refuses for another
 * reason (a bug, not an outage) is dropped and reported, never retried forever.
 *
 * Every event is neutralised first (`neutralizeEvent`: control characters, ANSI escapes, bidi overrides, clipped
 * lengths), so a row always fits its columns and reads safely in any viewer.
 *
 * The sink never initializes or destroys the DataSource: call {@link close} before you destroy it, so the last
 * events are written.
 *
 * @example
 * const audit = new TypeOrmAuditSink(dataSource, { logger: new Logger('Audit') });
 * SessionModule.forRoot({ eventSinks: [audit] });
 * const { events, next } = await audit.query({ userId, type: 'authn_login_fail', limit: 20 });
 */
export class TypeOrmAuditSink implements SecurityEventSink {
  private readonly dialect: Dialect;
  private readonly database: string;
  private readonly batchSize: number;
  private readonly maxBuffered: number;
  private readonly retryDelayMs: number;
  private readonly defaultLimit: number;
  private readonly maxLimit: number;
  private readonly logger: AuditSinkLogger;

  private buffer: Row[] = [];
  private draining?: Promise<void>;
  private retryTimer?: NodeJS.Timeout;
  private closed = false;
  private unavailable = false;
  private written = 0;
  private dropped = 0;
  /** `dropped` when the logger last heard about it, so a long outage is reported when it loses more, not per event. */
  private droppedReported = 0;
  /** Set after a loss was reported, until the next successful write: further losses are only counted meanwhile. */
  private quietDrops = false;

  /**
   * @param dataSource an initialized DataSource whose database has the audit table (run `AUDIT_MIGRATIONS`).
   * @throws Error listing every problem at once: a DataSource type other than PostgreSQL, MariaDB/MySQL or better-sqlite3, or
   *   options out of range, naming what to fix.
   */
  constructor(
    private readonly dataSource: DataSource,
    options: TypeOrmAuditSinkOptions = {},
  ) {
    const problems: string[] = [];
    let family: ReturnType<typeof sqlFamilyOf> = 'sqlite';
    try {
      family = sqlFamilyOf(dataSource);
    } catch {
      problems.push(`DataSource type '${dataSource.options.type}' is not supported; use postgres, mysql, mariadb or better-sqlite3`);
    }
    const positive = (name: keyof typeof AUDIT_SINK_DEFAULTS, min = 1): number => {
      const value = options[name] ?? AUDIT_SINK_DEFAULTS[name];
      if (!Number.isSafeInteger(value) || value < min)
        problems.push(`${name} must be an integer of at least ${min} (got ${String(value)})`);
      return value;
    };
    this.batchSize = positive('batchSize');
    this.maxBuffered = positive('maxBuffered');
    this.retryDelayMs = positive('retryDelayMs', 0);
    this.defaultLimit = positive('defaultLimit');
    this.maxLimit = positive('maxLimit');
    if (this.defaultLimit > this.maxLimit) problems.push(`defaultLimit (${this.defaultLimit}) must not exceed maxLimit (${this.maxLimit})`);
    if (this.batchSize > MAX_BATCH_SIZE) problems.push(`batchSize must be at most ${MAX_BATCH_SIZE} (got ${this.batchSize})`);
    if (problems.length > 0) throw new Error(`Invalid TypeOrmAuditSink options:\n  - ${problems.join('\n  - ')}`);
    const schema = family === 'postgres' ? (dataSource.options as { schema?: string }).schema : undefined;
    this.dialect = new Dialect(family, schema);
    this.database = describeDatabase(dataSource.options);
    this.logger = options.logger ?? console;
  }

  /** Takes the event into the buffer and starts a write if none is running. Never throws, never waits. */
  handle(event: SecurityEvent): void {
    if (this.closed) return this.drop(1, 'the sink is closed');
    if (this.buffer.length >= this.maxBuffered) {
      return this.drop(1, `${this.maxBuffered} events are already waiting for ${this.database}`);
    }
    this.buffer.push(toRow(neutralizeEvent(event)));
    if (!this.draining && !this.retryTimer) this.startDrain();
  }

  /**
   * Writes what is buffered now, without waiting for a pending retry. Resolves when the buffer is empty or the
   * database failed again (then {@link stats} says `unavailable`); never rejects.
   */
  async flush(): Promise<void> {
    this.cancelRetry();
    while (this.draining) await this.draining;
    if (this.buffer.length > 0) {
      this.startDrain();
      await this.draining;
    }
  }

  /** Writes what is buffered (one last try), then refuses further events. Does not touch the DataSource. */
  async close(): Promise<void> {
    await this.flush();
    this.cancelRetry();
    this.closed = true;
    if (this.buffer.length > 0) {
      const lost = this.buffer.length;
      this.buffer = [];
      this.drop(lost, `${this.database} could not be reached before the sink closed`);
    }
  }

  /** Counters of the sink: buffered, written and dropped events, and whether the database is unavailable. */
  stats(): AuditSinkStats {
    return { buffered: this.buffer.length, written: this.written, dropped: this.dropped, unavailable: this.unavailable };
  }

  /**
   * Events matching the filter, newest first (by time, then insertion order), one page at a time: pass the page's
   * `next` as `cursor` for the older ones. Each page is one index range scan (the indexes end in `time, id`).
   *
   * @throws SessionInputError for a limit outside 1..`maxLimit`, a malformed cursor or a non-integer time, naming
   *   the field; a database failure is rethrown as it is.
   * @example const page = await audit.query({ userId: 'u1', limit: 20 }); const older = await audit.query({ userId: 'u1', limit: 20, cursor: page.next });
   */
  async query(filter: AuditEventQuery = {}): Promise<AuditEventPage> {
    const limit = filter.limit ?? this.defaultLimit;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > this.maxLimit) {
      throw new SessionInputError('limit', `must be an integer from 1 to ${this.maxLimit} (got ${String(limit)})`);
    }
    const q = (name: string): string => this.dialect.quote(name);
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.userId !== undefined) {
      where.push(this.dialect.eq(q('user_id')));
      params.push(filter.userId);
    }
    if (filter.type !== undefined) {
      where.push(this.dialect.eq(q('type')));
      params.push(filter.type);
    }
    for (const [name, op] of [
      ['from', '>='],
      ['to', '<'],
    ] as const) {
      const value = filter[name];
      if (value === undefined) continue;
      if (!Number.isSafeInteger(value)) throw new SessionInputError(name, `must be a time in ms since the epoch (got ${String(value)})`);
      where.push(`${q('time')} ${op} ?`);
      params.push(value);
    }
    if (filter.cursor !== undefined) {
      const match = CURSOR.exec(filter.cursor);
      if (!match) throw new SessionInputError('cursor', 'must be the `next` value of a previous page');
      const [time, id] = [Number(match[1]), Number(match[2])];
      where.push(`(${q('time')} < ? OR (${q('time')} = ? AND ${q('id')} < ?))`);
      params.push(time, time, id);
    }
    // One row more than asked tells whether an older page exists, without a COUNT.
    const sql =
      `SELECT ${['id', ...COLUMNS].map(q).join(', ')} FROM ${this.dialect.table(AUDIT_TABLE)}` +
      (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
      ` ORDER BY ${q('time')} DESC, ${q('id')} DESC LIMIT ${limit + 1}`;
    const rows = (await this.run(sql, params)) as (Row & { id: unknown })[];
    const events = rows.slice(0, limit).map(fromRow);
    const last = events[events.length - 1];
    return rows.length > limit && last ? { events, next: `${last.time}.${last.id}` } : { events };
  }

  private startDrain(): void {
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  private async drain(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.slice(0, this.batchSize);
      try {
        await this.insert(batch);
      } catch (error) {
        if (isConnectionFailure(error)) return this.outage(error);
        // Not an outage: one of the rows is at fault (or a bug). Write the rows one by one so only the bad one is lost.
        this.buffer.splice(0, batch.length);
        await this.insertOneByOne(batch, error);
        continue;
      }
      this.buffer.splice(0, batch.length);
      this.written += batch.length;
      if (this.unavailable) this.recovered();
      else if (this.dropped > this.droppedReported) this.reportDropped();
      this.quietDrops = false;
    }
  }

  private async insertOneByOne(batch: Row[], batchError: unknown): Promise<void> {
    for (const [i, row] of batch.entries()) {
      try {
        await this.insert([row]);
        this.written += 1;
      } catch (error) {
        if (isConnectionFailure(error)) {
          // The database went away meanwhile: keep the rest for the retry.
          this.buffer.unshift(...batch.slice(i));
          return this.outage(error);
        }
        this.drop(1, `${this.database} refused a ${row.type} event (${messageOf(error ?? batchError)}); this is a bug, please report it`);
      }
    }
  }

  private outage(error: unknown): void {
    const unreported = this.dropped - this.droppedReported;
    if (!this.unavailable) {
      this.unavailable = true;
      this.logger.error(
        `TypeOrmAuditSink: cannot write security events to ${this.database} (${messageOf(error)}). Keeping up to ` +
          `${this.maxBuffered} events in memory and trying again every ${this.retryDelayMs} ms; events beyond that are ` +
          `dropped and counted (${this.dropped} so far). Check that the database is running and reachable.`,
      );
      this.droppedReported = this.dropped;
    } else if (unreported > 0) {
      this.logger.error(
        `TypeOrmAuditSink: ${this.database} is still unreachable; ${unreported} more security events dropped (${this.dropped} in all).`,
      );
      this.droppedReported = this.dropped;
    }
    if (!this.closed) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        if (!this.draining) this.startDrain();
      }, this.retryDelayMs);
      this.retryTimer.unref();
    }
  }

  private recovered(): void {
    this.unavailable = false;
    const unreported = this.dropped - this.droppedReported;
    this.droppedReported = this.dropped;
    this.logger.warn(
      `TypeOrmAuditSink: writing security events to ${this.database} again` +
        (unreported > 0 ? `; ${unreported} more were dropped meanwhile (${this.dropped} in all).` : ` (${this.dropped} dropped in all).`),
    );
  }

  /**
   * Counts lost events. The first loss of an episode is reported at once with its cause; later ones are counted
   * silently and summed up by the next retry (outage) or the next successful write (slow database), so a flood of
   * events cannot flood the log as well.
   */
  private drop(count: number, why: string): void {
    this.dropped += count;
    if (this.unavailable || this.quietDrops) return;
    this.logger.error(
      `TypeOrmAuditSink: dropped ${count} security event${count === 1 ? '' : 's'}: ${why} (${this.dropped} dropped in all).`,
    );
    this.droppedReported = this.dropped;
    this.quietDrops = true;
  }

  private reportDropped(): void {
    this.logger.error(`TypeOrmAuditSink: ${this.dropped - this.droppedReported} more security events dropped (${this.dropped} in all).`);
    this.droppedReported = this.dropped;
  }

  private cancelRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private async insert(rows: Row[]): Promise<void> {
    const tuple = `(${COLUMNS.map(() => '?').join(', ')})`;
    const sql =
      `INSERT INTO ${this.dialect.table(AUDIT_TABLE)} (${COLUMNS.map((c) => this.dialect.quote(c)).join(', ')}) VALUES ` +
      rows.map(() => tuple).join(', ');
    await this.run(
      sql,
      rows.flatMap((row) => COLUMNS.map((c) => row[c])),
    );
  }

  /**
   * Runs one statement. better-sqlite3 gives TypeORM a single connection: the statement waits for the session
   * store's transaction on the same DataSource (shared mutex) instead of running inside it.
   */
  private run(sql: string, params: unknown[]): Promise<unknown[]> {
    const go = (): Promise<unknown[]> => this.dataSource.query(this.dialect.bind(sql), params);
    return this.dialect.family === 'sqlite' ? mutexFor(this.dataSource).run(go) : go();
  }
}

function toRow(event: SecurityEvent): Row {
  return {
    time: event.time,
    type: event.type,
    level: event.level,
    outcome: event.outcome,
    user_id: event.userId ?? null,
    session_handle: event.sessionHandle ?? null,
    ip: event.ip ?? null,
    user_agent: event.userAgent ?? null,
    reason: event.reason ?? null,
    detail: event.detail && Object.keys(event.detail).length > 0 ? JSON.stringify(event.detail) : null,
  };
}

function fromRow(row: Row & { id: unknown }): StoredSecurityEvent {
  const event: StoredSecurityEvent = {
    id: Number(row.id),
    time: Number(row.time),
    type: row.type as SecurityEventType,
    level: row.level as SecurityEventLevel,
    outcome: row.outcome as SecurityEvent['outcome'],
  };
  if (row.user_id !== null) event.userId = row.user_id;
  if (row.session_handle !== null) event.sessionHandle = row.session_handle;
  if (row.ip !== null) event.ip = row.ip;
  if (row.user_agent !== null) event.userAgent = row.user_agent;
  if (row.reason !== null) event.reason = row.reason;
  if (row.detail !== null) event.detail = JSON.parse(row.detail) as StoredSecurityEvent['detail'];
  return event;
}

/**
 * TypeOrmAuditSink against real servers: PostgreSQL and MariaDB on 127.0.0.1 (a missing server fails these tests,
 * it never skips them) and SQLite through better-sqlite3.
 *
 * Each run makes its own namespace (a PostgreSQL schema, a MariaDB database, a temporary SQLite file) named after
 * the process and a random suffix, builds the table with the library's own migration, and drops the namespace at
 * the end, so parallel runs never share a table.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource, DataSourceOptions } from 'typeorm';
import { SessionInputError } from '../../lib/core/errors';
import { SecurityEvent } from '../../lib/events/security-event';
import { AUDIT_ENTITIES, AUDIT_MIGRATIONS, AUDIT_TABLE, AuditSinkLogger, TypeOrmAuditSink } from '../../lib/events/typeorm';

jest.setTimeout(60_000);

const RUN = `nsk_audit_${process.pid}_${randomBytes(3).toString('hex')}`;
const MIGRATIONS_TABLE = 'nsk_audit_spec_migrations';

interface Backend {
  name: 'postgres' | 'mariadb' | 'sqlite';
  /** Options of a DataSource inside this run's namespace, creating it first. */
  prepare(): Promise<DataSourceOptions>;
  /** Removes the namespace. */
  dispose(): Promise<void>;
}

let sqliteDir: string | undefined;

async function withBootstrap(options: DataSourceOptions, work: (ds: DataSource) => Promise<unknown>): Promise<void> {
  const ds = await new DataSource(options).initialize();
  try {
    await work(ds);
  } finally {
    await ds.destroy();
  }
}

const PG = { type: 'postgres', host: '127.0.0.1', port: 5432, username: 'postgres', database: 'test' } as const;
const MARIA = {
  type: 'mariadb',
  host: '127.0.0.1',
  port: 3306,
  username: 'root',
  password: '',
  database: 'test',
  charset: 'utf8mb4',
} as const;

const BACKENDS: Backend[] = [
  {
    name: 'postgres',
    async prepare() {
      await withBootstrap(PG, (ds) => ds.query(`CREATE SCHEMA ${RUN}`));
      return { ...PG, schema: RUN };
    },
    dispose: () => withBootstrap(PG, (ds) => ds.query(`DROP SCHEMA IF EXISTS ${RUN} CASCADE`)),
  },
  {
    name: 'mariadb',
    async prepare() {
      await withBootstrap(MARIA, (ds) => ds.query(`CREATE DATABASE ${RUN}`));
      return { ...MARIA, database: RUN };
    },
    dispose: () => withBootstrap(MARIA, (ds) => ds.query(`DROP DATABASE IF EXISTS ${RUN}`)),
  },
  {
    name: 'sqlite',
    async prepare() {
      sqliteDir = mkdtempSync(join(tmpdir(), 'nsk-audit-'));
      return { type: 'better-sqlite3', database: join(sqliteDir, 'audit.sqlite') };
    },
    async dispose() {
      if (sqliteDir) rmSync(sqliteDir, { recursive: true, force: true });
    },
  },
];

/** Collects what the sink reports. */
class Reports implements AuditSinkLogger {
  readonly errors: string[] = [];
  readonly warnings: string[] = [];
  error(message: string): void {
    this.errors.push(message);
  }
  warn(message: string): void {
    this.warnings.push(message);
  }
}

const T0 = 1_800_000_000_000;

function event(overrides: Partial<SecurityEvent> = {}): SecurityEvent {
  return {
    type: 'authn_login_success',
    time: T0,
    level: 'INFO',
    outcome: 'success',
    userId: 'u1',
    sessionHandle: 'h'.repeat(22),
    ip: '203.0.113.7',
    userAgent: 'Mozilla/5.0',
    ...overrides,
  };
}

describe.each(BACKENDS)('TypeOrmAuditSink on $name', (backend) => {
  let options: DataSourceOptions;
  let dataSource: DataSource;
  let reports: Reports;
  let sink: TypeOrmAuditSink;

  beforeAll(async () => {
    options = { ...(await backend.prepare()), migrations: AUDIT_MIGRATIONS, migrationsTableName: MIGRATIONS_TABLE };
    dataSource = await new DataSource(options).initialize();
    await dataSource.runMigrations();
  });

  afterAll(async () => {
    await sink?.close();
    if (dataSource?.isInitialized) await dataSource.destroy();
    await backend.dispose();
  });

  beforeEach(async () => {
    await sink?.close();
    if (!dataSource.isInitialized) await dataSource.initialize();
    // On PostgreSQL the table lives in this run's schema.
    await dataSource.query(`DELETE FROM ${backend.name === 'postgres' ? `${RUN}.` : ''}${AUDIT_TABLE}`);
    reports = new Reports();
    sink = new TypeOrmAuditSink(dataSource, { logger: reports, retryDelayMs: 60_000, maxBuffered: 20 });
  });

  it('the migration makes the schema the entity describes (synchronize would change nothing; SQLite: see the entity)', async () => {
    const check = await new DataSource({ ...options, entities: AUDIT_ENTITIES, migrations: [] }).initialize();
    try {
      const pending = (await check.driver.createSchemaBuilder().log()).upQueries.map((q) => q.query);
      if (backend.name === 'sqlite') {
        // The one difference: SQLite auto-increments only an INTEGER PRIMARY KEY, which the entity cannot say.
        expect(
          pending.filter((q) => q.startsWith('CREATE TABLE')).every((q) => /"id" (integer|bigint) PRIMARY KEY AUTOINCREMENT/.test(q)),
        ).toBe(true);
      } else {
        expect(pending).toEqual([]);
      }
    } finally {
      await check.destroy();
    }
  });

  it('writes events and reads them back newest first, filtered by user, type and time', async () => {
    sink.handle(event({ time: T0, userId: 'alice', type: 'authn_login_fail', outcome: 'failure', level: 'WARN', reason: 'bad_password' }));
    sink.handle(event({ time: T0 + 1, userId: 'alice', detail: { method: 'totp', remaining: 3, remembered: false } }));
    sink.handle(event({ time: T0 + 2, userId: 'bob', type: 'authn_login_fail', outcome: 'failure', level: 'WARN' }));
    sink.handle(
      event({ time: T0 + 3, userId: undefined, sessionHandle: undefined, ip: undefined, userAgent: undefined, type: 'session_expired' }),
    );
    await sink.flush();
    expect(sink.stats()).toEqual({ buffered: 0, written: 4, dropped: 0, unavailable: false });

    const all = await sink.query();
    expect(all.events.map((e) => e.time)).toEqual([T0 + 3, T0 + 2, T0 + 1, T0]);
    expect(all.next).toBeUndefined();
    expect(all.events[3]).toEqual({
      id: expect.any(Number),
      time: T0,
      type: 'authn_login_fail',
      level: 'WARN',
      outcome: 'failure',
      userId: 'alice',
      sessionHandle: 'h'.repeat(22),
      ip: '203.0.113.7',
      userAgent: 'Mozilla/5.0',
      reason: 'bad_password',
    });
    expect(all.events[2].detail).toEqual({ method: 'totp', remaining: 3, remembered: false });
    expect(all.events[0]).toEqual({ id: expect.any(Number), time: T0 + 3, type: 'session_expired', level: 'INFO', outcome: 'success' });

    expect((await sink.query({ userId: 'alice' })).events.map((e) => e.time)).toEqual([T0 + 1, T0]);
    expect((await sink.query({ type: 'authn_login_fail' })).events.map((e) => e.userId)).toEqual(['bob', 'alice']);
    expect((await sink.query({ userId: 'alice', type: 'authn_login_fail' })).events).toHaveLength(1);
    expect((await sink.query({ from: T0 + 1, to: T0 + 3 })).events.map((e) => e.time)).toEqual([T0 + 2, T0 + 1]);
    // User ids compare exactly, on MariaDB too (utf8mb4_bin).
    expect((await sink.query({ userId: 'ALICE' })).events).toEqual([]);
  });

  it('pages with a cursor through events of the same millisecond without losing or repeating one', async () => {
    for (let i = 0; i < 7; i++) sink.handle(event({ time: T0 + (i < 5 ? 0 : i), detail: { i } }));
    await sink.flush();
    const seen: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await sink.query({ limit: 3, cursor });
      seen.push(...page.events.map((e) => e.detail!.i as number));
      cursor = page.next;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([6, 5, 4, 3, 2, 1, 0]);
  });

  it('refuses a bad limit, cursor or time, naming the field', async () => {
    await expect(sink.query({ limit: 0 })).rejects.toThrow(SessionInputError);
    await expect(sink.query({ limit: 501 })).rejects.toThrow(/limit: must be an integer from 1 to 500/);
    await expect(sink.query({ limit: 1.5 })).rejects.toThrow(/limit/);
    await expect(sink.query({ cursor: "1' OR 1=1" })).rejects.toThrow(/cursor/);
    await expect(sink.query({ from: Number.NaN })).rejects.toThrow(/from/);
  });

  it('stores hostile strings neutralised and any Unicode intact', async () => {
    sink.handle(
      event({
        userId: 'eve\n{"type":"authn_login_success"}',
        userAgent: '\u001b[31mred\u001b[0m \u202eexe.txt 🙂 Zoë',
        reason: 'x'.repeat(5000),
        detail: { 'k\r\n': 'v\u2028' },
      }),
    );
    await sink.flush();
    const [stored] = (await sink.query()).events;
    expect(stored.userId).toBe('eve\\x0a{"type":"authn_login_success"}');
    expect(stored.userAgent).toBe('\\x1b[31mred\\x1b[0m \\u202eexe.txt 🙂 Zoë');
    expect(stored.reason).toHaveLength(256);
    expect(stored.reason!.endsWith('…[clipped]')).toBe(true);
    expect(stored.detail).toEqual({ 'k\\x0d\\x0a': 'v\\u2028' });
  });

  it('never makes the caller wait, and batches what arrives while a write runs', async () => {
    const statements: string[] = [];
    const query = dataSource.query.bind(dataSource);
    const spy = jest.spyOn(dataSource, 'query').mockImplementation((sql: string, params?: Parameters<DataSource['query']>[1]) => {
      statements.push(sql);
      return query(sql, params);
    });
    sink = new TypeOrmAuditSink(dataSource, { logger: reports });
    try {
      for (let i = 0; i < 250; i++) expect(sink.handle(event({ time: T0 + i }))).toBeUndefined();
      // Nothing was awaited: every event is still in memory or in the one write under way.
      expect(sink.stats().written).toBe(0);
      await sink.flush();
    } finally {
      spy.mockRestore();
    }
    const inserts = statements.filter((s) => s.startsWith('INSERT'));
    // The first event goes out at once; the 249 that came meanwhile go in batches of 100.
    expect(inserts).toHaveLength(4);
    expect(sink.stats()).toMatchObject({ written: 250, dropped: 0 });
    expect((await sink.query({ limit: 500 })).events).toHaveLength(250);
  });

  it('keeps a bounded buffer while the database is down, counts and reports what it drops, and catches up when it is back', async () => {
    await dataSource.destroy();
    for (let i = 0; i < 25; i++) sink.handle(event({ time: T0 + i, detail: { i } }));
    expect(sink.stats()).toMatchObject({ buffered: 20, dropped: 5 });
    await sink.flush();
    expect(sink.stats()).toMatchObject({ buffered: 20, dropped: 5, written: 0, unavailable: true });
    expect(reports.errors.join('\n')).toMatch(/dropped 1 security event: 20 events are already waiting/);
    expect(reports.errors.join('\n')).toMatch(/cannot write security events to .*trying again every 60000 ms.*5 so far/s);
    // Still down: more events are dropped, reported once per retry rather than once per event.
    for (let i = 0; i < 100; i++) sink.handle(event());
    const before = reports.errors.length;
    await sink.flush();
    expect(reports.errors.length).toBe(before + 1);
    expect(reports.errors.at(-1)).toMatch(/still unreachable; 100 more security events dropped \(105 in all\)/);

    await dataSource.initialize();
    await sink.flush();
    expect(sink.stats()).toEqual({ buffered: 0, written: 20, dropped: 105, unavailable: false });
    expect(reports.warnings.at(-1)).toMatch(/writing security events to .* again \(105 dropped in all\)/);
    // The oldest events were kept: the start of an incident matters most.
    expect((await sink.query({ limit: 100 })).events.map((e) => e.detail!.i)).toEqual([...Array(20).keys()].reverse());
  });

  it('stays bounded and never makes the caller wait while a write hangs (a slow database), then catches up', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const query = dataSource.query.bind(dataSource);
    const spy = jest.spyOn(dataSource, 'query').mockImplementation(async (sql: string, params?: Parameters<DataSource['query']>[1]) => {
      await gate;
      return query(sql, params);
    });
    try {
      for (let i = 0; i < 30; i++) expect(sink.handle(event({ time: T0 + i }))).toBeUndefined();
      // One INSERT hangs with the first event; the buffer holds at most 20 (the hanging one included), the rest is counted.
      expect(sink.stats()).toEqual({ buffered: 20, written: 0, dropped: 10, unavailable: false });
      // Reported once, not once per event.
      expect(reports.errors).toEqual([expect.stringMatching(/dropped 1 security event: 20 events are already waiting/)]);
      // One statement under way, and it is the only one: the others wait for it instead of piling up on the database.
      await new Promise((resolve) => setImmediate(resolve));
      expect(spy).toHaveBeenCalledTimes(1);
      release();
      await sink.flush();
    } finally {
      spy.mockRestore();
    }
    expect(sink.stats()).toEqual({ buffered: 0, written: 20, dropped: 10, unavailable: false });
    expect(reports.errors.at(-1)).toMatch(/9 more security events dropped \(10 in all\)/);
    expect((await sink.query({ limit: 100 })).events).toHaveLength(20);
  });

  it('drops only the row the database refuses, reports it, and writes the rest of the batch', async () => {
    // neutralizeEvent makes every string fit its column, so forge a row no server accepts: text in the bigint time.
    const bad = event({ time: T0 + 1 });
    (bad as { time: unknown }).time = 'not a time';
    sink.handle(event({ time: T0 }));
    sink.handle(bad);
    sink.handle(event({ time: T0 + 2 }));
    await sink.flush();
    if (backend.name === 'sqlite') {
      // SQLite's dynamic typing stores the text as it is: nothing to refuse.
      expect(sink.stats().dropped).toBe(0);
      return;
    }
    expect(sink.stats()).toMatchObject({ written: 2, dropped: 1, unavailable: false });
    expect(reports.errors.join('\n')).toMatch(/refused a authn_login_success event .*this is a bug/);
  });

  it('after close, refuses events and counts them as dropped; never destroys the DataSource', async () => {
    await sink.close();
    sink.handle(event());
    expect(sink.stats().dropped).toBe(1);
    expect(reports.errors.at(-1)).toMatch(/the sink is closed/);
    expect(dataSource.isInitialized).toBe(true);
  });
});

describe('TypeOrmAuditSink options', () => {
  it('lists every bad option at once', () => {
    // Never connected: the constructor only reads the options.
    const ds = { options: { type: 'mongodb' } } as unknown as DataSource;
    expect(() => new TypeOrmAuditSink(ds, { batchSize: 0, maxBuffered: -1, defaultLimit: 600 })).toThrow(
      /Invalid TypeOrmAuditSink options:\n {2}- DataSource type 'mongodb' is not supported.*\n {2}- batchSize must be an integer of at least 1.*\n {2}- maxBuffered.*\n {2}- defaultLimit \(600\) must not exceed maxLimit \(500\)/s,
    );
  });
});

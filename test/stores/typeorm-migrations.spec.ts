/**
 * The session migrations as apps run them on MariaDB: through TypeORM's `mysql` driver (what the sample and most
 * apps use with a `mysql://` URL, and where MariaDB's column metadata reads differently), and after a run that
 * failed halfway, which MySQL and MariaDB leave half-applied because every DDL statement commits at once.
 */
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { SESSION_MIGRATIONS } from '../../lib/stores/typeorm';

const DATABASE = `nsk_migrations_${process.pid}`;
const server = { host: '127.0.0.1', port: 3306, username: 'root', password: '' } as const;

async function onAdmin<T>(fn: (admin: DataSource) => Promise<T>): Promise<T> {
  const admin = new DataSource({ type: 'mysql', ...server, database: 'test' });
  await admin.initialize().catch((error: Error) => {
    throw new Error(
      `MariaDB on 127.0.0.1:3306 is needed for this test (${error.message}); start it: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd`,
    );
  });
  try {
    return await fn(admin);
  } finally {
    await admin.destroy();
  }
}

async function migrated(): Promise<DataSource> {
  const dataSource = new DataSource({ type: 'mysql', ...server, database: DATABASE, charset: 'utf8mb4', migrations: SESSION_MIGRATIONS });
  await dataSource.initialize();
  try {
    await dataSource.runMigrations({ transaction: 'each' });
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
  return dataSource;
}

describe('session migrations on MariaDB through the mysql driver', () => {
  beforeEach(() =>
    onAdmin(
      async (admin) => void (await admin.query(`DROP DATABASE IF EXISTS ${DATABASE}`), await admin.query(`CREATE DATABASE ${DATABASE}`)),
    ),
  );
  afterAll(() => onAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${DATABASE}`)));

  it('runs every migration on an empty database and leaves until NOT NULL', async () => {
    const dataSource = await migrated();
    try {
      const [until] = await dataSource.query(
        `SELECT IS_NULLABLE AS nullable FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'nsk_session_pointer' AND COLUMN_NAME = 'until'`,
        [DATABASE],
      );
      expect(until.nullable).toBe('NO');
      expect((await dataSource.query('SELECT name FROM migrations ORDER BY id')).map((m: { name: string }) => m.name)).toEqual(
        SESSION_MIGRATIONS.map((m) => m.name),
      );
    } finally {
      await dataSource.destroy();
    }
  });

  it('finishes a second migration that an earlier run left half-applied', async () => {
    // The first migration only, then the first steps of the second, without its row in the migrations table.
    const first = new DataSource({ type: 'mysql', ...server, database: DATABASE, migrations: [SESSION_MIGRATIONS[0]] });
    await first.initialize();
    await first.runMigrations();
    await first.query("ALTER TABLE nsk_session ADD stage varchar(16) NOT NULL DEFAULT 'complete'");
    await first.query('ALTER TABLE nsk_session_pointer ADD `until` bigint NULL');
    await first.destroy();
    const dataSource = await migrated();
    try {
      expect(await dataSource.query('SELECT COUNT(*) AS n FROM migrations')).toEqual([{ n: String(SESSION_MIGRATIONS.length) }]);
    } finally {
      await dataSource.destroy();
    }
  });

  it('finishes a third migration that an earlier run left half-applied', async () => {
    // The first two migrations, then the first two columns of the third, without its row in the migrations table.
    const earlier = new DataSource({ type: 'mysql', ...server, database: DATABASE, migrations: SESSION_MIGRATIONS.slice(0, 2) });
    await earlier.initialize();
    await earlier.runMigrations();
    await earlier.query('ALTER TABLE nsk_session ADD roles text NULL');
    await earlier.query("ALTER TABLE nsk_session ADD tier varchar(16) NOT NULL DEFAULT 'standard'");
    await earlier.destroy();
    const dataSource = await migrated();
    try {
      expect(await dataSource.query('SELECT COUNT(*) AS n FROM migrations')).toEqual([{ n: String(SESSION_MIGRATIONS.length) }]);
      const columns = await dataSource.query(
        `SELECT COLUMN_NAME AS name, IS_NULLABLE AS nullable FROM information_schema.COLUMNS
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'nsk_session' AND COLUMN_NAME IN ('roles', 'tier', 'impersonated_by', 'idle_timeout_ms')
         ORDER BY COLUMN_NAME`,
        [DATABASE],
      );
      expect(columns).toEqual([
        { name: 'idle_timeout_ms', nullable: 'YES' },
        { name: 'impersonated_by', nullable: 'YES' },
        { name: 'roles', nullable: 'YES' },
        { name: 'tier', nullable: 'NO' },
      ]);
    } finally {
      await dataSource.destroy();
    }
  });
});

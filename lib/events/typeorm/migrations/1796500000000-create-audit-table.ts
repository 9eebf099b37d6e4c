import { MigrationInterface, QueryRunner, Table, TableColumnOptions, TableIndex } from 'typeorm';
import {
  AUDIT_HANDLE_LENGTH,
  AUDIT_IP_LENGTH,
  AUDIT_NAME_LENGTH,
  AUDIT_REASON_LENGTH,
  AUDIT_TABLE,
  AUDIT_TIME_INDEX,
  AUDIT_TYPE_TIME_INDEX,
  AUDIT_USER_AGENT_LENGTH,
  AUDIT_USER_ID_LENGTH,
  AUDIT_USER_TIME_INDEX,
  AUDIT_USER_TYPE_TIME_INDEX,
} from '../schema';

const MYSQL_FAMILY = new Set(['mysql', 'mariadb', 'aurora-mysql']);

/**
 * Creates the audit table `nsk_audit_event` and its indexes on PostgreSQL, MariaDB/MySQL and SQLite alike. It is
 * in `AUDIT_MIGRATIONS`; add those to your DataSource's `migrations`.
 *
 * Every index ends in `(time, id)`, so the admin queries (all events, one user's, one type's, one user's of one
 * type, newest first, a page after a cursor) read one index range in order and never sort.
 *
 * On MariaDB/MySQL user ids, handles and types compare byte for byte (`utf8mb4_bin`), as the session tables do:
 * `Alice` and `alice` are different users. Free text is `utf8mb4`, which holds any Unicode.
 *
 * @example
 * new DataSource({ type: 'postgres', ..., migrations: [...SESSION_MIGRATIONS, ...AUDIT_MIGRATIONS], migrationsRun: true });
 */
export class CreateAuditTable1796500000000 implements MigrationInterface {
  /** TypeORM records this name in its migrations table. */
  name = 'CreateAuditTable1796500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (await queryRunner.hasTable(AUDIT_TABLE)) return;
    const type = queryRunner.connection.options.type;
    const mysql = MYSQL_FAMILY.has(type);
    const exact = (column: TableColumnOptions): TableColumnOptions =>
      mysql ? { ...column, charset: 'utf8mb4', collation: 'utf8mb4_bin' } : column;
    const unicode = (column: TableColumnOptions): TableColumnOptions => (mysql ? { ...column, charset: 'utf8mb4' } : column);
    const text = (name: string, length: number, nullable = true): TableColumnOptions => ({
      name,
      type: 'varchar',
      length: String(length),
      isNullable: nullable,
    });
    await queryRunner.createTable(
      new Table({
        name: AUDIT_TABLE,
        columns: [
          // SQLite only auto-increments an INTEGER PRIMARY KEY (64-bit anyway); the servers get a 64-bit counter.
          {
            name: 'id',
            type: type === 'better-sqlite3' ? 'integer' : 'bigint',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'time', type: 'bigint', isNullable: false },
          exact(text('type', AUDIT_NAME_LENGTH, false)),
          exact(text('level', AUDIT_NAME_LENGTH, false)),
          exact(text('outcome', AUDIT_NAME_LENGTH, false)),
          exact(text('user_id', AUDIT_USER_ID_LENGTH)),
          exact(text('session_handle', AUDIT_HANDLE_LENGTH)),
          exact(text('ip', AUDIT_IP_LENGTH)),
          unicode(text('user_agent', AUDIT_USER_AGENT_LENGTH)),
          unicode(text('reason', AUDIT_REASON_LENGTH)),
          unicode({ name: 'detail', type: 'text', isNullable: true }),
        ],
        indices: [
          new TableIndex({ name: AUDIT_TIME_INDEX, columnNames: ['time', 'id'] }),
          new TableIndex({ name: AUDIT_USER_TIME_INDEX, columnNames: ['user_id', 'time', 'id'] }),
          new TableIndex({ name: AUDIT_TYPE_TIME_INDEX, columnNames: ['type', 'time', 'id'] }),
          new TableIndex({ name: AUDIT_USER_TYPE_TIME_INDEX, columnNames: ['user_id', 'type', 'time', 'id'] }),
        ],
      }),
    );
  }

  /** Drops the table and every event in it. */
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable(AUDIT_TABLE, true);
  }
}

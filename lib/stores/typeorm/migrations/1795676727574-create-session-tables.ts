import { MigrationInterface, QueryRunner, Table, TableColumnOptions, TableIndex } from 'typeorm';
import {
  COUNTER_KEY_LENGTH,
  COUNTER_RESET_INDEX,
  COUNTER_TABLE,
  HANDLE_LENGTH,
  ID_LENGTH,
  IP_LENGTH,
  POINTER_GRACE_INDEX,
  SESSION_EXPIRES_INDEX,
  SESSION_HANDLE_INDEX,
  SESSION_POINTER_TABLE,
  SESSION_TABLE,
  SESSION_USER_INDEX,
  USER_ID_LENGTH,
} from '../schema';

const MYSQL_FAMILY = new Set(['mysql', 'mariadb', 'aurora-mysql']);

/**
 * Creates the session tables (`nsk_session`, `nsk_session_pointer`, `nsk_counter`) and their indexes, on
 * PostgreSQL, MariaDB/MySQL and SQLite alike. Add it to your DataSource's `migrations` (or use
 * `synchronize` with `SESSION_ENTITIES`: the entities describe the same schema).
 *
 * On MariaDB/MySQL the identifier columns get the `utf8mb4_bin` collation: the server default is usually
 * case- (and accent-) insensitive, which would make `Alice` and `alice` the same user and would let two ids
 * that differ only in case collide. PostgreSQL and SQLite compare strings exactly by default.
 *
 * @example
 * new DataSource({ type: 'postgres', ..., migrations: [CreateSessionTables1795676727574] });
 */
export class CreateSessionTables1795676727574 implements MigrationInterface {
  /** TypeORM records this name in its migrations table. */
  name = 'CreateSessionTables1795676727574';

  async up(queryRunner: QueryRunner): Promise<void> {
    const mysql = MYSQL_FAMILY.has(queryRunner.connection.options.type);
    // Exact, byte-wise comparison for ids, handles, user ids and counter keys (see the class comment).
    const exact = (column: TableColumnOptions): TableColumnOptions =>
      mysql ? { ...column, charset: 'utf8mb4', collation: 'utf8mb4_bin' } : column;
    // Free text (JSON data, user agents) may hold any Unicode: MySQL's legacy `utf8` cannot store emoji.
    const unicode = (column: TableColumnOptions): TableColumnOptions => (mysql ? { ...column, charset: 'utf8mb4' } : column);
    const ms = (name: string): TableColumnOptions => ({ name, type: 'bigint', isNullable: false });

    await queryRunner.createTable(
      new Table({
        name: SESSION_TABLE,
        columns: [
          exact({ name: 'id', type: 'varchar', length: String(ID_LENGTH), isPrimary: true, isNullable: false }),
          exact({ name: 'handle', type: 'varchar', length: String(HANDLE_LENGTH), isNullable: false }),
          exact({ name: 'user_id', type: 'varchar', length: String(USER_ID_LENGTH), isNullable: false }),
          ms('created_at'),
          ms('last_seen_at'),
          ms('idle_expires_at'),
          ms('absolute_expires_at'),
          ms('expires_at'),
          ms('authenticated_at'),
          ms('rotated_at'),
          { name: 'aal', type: 'integer', isNullable: false },
          { name: 'roles_version', type: 'integer', isNullable: false },
          { name: 'rotate_required', type: 'boolean', isNullable: false },
          unicode({ name: 'ip', type: 'varchar', length: String(IP_LENGTH), isNullable: false }),
          unicode({ name: 'user_agent', type: 'text', isNullable: false }),
          { name: 'version', type: 'integer', isNullable: false },
          unicode({ name: 'data', type: 'text', isNullable: false }),
        ],
        indices: [
          new TableIndex({ name: SESSION_HANDLE_INDEX, columnNames: ['handle'], isUnique: true }),
          new TableIndex({ name: SESSION_USER_INDEX, columnNames: ['user_id'] }),
          new TableIndex({ name: SESSION_EXPIRES_INDEX, columnNames: ['expires_at'] }),
        ],
      }),
      true,
    );

    await queryRunner.createTable(
      new Table({
        name: SESSION_POINTER_TABLE,
        columns: [
          exact({ name: 'id', type: 'varchar', length: String(ID_LENGTH), isPrimary: true, isNullable: false }),
          exact({ name: 'successor_id', type: 'varchar', length: String(ID_LENGTH), isNullable: false }),
          ms('grace_until'),
        ],
        indices: [new TableIndex({ name: POINTER_GRACE_INDEX, columnNames: ['grace_until'] })],
      }),
      true,
    );

    await queryRunner.createTable(
      new Table({
        name: COUNTER_TABLE,
        columns: [
          exact({ name: 'key', type: 'varchar', length: String(COUNTER_KEY_LENGTH), isPrimary: true, isNullable: false }),
          { name: 'count', type: 'integer', isNullable: false },
          ms('reset_at'),
        ],
        indices: [new TableIndex({ name: COUNTER_RESET_INDEX, columnNames: ['reset_at'] })],
      }),
      true,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable(COUNTER_TABLE, true);
    await queryRunner.dropTable(SESSION_POINTER_TABLE, true);
    await queryRunner.dropTable(SESSION_TABLE, true);
  }
}

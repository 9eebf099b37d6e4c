import { MigrationInterface, QueryRunner, Table, TableColumnOptions, TableIndex } from 'typeorm';
import {
  CLIENT_ID_LENGTH,
  FAMILY_EXPIRES_INDEX,
  FAMILY_USER_INDEX,
  REFRESH_FAMILY_TABLE,
  REFRESH_TOKEN_TABLE,
  REVOCATION_KIND_LENGTH,
  REVOCATION_SUBJECT_LENGTH,
  REVOCATION_UNTIL_INDEX,
  TOKEN_EXPIRES_INDEX,
  TOKEN_FAMILY_INDEX,
  TOKEN_ID_LENGTH,
  TOKEN_REVOCATION_TABLE,
  TOKEN_USER_ID_LENGTH,
} from '../token-schema';

const MYSQL_FAMILY = new Set(['mysql', 'mariadb', 'aurora-mysql']);

/**
 * Creates the token store's tables on PostgreSQL, MariaDB/MySQL and SQLite alike (all in `TOKEN_MIGRATIONS`):
 *
 * - `nsk_refresh_family`: one row per family (`family_id` primary key; the family's fields; `revoked_at`, NULL while live).
 * - `nsk_refresh_token`: one row per refresh token, keyed by its SHA-256 (`token_id`); `used_at`, `grace_until`,
 *   `successor_id` and `sealed_successor` are NULL until the token is used, then set together.
 * - `nsk_token_revocation`: `(kind, subject)` primary key with `kind` `user` (subject the user id, `not_before` the
 *   cut-off), `jti` (subject the SHA-256 of the issuer-qualified jti) or `session` (subject the session handle), and
 *   `until`, after which the row means nothing and is cleaned up.
 *
 * Times are `bigint` ms. On MariaDB/MySQL identifiers get `utf8mb4_bin` (exact comparison), as in the session tables.
 * Each table is created only if absent: MySQL commits every DDL statement at once, so a run that failed halfway is
 * picked up where it stopped.
 *
 * @example
 * new DataSource({ type: 'postgres', ..., migrations: [...SESSION_MIGRATIONS, ...TOKEN_MIGRATIONS] });
 */
export class CreateTokenTables1797000000000 implements MigrationInterface {
  /** TypeORM records this name in its migrations table. */
  name = 'CreateTokenTables1797000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const mysql = MYSQL_FAMILY.has(queryRunner.connection.options.type);
    const exact = (column: TableColumnOptions): TableColumnOptions =>
      mysql ? { ...column, charset: 'utf8mb4', collation: 'utf8mb4_bin' } : column;
    const unicode = (column: TableColumnOptions): TableColumnOptions => (mysql ? { ...column, charset: 'utf8mb4' } : column);
    const ms = (name: string, isNullable = false): TableColumnOptions => ({ name, type: 'bigint', isNullable });
    const id = (name: string, isPrimary = false, isNullable = false): TableColumnOptions =>
      exact({ name, type: 'varchar', length: String(TOKEN_ID_LENGTH), isPrimary, isNullable });

    await queryRunner.createTable(
      new Table({
        name: REFRESH_FAMILY_TABLE,
        columns: [
          id('family_id', true),
          exact({ name: 'user_id', type: 'varchar', length: String(TOKEN_USER_ID_LENGTH), isNullable: false }),
          exact({ name: 'client_id', type: 'varchar', length: String(CLIENT_ID_LENGTH), isNullable: false }),
          unicode({ name: 'scope', type: 'text', isNullable: false }),
          { name: 'aal', type: 'integer', isNullable: false },
          ms('auth_time'),
          ms('created_at'),
          ms('absolute_expires_at'),
          ms('revoked_at', true),
        ],
        indices: [
          new TableIndex({ name: FAMILY_USER_INDEX, columnNames: ['user_id', 'created_at'] }),
          new TableIndex({ name: FAMILY_EXPIRES_INDEX, columnNames: ['absolute_expires_at'] }),
        ],
      }),
      true,
    );
    await queryRunner.createTable(
      new Table({
        name: REFRESH_TOKEN_TABLE,
        columns: [
          id('token_id', true),
          id('family_id'),
          ms('idle_expires_at'),
          ms('used_at', true),
          ms('grace_until', true),
          id('successor_id', false, true),
          { name: 'sealed_successor', type: 'text', isNullable: true },
        ],
        indices: [
          new TableIndex({ name: TOKEN_FAMILY_INDEX, columnNames: ['family_id'] }),
          new TableIndex({ name: TOKEN_EXPIRES_INDEX, columnNames: ['idle_expires_at'] }),
        ],
      }),
      true,
    );
    await queryRunner.createTable(
      new Table({
        name: TOKEN_REVOCATION_TABLE,
        columns: [
          exact({ name: 'kind', type: 'varchar', length: String(REVOCATION_KIND_LENGTH), isPrimary: true, isNullable: false }),
          exact({ name: 'subject', type: 'varchar', length: String(REVOCATION_SUBJECT_LENGTH), isPrimary: true, isNullable: false }),
          ms('not_before', true),
          ms('until'),
        ],
        indices: [new TableIndex({ name: REVOCATION_UNTIL_INDEX, columnNames: ['until'] })],
      }),
      true,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable(TOKEN_REVOCATION_TABLE, true);
    await queryRunner.dropTable(REFRESH_TOKEN_TABLE, true);
    await queryRunner.dropTable(REFRESH_FAMILY_TABLE, true);
  }
}

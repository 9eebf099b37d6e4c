import { MigrationInterface, QueryRunner, TableColumn, TableColumnOptions } from 'typeorm';
import { DEFAULT_TIER, IMPERSONATED_BY_LENGTH, SESSION_TABLE, TIER_LENGTH } from '../schema';

const MYSQL_FAMILY = new Set(['mysql', 'mariadb', 'aurora-mysql']);

/**
 * Schema v3 of the session tables, for roles, tiers and impersonation, on PostgreSQL, MariaDB/MySQL and SQLite
 * alike. Run it after the first two (all three are in `SESSION_MIGRATIONS`). Four columns on `nsk_session`:
 *
 * - `roles` (`text`, nullable): the user's roles as a JSON array of strings. NULL in existing rows, which read as
 *   no roles: sessions made before roles existed carried none.
 * - `tier` (`varchar(16)`, default `'standard'`): `standard` or `remember`. Existing sessions were standard.
 * - `impersonated_by` (`varchar(255)`, nullable): the administrator acting as the user, NULL for the user's own.
 * - `idle_timeout_ms` (`bigint`, nullable): the session's own idle timeout. NULL in existing rows, which keep using
 *   the module's idle timeout, as they always did.
 *
 * Adding columns does not touch existing sessions: users stay signed in across the upgrade.
 *
 * @example
 * new DataSource({ type: 'postgres', ..., migrations: SESSION_MIGRATIONS });
 */
export class SessionRolesTierImpersonation1796400000000 implements MigrationInterface {
  /** TypeORM records this name in its migrations table. */
  name = 'SessionRolesTierImpersonation1796400000000';

  /**
   * Each step checks whether it is already done: MySQL and MariaDB commit every DDL statement at once, so a run
   * that failed halfway leaves its first steps applied without a row in the migrations table, and the next run
   * must pick up from there instead of failing on "Duplicate column".
   */
  async up(queryRunner: QueryRunner): Promise<void> {
    const mysql = MYSQL_FAMILY.has(queryRunner.connection.options.type);
    // As in the first migration: any Unicode in free text, byte-wise comparison for identifiers.
    const unicode = (column: TableColumnOptions): TableColumnOptions => (mysql ? { ...column, charset: 'utf8mb4' } : column);
    const exact = (column: TableColumnOptions): TableColumnOptions =>
      mysql ? { ...column, charset: 'utf8mb4', collation: 'utf8mb4_bin' } : column;
    const columns: TableColumnOptions[] = [
      // Nullable rather than defaulted: MySQL before 8.0.13 allows no DEFAULT on a TEXT column.
      unicode({ name: 'roles', type: 'text', isNullable: true }),
      { name: 'tier', type: 'varchar', length: String(TIER_LENGTH), isNullable: false, default: `'${DEFAULT_TIER}'` },
      exact({ name: 'impersonated_by', type: 'varchar', length: String(IMPERSONATED_BY_LENGTH), isNullable: true }),
      { name: 'idle_timeout_ms', type: 'bigint', isNullable: true },
    ];
    for (const column of columns) {
      if (!(await queryRunner.hasColumn(SESSION_TABLE, column.name))) await queryRunner.addColumn(SESSION_TABLE, new TableColumn(column));
    }
  }

  /**
   * Back to schema v2. Impersonation and remembered sessions are deleted first: the previous version would take an
   * impersonation session for the user's own (no marker, no cap) and a remembered one for a standard session with
   * a far absolute deadline. Their users sign in again; standard sessions stay, without their roles snapshot.
   */
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `DELETE FROM ${tablePath(queryRunner, SESSION_TABLE)} WHERE impersonated_by IS NOT NULL OR tier <> '${DEFAULT_TIER}'`,
    );
    for (const name of ['idle_timeout_ms', 'impersonated_by', 'tier', 'roles']) await queryRunner.dropColumn(SESSION_TABLE, name);
  }
}

/** The table as SQL, schema-qualified where the DataSource names a schema (PostgreSQL), as TypeORM's own DDL does. */
function tablePath(queryRunner: QueryRunner, name: string): string {
  const driver = queryRunner.connection.driver;
  const { schema, tableName } = driver.parseTableName(name);
  return schema ? `${driver.escape(schema)}.${driver.escape(tableName)}` : driver.escape(tableName);
}

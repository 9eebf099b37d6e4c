import { MigrationInterface, QueryRunner, TableColumn, TableIndex } from 'typeorm';
import { DEFAULT_STAGE, POINTER_GRACE_INDEX, POINTER_UNTIL_INDEX, SESSION_POINTER_TABLE, SESSION_TABLE, STAGE_LENGTH } from '../schema';

/**
 * Schema v2 of the session tables, for store contract v2, on PostgreSQL, MariaDB/MySQL and SQLite alike. Run it
 * after `CreateSessionTables1795676727574` (both are in `SESSION_MIGRATIONS`):
 *
 * - `nsk_session.stage` (`varchar(16)`, default `'complete'`): how far authentication has got. Sessions that
 *   exist when it runs were complete, so the default is also their value.
 * - `nsk_session_pointer.until` (`bigint` ms): rotated-away ids are now remembered past their grace window, as
 *   tombstones, until then; the cleanup index moves from `grace_until` to `until`. Pointers left by the previous
 *   version get `until = grace_until`: they keep meaning exactly what they meant when they were written (the
 *   old id is forgotten when its grace ends), and the old rows are gone within a minute anyway.
 *
 * Adding columns does not touch existing sessions: users stay signed in across the upgrade.
 *
 * @example
 * new DataSource({ type: 'postgres', ..., migrations: SESSION_MIGRATIONS });
 */
export class SessionStageAndPointerUntil1796007977546 implements MigrationInterface {
  /** TypeORM records this name in its migrations table. */
  name = 'SessionStageAndPointerUntil1796007977546';

  /**
   * Each step checks whether it is already done: MySQL and MariaDB commit every DDL statement at once, so a run
   * that failed halfway leaves its first steps applied without a row in the migrations table, and the next run
   * must pick up from there instead of failing on "Duplicate column".
   */
  async up(queryRunner: QueryRunner): Promise<void> {
    if (!(await queryRunner.hasColumn(SESSION_TABLE, 'stage'))) {
      await queryRunner.addColumn(
        SESSION_TABLE,
        new TableColumn({ name: 'stage', type: 'varchar', length: String(STAGE_LENGTH), isNullable: false, default: `'${DEFAULT_STAGE}'` }),
      );
    }

    // NOT NULL without a default, like every time column: added nullable, filled, then tightened, because
    // existing rows need a value first and a default would outlive the migration (and differ from the entity).
    if (!(await queryRunner.hasColumn(SESSION_POINTER_TABLE, 'until'))) {
      await queryRunner.addColumn(SESSION_POINTER_TABLE, new TableColumn({ name: 'until', type: 'bigint', isNullable: true }));
    }
    const driver = queryRunner.connection.driver;
    await queryRunner.query(
      `UPDATE ${tablePath(queryRunner, SESSION_POINTER_TABLE)} SET ${driver.escape('until')} = grace_until WHERE ${driver.escape('until')} IS NULL`,
    );
    const pointers = await queryRunner.getTable(SESSION_POINTER_TABLE);
    const until = pointers?.findColumnByName('until');
    if (!pointers || !until) throw new Error(`${this.name}: ${SESSION_POINTER_TABLE}.until is missing right after it was added`);
    if (until.isNullable) {
      const required = until.clone();
      required.isNullable = false;
      // TypeORM's mysql driver reads MariaDB's nullable-column default back as the text 'NULL' and would write
      // it out as DEFAULT 'NULL', which a bigint refuses ("Invalid default value"); there is no default to keep.
      required.default = undefined;
      await queryRunner.changeColumn(pointers, until, required);
    }

    if (pointers.indices.some((index) => index.name === POINTER_GRACE_INDEX))
      await queryRunner.dropIndex(SESSION_POINTER_TABLE, POINTER_GRACE_INDEX);
    if (!pointers.indices.some((index) => index.name === POINTER_UNTIL_INDEX)) {
      await queryRunner.createIndex(SESSION_POINTER_TABLE, new TableIndex({ name: POINTER_UNTIL_INDEX, columnNames: ['until'] }));
    }
  }

  /**
   * Back to schema v1. Pending sessions are deleted first: the previous version knows no stages and would admit
   * a session whose second factor was never proven. Their users sign in again; complete sessions stay.
   */
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM ${tablePath(queryRunner, SESSION_TABLE)} WHERE stage <> '${DEFAULT_STAGE}'`);
    await queryRunner.dropIndex(SESSION_POINTER_TABLE, POINTER_UNTIL_INDEX);
    await queryRunner.dropColumn(SESSION_POINTER_TABLE, 'until');
    await queryRunner.createIndex(SESSION_POINTER_TABLE, new TableIndex({ name: POINTER_GRACE_INDEX, columnNames: ['grace_until'] }));
    await queryRunner.dropColumn(SESSION_TABLE, 'stage');
  }
}

/** The table as SQL, schema-qualified where the DataSource names a schema (PostgreSQL), as TypeORM's own DDL does. */
function tablePath(queryRunner: QueryRunner, name: string): string {
  const driver = queryRunner.connection.driver;
  const { schema, tableName } = driver.parseTableName(name);
  return schema ? `${driver.escape(schema)}.${driver.escape(tableName)}` : driver.escape(tableName);
}

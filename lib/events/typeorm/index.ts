/**
 * `nest-session-kit/events/typeorm`: the audit trail of security events in a table, on PostgreSQL, MariaDB/MySQL or
 * SQLite through TypeORM, with the query an admin view needs.
 *
 * A sub-path entry so that the main entry never imports TypeORM (an optional peer dependency).
 *
 * @example
 * import { AUDIT_MIGRATIONS, TypeOrmAuditSink } from 'nest-session-kit/events/typeorm';
 */
import { AuditEventEntity } from './audit-event.entity';
import { CreateAuditTable1796500000000 } from './migrations/1796500000000-create-audit-table';

export { AuditEventEntity } from './audit-event.entity';
export { CreateAuditTable1796500000000 } from './migrations/1796500000000-create-audit-table';
export { AUDIT_TABLE } from './schema';
export { TypeOrmAuditSink, AUDIT_SINK_DEFAULTS, MAX_BATCH_SIZE } from './typeorm-audit.sink';
export type {
  AuditEventPage,
  AuditEventQuery,
  AuditSinkLogger,
  AuditSinkStats,
  StoredSecurityEvent,
  TypeOrmAuditSinkOptions,
} from './typeorm-audit.sink';

/**
 * The audit table's entity, for a DataSource's `entities` (needed for `synchronize` or to read the table with a
 * repository; the sink itself works from the table alone).
 *
 * @example new DataSource({ ..., entities: [...appEntities, ...AUDIT_ENTITIES] });
 */
export const AUDIT_ENTITIES = [AuditEventEntity];

/**
 * Every migration of the audit table, oldest first. Add them to your DataSource's `migrations` (beside
 * `SESSION_MIGRATIONS` when the sessions live in the same database).
 *
 * @example new DataSource({ ..., migrations: [...appMigrations, ...AUDIT_MIGRATIONS], migrationsRun: true });
 */
export const AUDIT_MIGRATIONS = [CreateAuditTable1796500000000];

import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { bigintMs } from '../../stores/typeorm/schema';
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
} from './schema';

/**
 * One security event of the audit trail (table `nsk_audit_event`), as `TypeOrmAuditSink` writes it. The sink
 * itself works from the table alone (created by `AUDIT_MIGRATIONS`); the entity is for apps that read the table
 * with a repository, or use `synchronize` on PostgreSQL or MariaDB/MySQL, where it matches the migration exactly.
 * On SQLite use the migration: SQLite auto-increments only an `INTEGER PRIMARY KEY`, and a decorator cannot give
 * the id a type per database, so `synchronize` would try to rebuild the table with a `bigint` key SQLite refuses.
 */
@Entity({ name: AUDIT_TABLE })
@Index(AUDIT_TIME_INDEX, ['time', 'id'])
@Index(AUDIT_USER_TIME_INDEX, ['userId', 'time', 'id'])
@Index(AUDIT_TYPE_TIME_INDEX, ['type', 'time', 'id'])
@Index(AUDIT_USER_TYPE_TIME_INDEX, ['userId', 'type', 'time', 'id'])
export class AuditEventEntity {
  /**
   * Insertion order; breaks ties between events of the same millisecond. A string: PostgreSQL and MySQL hand
   * `bigint` back as one (the sink's `query` gives numbers).
   */
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  /** When it happened, ms since the epoch (the session module's clock). */
  @Column({ type: 'bigint', transformer: bigintMs })
  time: number;

  /** OWASP Logging Vocabulary name, e.g. `authn_login_fail`. */
  @Column({ type: 'varchar', length: AUDIT_NAME_LENGTH })
  type: string;

  /** `INFO`, `WARN` or `CRITICAL`. */
  @Column({ type: 'varchar', length: AUDIT_NAME_LENGTH })
  level: string;

  /** `success` or `failure`. */
  @Column({ type: 'varchar', length: AUDIT_NAME_LENGTH })
  outcome: string;

  @Column({ name: 'user_id', type: 'varchar', length: AUDIT_USER_ID_LENGTH, nullable: true })
  userId: string | null;

  /** The session's non-secret handle, never its token nor the token's hash. */
  @Column({ name: 'session_handle', type: 'varchar', length: AUDIT_HANDLE_LENGTH, nullable: true })
  sessionHandle: string | null;

  @Column({ type: 'varchar', length: AUDIT_IP_LENGTH, nullable: true })
  ip: string | null;

  @Column({ name: 'user_agent', type: 'varchar', length: AUDIT_USER_AGENT_LENGTH, nullable: true })
  userAgent: string | null;

  @Column({ type: 'varchar', length: AUDIT_REASON_LENGTH, nullable: true })
  reason: string | null;

  /** The event's `detail` as JSON text. */
  @Column({ type: 'text', nullable: true })
  detail: string | null;
}

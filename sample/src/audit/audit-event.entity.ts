import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { msTransformer } from '../database/ms-transformer';

/**
 * One security event in the audit trail (table `sample_audit_events`), as the library emits it: the OWASP
 * event name, who, which session (its handle, never its token), from where, and the outcome.
 *
 * The indexes serve the admin queries to come: newest first, by user, by type.
 */
@Entity({ name: 'sample_audit_events' })
@Index('IDX_sample_audit_time', ['time'])
@Index('IDX_sample_audit_user_time', ['userId', 'time'])
@Index('IDX_sample_audit_type_time', ['type', 'time'])
export class AuditEvent {
  @PrimaryGeneratedColumn()
  id: number;

  /** When it happened, ms since the epoch (the session module's clock). */
  @Column({ type: 'bigint', transformer: msTransformer })
  time: number;

  @Column({ type: 'varchar', length: 64 })
  type: string;

  @Column({ type: 'varchar', length: 16 })
  level: string;

  @Column({ type: 'varchar', length: 16 })
  outcome: string;

  @Column({ name: 'user_id', type: 'varchar', length: 255, nullable: true })
  userId: string | null;

  @Column({ name: 'session_handle', type: 'varchar', length: 64, nullable: true })
  sessionHandle: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip: string | null;

  @Column({ name: 'user_agent', type: 'varchar', length: 512, nullable: true })
  userAgent: string | null;

  @Column({ type: 'varchar', length: 128, nullable: true })
  reason: string | null;

  @Column({ type: 'simple-json', nullable: true })
  detail: Record<string, string | number | boolean> | null;
}

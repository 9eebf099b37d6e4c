import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { SessionStage, SessionTier } from '../../core/session-record';
import {
  DEFAULT_STAGE,
  DEFAULT_TIER,
  HANDLE_LENGTH,
  ID_LENGTH,
  IMPERSONATED_BY_LENGTH,
  IP_LENGTH,
  SESSION_EXPIRES_INDEX,
  SESSION_HANDLE_INDEX,
  SESSION_TABLE,
  SESSION_USER_INDEX,
  STAGE_LENGTH,
  TIER_LENGTH,
  USER_ID_LENGTH,
  bigintMs,
} from './schema';

/**
 * One live session (table `nsk_session`): the columns of a `SessionRecord`, with its `data` as JSON text.
 *
 * The store reads and writes this table with its own SQL (compare-and-set, row locks); the entity exists so
 * that `synchronize`, `migration:generate` and admin tooling see the same schema as `SESSION_MIGRATIONS`
 * produce. Register it through `SESSION_ENTITIES`.
 *
 * All times are milliseconds since the Unix epoch.
 */
@Entity({ name: SESSION_TABLE })
@Index(SESSION_HANDLE_INDEX, ['handle'], { unique: true })
@Index(SESSION_USER_INDEX, ['userId'])
@Index(SESSION_EXPIRES_INDEX, ['expiresAt'])
export class SessionEntity {
  /** SHA-256 of the session token, base64url (43 characters). The token itself is never stored. */
  @PrimaryColumn({ type: 'varchar', length: ID_LENGTH })
  id: string;

  /** Random, non-secret handle for listings and revocation; survives rotation. */
  @Column({ type: 'varchar', length: HANDLE_LENGTH })
  handle: string;

  /** The user's id as the application gave it (at most 255 characters). */
  @Column({ name: 'user_id', type: 'varchar', length: USER_ID_LENGTH })
  userId: string;

  /** Creation (login) time, ms. */
  @Column({ name: 'created_at', type: 'bigint', transformer: bigintMs })
  createdAt: number;

  /** Last request that touched the session, ms. */
  @Column({ name: 'last_seen_at', type: 'bigint', transformer: bigintMs })
  lastSeenAt: number;

  /** Inactivity deadline, ms. */
  @Column({ name: 'idle_expires_at', type: 'bigint', transformer: bigintMs })
  idleExpiresAt: number;

  /** Hard deadline, ms. */
  @Column({ name: 'absolute_expires_at', type: 'bigint', transformer: bigintMs })
  absoluteExpiresAt: number;

  /**
   * `min(idleExpiresAt, absoluteExpiresAt)`, ms: when the row may be garbage-collected. Kept as its own indexed
   * column so cleanup is one index range scan instead of an `OR` over two columns.
   */
  @Column({ name: 'expires_at', type: 'bigint', transformer: bigintMs })
  expiresAt: number;

  /** Last full authentication, ms. */
  @Column({ name: 'authenticated_at', type: 'bigint', transformer: bigintMs })
  authenticatedAt: number;

  /** Last id rotation, ms. */
  @Column({ name: 'rotated_at', type: 'bigint', transformer: bigintMs })
  rotatedAt: number;

  /** Authentication assurance level (1 or 2). */
  @Column({ type: 'integer' })
  aal: number;

  /**
   * `pending` while a second factor is due, `complete` once every factor is proven (`SessionStage`). Rows
   * written before the column existed get the default, `complete`.
   */
  @Column({ type: 'varchar', length: STAGE_LENGTH, default: DEFAULT_STAGE })
  stage: SessionStage;

  /** Incremented on every privilege change of the user. */
  @Column({ name: 'roles_version', type: 'integer' })
  rolesVersion: number;

  /** The next request must rotate the id. */
  @Column({ name: 'rotate_required', type: 'boolean' })
  rotateRequired: boolean;

  /** Client IP at creation. */
  @Column({ type: 'varchar', length: IP_LENGTH })
  ip: string;

  /**
   * Client user agent at creation. `text` rather than a sized `varchar`: truncating is the module's policy,
   * and the store must round-trip whatever record it is given rather than fail a login on a long header.
   */
  @Column({ name: 'user_agent', type: 'text' })
  userAgent: string;

  /**
   * Compare-and-set version, managed by the store (not TypeORM's `@VersionColumn`, which would bump it on
   * every save and also on touches, which must not change it).
   */
  @Column({ type: 'integer' })
  version: number;

  /** Application state as JSON text (at most 64 KiB on MariaDB/MySQL, whose `TEXT` holds 65,535 bytes). */
  @Column({ type: 'text' })
  data: string;

  /**
   * The user's roles as a JSON array of strings (the snapshot taken at login, replaced by `updateUserRoles`).
   * NULL in rows written before the column existed, which read as no roles.
   */
  @Column({ type: 'text', nullable: true })
  roles: string | null;

  /** `standard` or `remember` (`SessionTier`). Rows written before the column existed get the default, `standard`. */
  @Column({ type: 'varchar', length: TIER_LENGTH, default: DEFAULT_TIER })
  tier: SessionTier;

  /** For an impersonation session, the administrator's user id; NULL otherwise. */
  @Column({ name: 'impersonated_by', type: 'varchar', length: IMPERSONATED_BY_LENGTH, nullable: true })
  impersonatedBy: string | null;

  /**
   * The session's own inactivity timeout, ms (from its tier). NULL in rows written before the column existed: they
   * use the module's idle timeout.
   */
  @Column({ name: 'idle_timeout_ms', type: 'bigint', nullable: true, transformer: bigintMs })
  idleTimeoutMs: number | null;
}

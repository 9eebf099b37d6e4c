import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintMs } from './schema';
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
} from './token-schema';

/*
 * The token store reads and writes its tables with its own SQL (row locks, conditional updates, upserts); these
 * entities exist so that `synchronize`, `migration:generate` and admin tooling see the schema TOKEN_MIGRATIONS
 * produce. Register them through TOKEN_ENTITIES. Times are milliseconds since the Unix epoch.
 */

/** One refresh-token family (table `nsk_refresh_family`): a sign-in of a user at a client. */
@Entity({ name: REFRESH_FAMILY_TABLE })
@Index(FAMILY_USER_INDEX, ['userId', 'createdAt'])
@Index(FAMILY_EXPIRES_INDEX, ['absoluteExpiresAt'])
export class RefreshFamilyEntity {
  /** Random, non-secret id (22 base64url characters). */
  @PrimaryColumn({ name: 'family_id', type: 'varchar', length: TOKEN_ID_LENGTH })
  familyId: string;

  /** The user the family was issued to. */
  @Column({ name: 'user_id', type: 'varchar', length: TOKEN_USER_ID_LENGTH })
  userId: string;

  /** The client it was issued to. */
  @Column({ name: 'client_id', type: 'varchar', length: CLIENT_ID_LENGTH })
  clientId: string;

  /** The granted scope, space-separated (may be empty). */
  @Column({ type: 'text' })
  scope: string;

  /** Authentication assurance level of the sign-in (1 or 2). */
  @Column({ type: 'integer' })
  aal: number;

  /** When the user last authenticated, ms. */
  @Column({ name: 'auth_time', type: 'bigint', transformer: bigintMs })
  authTime: number;

  /** When the family was created, ms. */
  @Column({ name: 'created_at', type: 'bigint', transformer: bigintMs })
  createdAt: number;

  /** The family's absolute deadline, ms (exclusive). */
  @Column({ name: 'absolute_expires_at', type: 'bigint', transformer: bigintMs })
  absoluteExpiresAt: number;

  /** When the family was ended (revocation or reuse), ms; NULL while live. */
  @Column({ name: 'revoked_at', type: 'bigint', nullable: true, transformer: bigintMs })
  revokedAt: number | null;
}

/** One refresh token (table `nsk_refresh_token`), by its SHA-256: the token itself is never stored. */
@Entity({ name: REFRESH_TOKEN_TABLE })
@Index(TOKEN_FAMILY_INDEX, ['familyId'])
@Index(TOKEN_EXPIRES_INDEX, ['idleExpiresAt'])
export class RefreshTokenEntity {
  /** SHA-256 of the token, base64url (43 characters). */
  @PrimaryColumn({ name: 'token_id', type: 'varchar', length: TOKEN_ID_LENGTH })
  tokenId: string;

  /** The family it belongs to. */
  @Column({ name: 'family_id', type: 'varchar', length: TOKEN_ID_LENGTH })
  familyId: string;

  /** Its idle deadline, ms (exclusive; capped at the family's absolute deadline). */
  @Column({ name: 'idle_expires_at', type: 'bigint', transformer: bigintMs })
  idleExpiresAt: number;

  /** When it was used (rotated), ms; NULL while unused. The next three columns are set with it. */
  @Column({ name: 'used_at', type: 'bigint', nullable: true, transformer: bigintMs })
  usedAt: number | null;

  /** End of the grace window after its use, ms (exclusive). */
  @Column({ name: 'grace_until', type: 'bigint', nullable: true, transformer: bigintMs })
  graceUntil: number | null;

  /** The SHA-256 of its successor. */
  @Column({ name: 'successor_id', type: 'varchar', length: TOKEN_ID_LENGTH, nullable: true })
  successorId: string | null;

  /** The successor sealed under a key derived from this token: opaque, useless without the token. */
  @Column({ name: 'sealed_successor', type: 'text', nullable: true })
  sealedSuccessor: string | null;
}

/** One access-token revocation entry (table `nsk_token_revocation`): a user's cut-off, a denied `jti` or session. */
@Entity({ name: TOKEN_REVOCATION_TABLE })
@Index(REVOCATION_UNTIL_INDEX, ['until'])
export class TokenRevocationEntity {
  /** `user`, `jti` or `session`. */
  @PrimaryColumn({ type: 'varchar', length: REVOCATION_KIND_LENGTH })
  kind: string;

  /** The user id, the SHA-256 (base64url) of the issuer-qualified `jti`, or the session handle. */
  @PrimaryColumn({ type: 'varchar', length: REVOCATION_SUBJECT_LENGTH })
  subject: string;

  /** A user's cut-off, ms: access tokens issued before it are refused. NULL for the denylists. */
  @Column({ name: 'not_before', type: 'bigint', nullable: true, transformer: bigintMs })
  notBefore: number | null;

  /** When the entry means nothing any more, ms (exclusive): the latest affected token's expiry. */
  @Column({ type: 'bigint', transformer: bigintMs })
  until: number;
}

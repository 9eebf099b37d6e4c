import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { msTransformer } from '../database/ms-transformer';

/** Roles the sample knows. `admin` includes `user` (an admin can do everything a user can). */
export type Role = 'user' | 'admin';

/** Every role, for validating what an admin assigns. */
export const ROLES: readonly Role[] = ['user', 'admin'];

/** The role hierarchy handed to the session module: `admin` passes `@Roles('user')`. */
export const ROLE_HIERARCHY: Record<Role, Role[]> = { admin: ['user'], user: [] };

/** An account of the sample app (table `sample_users`). */
@Entity({ name: 'sample_users' })
export class User {
  /** Random UUID: never guessable from sign-up order, safe to show in admin URLs. */
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 64, unique: true })
  username: string;

  /** Argon2id PHC string (algorithm, parameters, salt and hash together), so parameters can evolve per user. */
  @Column({ name: 'password_hash', type: 'varchar', length: 255 })
  passwordHash: string;

  @Column({ type: 'simple-json' })
  roles: Role[];

  /**
   * The active TOTP secret, sealed with `SecretBox` (AES-256-GCM, the user's id as associated data, key from
   * `MFA_ENCRYPTION_KEYS`): a copy of the table does not give away second factors. Null: no TOTP.
   */
  @Column({ name: 'totp_secret', type: 'varchar', length: 255, nullable: true })
  totpSecret: string | null;

  /** A secret offered by `POST /account/mfa/totp` and not yet confirmed with a code (sealed likewise). */
  @Column({ name: 'totp_pending_secret', type: 'varchar', length: 255, nullable: true })
  totpPendingSecret: string | null;

  /** The time step of the last accepted TOTP code: a code is accepted only for a later step (no replay). */
  @Column({ name: 'totp_last_step', type: 'integer', nullable: true })
  totpLastStep: number | null;

  /** SHA-256 hashes of the unused recovery codes (the codes themselves are shown once and never stored). */
  @Column({ name: 'recovery_code_hashes', type: 'simple-json', nullable: true })
  recoveryCodeHashes: string[] | null;

  /** Wrong second-factor codes in a row, across sessions; reset by a right one. */
  @Column({ name: 'mfa_failures', type: 'integer', default: 0 })
  mfaFailures: number;

  /** Until when second-factor checks are refused after too many wrong codes (ms since the epoch), or null. */
  @Column({ name: 'mfa_locked_until', type: 'bigint', nullable: true, transformer: msTransformer })
  mfaLockedUntil: number | null;

  /** A disabled account cannot sign in; it answers exactly like a wrong password. */
  @Column({ type: 'boolean', default: false })
  disabled: boolean;
}

/** What the API shows of a user: never the hash or the TOTP secret. */
export interface PublicUser {
  id: string;
  username: string;
  roles: Role[];
}

/** Projects a user onto its public fields. */
export function toPublicUser(user: User): PublicUser {
  return { id: user.id, username: user.username, roles: [...user.roles] };
}

/** The roles of a session snapshot that the sample knows (anything else is ignored, never trusted). */
export function knownRoles(roles: readonly string[]): Role[] {
  return roles.filter((r): r is Role => (ROLES as readonly string[]).includes(r));
}

import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** Roles the sample knows. `admin` includes `user` (an admin can do everything a user can). */
export type Role = 'user' | 'admin';

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

  /** Base32 TOTP secret once the user enrolled a second factor; null otherwise. */
  @Column({ name: 'totp_secret', type: 'varchar', length: 64, nullable: true })
  totpSecret: string | null;

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

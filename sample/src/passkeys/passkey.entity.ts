import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { msTransformer } from '../database/ms-transformer';

/** Longest credential id (base64url characters) the sample stores; a longer one is refused at registration. */
export const MAX_CREDENTIAL_ID_LENGTH = 255;

/**
 * A passkey (WebAuthn credential) of an account (table `sample_passkeys`), one row per credential. Every column is
 * public data (a copy of the table lets nobody sign in), but the API only ever shows `id`, `name` and `createdAt`.
 */
@Entity({ name: 'sample_passkeys' })
export class PasskeyCredential {
  /** Random UUID: what the account routes name (`DELETE /account/mfa/passkeys/:id`), never the credential id. */
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index()
  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId: string;

  /**
   * The credential id, base64url, as the authenticator chose it. Capped at {@link MAX_CREDENTIAL_ID_LENGTH}
   * characters (190 bytes; real authenticators use 16 to 64), so that the unique index fits MariaDB's key limit.
   */
  @Column({ name: 'credential_id', type: 'varchar', length: 255, unique: true })
  credentialId: string;

  /** The COSE public key, base64url. */
  @Column({ name: 'public_key', type: 'text' })
  publicKey: string;

  /** The signature counter at the last accepted use; a compare-and-set on it refuses replays and clones. */
  @Column({ type: 'bigint', default: 0, transformer: msTransformer })
  counter: number;

  @Column({ type: 'simple-json', nullable: true })
  transports: string[] | null;

  /** The label the user gave it ("Laptop"), shown escaped. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  name: string | null;

  /** When it was registered, ms since the epoch. */
  @Column({ name: 'created_at', type: 'bigint', transformer: msTransformer })
  createdAt: number;
}

/** What `GET /account/mfa/passkeys` shows of a passkey: no key material, no credential id. */
export interface PasskeyListing {
  id: string;
  name: string | null;
  createdAt: number;
}

/** Projects a stored passkey onto its listing. */
export function toPasskeyListing(p: PasskeyCredential): PasskeyListing {
  return { id: p.id, name: p.name, createdAt: p.createdAt };
}

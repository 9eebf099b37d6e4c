import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * A local account's identity at an OpenID Provider (table `sample_oidc_identities`): keyed by (issuer, subject), the
 * only pair a provider promises is stable and unique. Never by e-mail: two providers (or one provider over time) may
 * vouch for the same address for different people.
 */
@Entity({ name: 'sample_oidc_identities' })
@Index(['issuer', 'subject'], { unique: true })
export class OidcIdentityLink {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 255 })
  issuer: string;

  @Column({ type: 'varchar', length: 255 })
  subject: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId: string;
}

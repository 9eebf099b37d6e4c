import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { msTransformer } from '../database/ms-transformer';

/**
 * Which local session a provider session created (table `sample_oidc_session_links`), for back-channel logout: in the
 * users database, so every instance sees it and a restart keeps it.
 */
@Entity({ name: 'sample_oidc_session_links' })
@Index(['issuer', 'sid'])
@Index(['issuer', 'subject'])
export class OidcSessionLinkRow {
  @PrimaryGeneratedColumn('increment')
  id: number;

  @Column({ type: 'varchar', length: 255 })
  issuer: string;

  @Column({ type: 'varchar', length: 255 })
  subject: string;

  @Column({ type: 'varchar', length: 255, nullable: true })
  sid: string | null;

  @Column({ name: 'user_id', type: 'varchar', length: 255 })
  userId: string;

  @Column({ name: 'session_handle', type: 'varchar', length: 64 })
  sessionHandle: string;

  @Column({ name: 'expires_at', type: 'bigint', transformer: msTransformer })
  expiresAt: number;
}

import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { ID_LENGTH, POINTER_GRACE_INDEX, SESSION_POINTER_TABLE, bigintMs } from './schema';

/**
 * A rotated-away session id (table `nsk_session_pointer`): for `graceUntil` it still resolves, one hop, to its
 * successor, so parallel requests that raced a rotation with the old cookie keep working.
 *
 * A table of its own rather than nullable columns on `nsk_session`: session rows keep every column NOT NULL
 * and their handle unique, and "is this id a pointer?" is a primary-key lookup, not a flag check.
 */
@Entity({ name: SESSION_POINTER_TABLE })
@Index(POINTER_GRACE_INDEX, ['graceUntil'])
export class SessionPointerEntity {
  /** The old session id (SHA-256 of the old token, base64url). */
  @PrimaryColumn({ type: 'varchar', length: ID_LENGTH })
  id: string;

  /** The id the session moved to. */
  @Column({ name: 'successor_id', type: 'varchar', length: ID_LENGTH })
  successorId: string;

  /** End of the grace window (ms since epoch); from then on the old id is unknown. */
  @Column({ name: 'grace_until', type: 'bigint', transformer: bigintMs })
  graceUntil: number;
}

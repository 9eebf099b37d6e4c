import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { ID_LENGTH, POINTER_UNTIL_INDEX, SESSION_POINTER_TABLE, bigintMs } from './schema';

/**
 * A rotated-away session id (table `nsk_session_pointer`), the stored form of the `RotationPointer` of
 * `lib/core/lifecycle.ts`: until `graceUntil` it resolves, one hop, to its successor (parallel requests that
 * raced a rotation with the old cookie keep working); from then until `until` it is a tombstone, which never
 * authenticates but answers "rotated", and which writes already in flight still follow to the successor.
 *
 * A table of its own rather than nullable columns on `nsk_session`: session rows keep every column NOT NULL
 * and their handle unique, and "is this id a pointer?" is a primary-key lookup, not a flag check.
 */
@Entity({ name: SESSION_POINTER_TABLE })
@Index(POINTER_UNTIL_INDEX, ['until'])
export class SessionPointerEntity {
  /** The old session id (SHA-256 of the old token, base64url). */
  @PrimaryColumn({ type: 'varchar', length: ID_LENGTH })
  id: string;

  /** The id the session moved to. */
  @Column({ name: 'successor_id', type: 'varchar', length: ID_LENGTH })
  successorId: string;

  /** End of the grace window (ms since epoch, exclusive); from then on the old id is a tombstone. */
  @Column({ name: 'grace_until', type: 'bigint', transformer: bigintMs })
  graceUntil: number;

  /**
   * When the old id is forgotten (ms since epoch, exclusive): `pointerWindows(rotatedAt, graceMs).until`, at
   * least `ROTATION_TOMBSTONE_MS` (60,000 ms) after the rotation. The cleanup deletes the row from then on.
   */
  @Column({ type: 'bigint', transformer: bigintMs })
  until: number;
}

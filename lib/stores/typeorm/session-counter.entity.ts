import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { COUNTER_KEY_LENGTH, COUNTER_RESET_INDEX, COUNTER_TABLE, bigintMs } from './schema';

/**
 * A fixed-window counter (table `nsk_counter`) shared by every app instance: rate limits, login lockouts.
 * The window starts at the first increment and ends at `resetAt`.
 */
@Entity({ name: COUNTER_TABLE })
@Index(COUNTER_RESET_INDEX, ['resetAt'])
export class SessionCounterEntity {
  /** The counter's name, e.g. `login:ip:203.0.113.7` (at most 255 characters). */
  @PrimaryColumn({ type: 'varchar', length: COUNTER_KEY_LENGTH })
  key: string;

  /** Increments in the current window. */
  @Column({ type: 'integer' })
  count: number;

  /** End of the current window (ms since epoch); the next increment after it starts again at 1. */
  @Column({ name: 'reset_at', type: 'bigint', transformer: bigintMs })
  resetAt: number;
}

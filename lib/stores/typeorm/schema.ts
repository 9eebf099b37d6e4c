import type { ValueTransformer } from 'typeorm';
import { LEGACY_RECORD_STAGE, MAX_IP_LENGTH, MAX_USER_ID_LENGTH, legacyRecordFields } from '../../core/session-record';

/**
 * Names and sizes shared by the entities, the migration and the store's SQL, so the three can never drift
 * apart (a migration that names an index differently from its entity makes `synchronize` rebuild it).
 */

/** Table of live sessions, one row per session id. */
export const SESSION_TABLE = 'nsk_session';
/** Table of rotated-away ids, remembered until their pointer's `until` (grace window, then tombstone). */
export const SESSION_POINTER_TABLE = 'nsk_session_pointer';
/** Table of fixed-window counters (rate limits, lockouts). */
export const COUNTER_TABLE = 'nsk_counter';

/** Unique: a handle names one session (revocation by handle). */
export const SESSION_HANDLE_INDEX = 'UQ_nsk_session_handle';
/** A user's sessions: listing, counting, eviction, logout everywhere. */
export const SESSION_USER_INDEX = 'IDX_nsk_session_user_id';
/** Expired-session cleanup, oldest first. */
export const SESSION_EXPIRES_INDEX = 'IDX_nsk_session_expires_at';
/**
 * Cleanup of pointers by `grace_until`: schema v1 only. `SessionStageAndPointerUntil1796007977546` replaces it
 * with {@link POINTER_UNTIL_INDEX}; kept for that migration and the first one.
 */
export const POINTER_GRACE_INDEX = 'IDX_nsk_session_pointer_grace_until';
/** Cleanup of pointers that are forgotten (`until` reached): a pointer outlives its grace window as a tombstone. */
export const POINTER_UNTIL_INDEX = 'IDX_nsk_session_pointer_until';
/** Cleanup of counters whose window is over. */
export const COUNTER_RESET_INDEX = 'IDX_nsk_counter_reset_at';

/** Session ids are SHA-256 base64url (43 characters); 64 leaves room without inviting misuse. */
export const ID_LENGTH = 64;
/** Handles are 16 random bytes in base64url (22 characters). */
export const HANDLE_LENGTH = 64;
/**
 * Longest user id (characters): the library-wide `MAX_USER_ID_LENGTH` (255), which keeps the `user_id` index
 * within MariaDB/MySQL's key size limit in utf8mb4 (4 bytes per character).
 */
export const USER_ID_LENGTH = MAX_USER_ID_LENGTH;
/** Longest counter key (characters); same index limit as user ids. */
export const COUNTER_KEY_LENGTH = 255;
/** Longest IP string: the library-wide `MAX_IP_LENGTH` (64; an IPv6 address with a zone fits). */
export const IP_LENGTH = MAX_IP_LENGTH;
/** Longest stage name (`pending`, `complete`), with room for stages a later version may add. */
export const STAGE_LENGTH = 16;
/** What a session row written before `stage` existed holds: the contract's stage for such records. */
export const DEFAULT_STAGE = LEGACY_RECORD_STAGE;
/** Longest tier name (`standard`, `remember`), with room for tiers a later version may add. */
export const TIER_LENGTH = 16;
/** What a session row written before `tier` existed holds: the contract's tier for such records (`standard`). */
export const DEFAULT_TIER = legacyRecordFields().tier;
/** Longest impersonating administrator's id: a user id like any other. */
export const IMPERSONATED_BY_LENGTH = MAX_USER_ID_LENGTH;

/**
 * Times are `bigint` milliseconds since the epoch: a 32-bit `int` tops out at about 2.1 × 10^9, and today is
 * already about 1.8 × 10^12 ms. The PostgreSQL and MySQL drivers hand `bigint` back as a string (so as not to
 * lose precision beyond 2^53); ms timestamps stay far below 2^53, so they are converted back to numbers here.
 */
export const bigintMs: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | bigint | null) => (value === null ? null : Number(value)),
};

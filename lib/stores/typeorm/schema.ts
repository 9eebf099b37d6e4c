import type { ValueTransformer } from 'typeorm';

/**
 * Names and sizes shared by the entities, the migration and the store's SQL, so the three can never drift
 * apart (a migration that names an index differently from its entity makes `synchronize` rebuild it).
 */

/** Table of live sessions, one row per session id. */
export const SESSION_TABLE = 'nsk_session';
/** Table of rotated-away ids that still resolve to their successor during the grace window. */
export const SESSION_POINTER_TABLE = 'nsk_session_pointer';
/** Table of fixed-window counters (rate limits, lockouts). */
export const COUNTER_TABLE = 'nsk_counter';

/** Unique: a handle names one session (revocation by handle). */
export const SESSION_HANDLE_INDEX = 'UQ_nsk_session_handle';
/** A user's sessions: listing, counting, eviction, logout everywhere. */
export const SESSION_USER_INDEX = 'IDX_nsk_session_user_id';
/** Expired-session cleanup, oldest first. */
export const SESSION_EXPIRES_INDEX = 'IDX_nsk_session_expires_at';
/** Cleanup of pointers whose grace window is over. */
export const POINTER_GRACE_INDEX = 'IDX_nsk_session_pointer_grace_until';
/** Cleanup of counters whose window is over. */
export const COUNTER_RESET_INDEX = 'IDX_nsk_counter_reset_at';

/** Session ids are SHA-256 base64url (43 characters); 64 leaves room without inviting misuse. */
export const ID_LENGTH = 64;
/** Handles are 16 random bytes in base64url (22 characters). */
export const HANDLE_LENGTH = 64;
/**
 * Longest user id (characters). 255 keeps the `user_id` index within MariaDB/MySQL's key size limit in utf8mb4
 * (4 bytes per character).
 */
export const USER_ID_LENGTH = 255;
/** Longest counter key (characters); same index limit as user ids. */
export const COUNTER_KEY_LENGTH = 255;
/** Longest IP string: an IPv6 address with a zone fits. */
export const IP_LENGTH = 64;

/**
 * Times are `bigint` milliseconds since the epoch: a 32-bit `int` tops out at about 2.1 × 10^9, and today is
 * already about 1.8 × 10^12 ms. The PostgreSQL and MySQL drivers hand `bigint` back as a string (so as not to
 * lose precision beyond 2^53); ms timestamps stay far below 2^53, so they are converted back to numbers here.
 */
export const bigintMs: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | bigint | null) => (value === null ? null : Number(value)),
};

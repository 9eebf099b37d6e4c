import { MAX_IP_LENGTH, MAX_USER_AGENT_LENGTH, MAX_USER_ID_LENGTH } from '../../core/session-record';
import { MAX_EVENT_HANDLE_LENGTH, MAX_EVENT_NAME_LENGTH, MAX_EVENT_TEXT_LENGTH } from '../neutralize';

/**
 * Names and sizes shared by the audit entity, its migration and the sink's SQL, so the three cannot drift apart.
 * Column sizes are the limits `neutralizeEvent` clips to, so an event that went through it always fits.
 */

/** Table of security events, one row per event. */
export const AUDIT_TABLE = 'nsk_audit_event';

/** Newest first over everything: `ORDER BY time DESC, id DESC`. */
export const AUDIT_TIME_INDEX = 'IDX_nsk_audit_event_time';
/** One user's events, newest first. */
export const AUDIT_USER_TIME_INDEX = 'IDX_nsk_audit_event_user_time';
/** One type's events, newest first. */
export const AUDIT_TYPE_TIME_INDEX = 'IDX_nsk_audit_event_type_time';
/** One user's events of one type, newest first (e.g. a user's failed sign-ins). */
export const AUDIT_USER_TYPE_TIME_INDEX = 'IDX_nsk_audit_event_user_type_time';

/** Event type, level and outcome (characters). */
export const AUDIT_NAME_LENGTH = MAX_EVENT_NAME_LENGTH;
/** User id (characters): the library-wide limit, within MariaDB's index key size in utf8mb4. */
export const AUDIT_USER_ID_LENGTH = MAX_USER_ID_LENGTH;
/** Session handle (characters). */
export const AUDIT_HANDLE_LENGTH = MAX_EVENT_HANDLE_LENGTH;
/** IP address (characters). */
export const AUDIT_IP_LENGTH = MAX_IP_LENGTH;
/** User agent (characters). */
export const AUDIT_USER_AGENT_LENGTH = MAX_USER_AGENT_LENGTH;
/** Reason (characters). */
export const AUDIT_REASON_LENGTH = MAX_EVENT_TEXT_LENGTH;

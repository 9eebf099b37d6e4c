/**
 * Names and sizes of the token store's tables, shared by the migration, the entities and the store's SQL so they
 * cannot drift apart.
 */
import { MAX_USER_ID_LENGTH } from '../../core/session-record';

/** Refresh-token families, one row per sign-in. */
export const REFRESH_FAMILY_TABLE = 'nsk_refresh_family';
/** Refresh tokens (their SHA-256 only), one row per token issued, kept to its idle deadline. */
export const REFRESH_TOKEN_TABLE = 'nsk_refresh_token';
/** Access-token revocation: per-user cut-offs, the `jti` denylist and the per-session denylist, one row each. */
export const TOKEN_REVOCATION_TABLE = 'nsk_token_revocation';

/** A user's families, oldest first (listing, logout everywhere). */
export const FAMILY_USER_INDEX = 'IDX_nsk_refresh_family_user';
/** Cleanup of families past their absolute deadline. */
export const FAMILY_EXPIRES_INDEX = 'IDX_nsk_refresh_family_expires';
/** A family's tokens (cleanup with the family). */
export const TOKEN_FAMILY_INDEX = 'IDX_nsk_refresh_token_family';
/** Cleanup of tokens past their idle deadline. */
export const TOKEN_EXPIRES_INDEX = 'IDX_nsk_refresh_token_expires';
/** Cleanup of revocation entries past `until`. */
export const REVOCATION_UNTIL_INDEX = 'IDX_nsk_token_revocation_until';

/** Token ids are SHA-256 base64url (43 characters), family ids 22; 64 leaves room without inviting misuse. */
export const TOKEN_ID_LENGTH = 64;
/** Longest user id: the library-wide `MAX_USER_ID_LENGTH` (255). */
export const TOKEN_USER_ID_LENGTH = MAX_USER_ID_LENGTH;
/** Longest client id (characters). */
export const CLIENT_ID_LENGTH = 255;
/** Longest revocation subject: a user id, a session handle, or the SHA-256 (base64url) of an issuer-qualified `jti`. */
export const REVOCATION_SUBJECT_LENGTH = MAX_USER_ID_LENGTH;
/** Longest revocation kind (`jti`, `user`, `session`). */
export const REVOCATION_KIND_LENGTH = 8;

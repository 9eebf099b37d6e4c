/** How far authentication has got: see {@link SessionRecord.stage}. */
export type SessionStage = 'pending' | 'complete';

/** The values of {@link SessionStage}, for validation. */
export const SESSION_STAGES: readonly SessionStage[] = ['pending', 'complete'];

/**
 * The stage of a stored record that has none: it was written before `stage` existed, when every session had
 * passed every factor the app asked for. Every store reads such a record with this stage.
 */
export const LEGACY_RECORD_STAGE: SessionStage = 'complete';

/**
 * How long a session may live: `standard` (the module's `idleTimeout`/`absoluteTimeout`, a session cookie) or
 * `remember` ("remember me": `rememberMe.idleTimeout`/`rememberMe.absoluteTimeout`, a persistent cookie).
 */
export type SessionTier = 'standard' | 'remember';

/** The values of {@link SessionTier}, for validation. */
export const SESSION_TIERS: readonly SessionTier[] = ['standard', 'remember'];

/** The fields of a record that stores written before them may lack: see {@link legacyRecordFields}. */
export type LegacyRecordFields = Pick<SessionRecord, 'roles' | 'tier' | 'impersonatedBy' | 'idleTimeoutMs'>;

/**
 * The values of `roles`, `tier`, `impersonatedBy` and `idleTimeoutMs` for a stored record that lacks them: it was
 * written before they existed, when every session was a standard one of the user themselves, with no roles
 * snapshot, under the module's idle timeout. Every store reads such a record with these values (a new object each
 * call, so no two records share a roles array).
 */
export function legacyRecordFields(): LegacyRecordFields {
  return { roles: [], tier: 'standard', impersonatedBy: null, idleTimeoutMs: null };
}

/** Whether `level` is an authentication assurance level: 1 (one factor), 2 (multi-factor) or 3 (hardware-bound). */
export function isAssuranceLevel(level: unknown): level is number {
  return Number.isInteger(level) && (level as number) >= 1 && (level as number) <= 3;
}

/** Application state kept in a session (cart, wizard progress, preferences...). JSON-serialisable values only. */
export type SessionData = Record<string, unknown>;

/**
 * One server-side session, as every store keeps it.
 *
 * It is stored under the SHA-256 of the token (the "id"), never under the token. All times are milliseconds
 * since the Unix epoch.
 */
export interface SessionRecord {
  /** Random, non-secret id for listings and revocation; stays the same across rotations. */
  handle: string;
  /** The authenticated user's id, as the application gave it. */
  userId: string;
  /** When the session was created (login). */
  createdAt: number;
  /** Last time a request used the session (updated at most every `touchIntervalMs`). */
  lastSeenAt: number;
  /** The session ends when the clock reaches this (inactivity). Never later than `absoluteExpiresAt`. */
  idleExpiresAt: number;
  /** Hard end of the session. Never moved by activity or rotation; only re-authentication resets it. */
  absoluteExpiresAt: number;
  /** Time of the last full authentication (login or re-authentication). */
  authenticatedAt: number;
  /** Time of the last id rotation (creation counts as one). Drives periodic rotation. */
  rotatedAt: number;
  /** Authentication assurance level: 1 (one factor) or 2 (multi-factor). */
  aal: number;
  /**
   * `complete` once every required factor is proven; `pending` while the password is proven but a second
   * factor is due. The auth guard admits only complete sessions unless a route allows pending ones.
   * Stores that find a record without it (written before the field existed) read it as `complete`.
   */
  stage: SessionStage;
  /**
   * The user's roles, a snapshot taken at login (and replaced by `updateUserRoles` when they change), so a guarded
   * request needs no database lookup. A set: order carries no meaning. Records stored before the field read as `[]`.
   */
  roles: string[];
  /** Incremented whenever the user's privileges change (roles replaced, or `requireRotationForUser`). */
  rolesVersion: number;
  /** Set when the user's privileges changed: the next request rotates the id before doing anything else. */
  rotateRequired: boolean;
  /** Client IP at creation (binding and activity log). */
  ip: string;
  /** Client user agent at creation, truncated to {@link MAX_USER_AGENT_LENGTH} characters. */
  userAgent: string;
  /**
   * `standard`, or `remember` for a "remember me" session (longer timeouts, persistent cookie). Chosen at login and
   * never changed. Records stored before the field read as `standard`.
   */
  tier: SessionTier;
  /**
   * For an impersonation session, the user id of the administrator acting as `userId`; otherwise `null`. Such a
   * session is exempt from the user's concurrent-session limit (it neither counts nor evicts) and lives at most
   * the module's `impersonation.maxAge`. Records stored before the field read as `null`.
   */
  impersonatedBy: string | null;
  /**
   * This session's inactivity timeout (ms), set at creation from its tier: the idle touch moves `idleExpiresAt` to
   * `now + idleTimeoutMs`. `null` for records stored before the field: they use the module's idle timeout (the
   * `idleTimeoutMs` the read is given), as they did then.
   */
  idleTimeoutMs: number | null;
  /** Incremented by every data update, for compare-and-set. */
  version: number;
  /** Application state. */
  data: SessionData;
}

/** Longest user agent kept in a record (characters); longer ones are truncated. */
export const MAX_USER_AGENT_LENGTH = 256;
/** Longest IP string kept (an IPv6 with zone fits). */
export const MAX_IP_LENGTH = 64;
/** Longest user id accepted (characters): what the SQL store's column holds. */
export const MAX_USER_ID_LENGTH = 255;
/** Largest session data accepted, as JSON text (bytes of UTF-8): 60 KiB, which every store can hold. */
export const MAX_DATA_BYTES = 60 * 1024;

/** Cuts a user agent, IP or other client-supplied text to `max` characters before it is stored or logged. */
export function clip(value: string, max: number): string {
  return value.length > max ? value.slice(0, max) : value;
}

/** Most roles one session holds; a longer list is refused at login and on a role change. */
export const MAX_ROLES = 64;
/** Longest role name (characters). */
export const MAX_ROLE_LENGTH = 64;

/** Fields that a store update may change. */
export type SessionChanges = Partial<
  Pick<
    SessionRecord,
    | 'data'
    | 'aal'
    | 'authenticatedAt'
    | 'idleExpiresAt'
    | 'absoluteExpiresAt'
    | 'idleTimeoutMs'
    | 'lastSeenAt'
    | 'rotatedAt'
    | 'rolesVersion'
    | 'rotateRequired'
    | 'stage'
  >
>;

/** The numeric fields of a {@link SessionRecord}, for stores that serialise field by field. */
export const SESSION_NUMBER_FIELDS = [
  'createdAt',
  'lastSeenAt',
  'idleExpiresAt',
  'absoluteExpiresAt',
  'authenticatedAt',
  'rotatedAt',
  'aal',
  'rolesVersion',
  'version',
] as const;

/**
 * Checks that a value read back from a store is a well-formed session record.
 *
 * Stores call this on everything they deserialise: a corrupted or foreign record is treated as no session
 * (never trusted, never a crash).
 */
export function isSessionRecord(value: unknown): value is SessionRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const r = value as Record<string, unknown>;
  if (typeof r.handle !== 'string' || r.handle.length === 0) return false;
  if (typeof r.userId !== 'string' || r.userId.length === 0) return false;
  for (const f of SESSION_NUMBER_FIELDS) if (typeof r[f] !== 'number' || !Number.isFinite(r[f])) return false;
  if (typeof r.rotateRequired !== 'boolean') return false;
  if (!SESSION_STAGES.includes(r.stage as SessionStage)) return false;
  if (typeof r.ip !== 'string' || typeof r.userAgent !== 'string') return false;
  if (!Array.isArray(r.roles) || !r.roles.every((role) => typeof role === 'string')) return false;
  if (!SESSION_TIERS.includes(r.tier as SessionTier)) return false;
  if (r.impersonatedBy !== null && (typeof r.impersonatedBy !== 'string' || r.impersonatedBy.length === 0)) return false;
  if (r.idleTimeoutMs !== null && (typeof r.idleTimeoutMs !== 'number' || !Number.isFinite(r.idleTimeoutMs) || r.idleTimeoutMs < 0)) {
    return false;
  }
  if (typeof r.data !== 'object' || r.data === null || Array.isArray(r.data)) return false;
  return true;
}

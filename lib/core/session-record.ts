/** How far authentication has got: see {@link SessionRecord.stage}. */
export type SessionStage = 'pending' | 'complete';

/** The values of {@link SessionStage}, for validation. */
export const SESSION_STAGES: readonly SessionStage[] = ['pending', 'complete'];

/**
 * The stage of a stored record that has none: it was written before `stage` existed, when every session had
 * passed every factor the app asked for. Every store reads such a record with this stage.
 */
export const LEGACY_RECORD_STAGE: SessionStage = 'complete';

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
  /** Incremented whenever the user's privileges change; lets the app refresh its roles snapshot. */
  rolesVersion: number;
  /** Set when the user's privileges changed: the next request rotates the id before doing anything else. */
  rotateRequired: boolean;
  /** Client IP at creation (binding and activity log). */
  ip: string;
  /** Client user agent at creation, truncated to {@link MAX_USER_AGENT_LENGTH} characters. */
  userAgent: string;
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

/** Fields that a store update may change. */
export type SessionChanges = Partial<
  Pick<
    SessionRecord,
    | 'data'
    | 'aal'
    | 'authenticatedAt'
    | 'idleExpiresAt'
    | 'absoluteExpiresAt'
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
  if (typeof r.data !== 'object' || r.data === null || Array.isArray(r.data)) return false;
  return true;
}

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
  if (typeof r.ip !== 'string' || typeof r.userAgent !== 'string') return false;
  if (typeof r.data !== 'object' || r.data === null || Array.isArray(r.data)) return false;
  return true;
}

/** Applies changes to a copy of a record (never mutates the input). */
export function applyChanges(record: SessionRecord, changes: SessionChanges): SessionRecord {
  return { ...record, ...changes };
}

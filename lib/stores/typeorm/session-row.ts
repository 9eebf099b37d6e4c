import { expiresAt } from '../../core/lifecycle';
import { SessionRecord, isSessionRecord, legacyRecordFields } from '../../core/session-record';
import { DEFAULT_STAGE, HANDLE_LENGTH, ID_LENGTH, IMPERSONATED_BY_LENGTH, IP_LENGTH, USER_ID_LENGTH } from './schema';

/** A `nsk_session` row as the drivers return it: `bigint` may be a string, booleans may be 0/1. */
export interface SessionRow {
  id: string;
  handle: string;
  user_id: string;
  created_at: unknown;
  last_seen_at: unknown;
  idle_expires_at: unknown;
  absolute_expires_at: unknown;
  authenticated_at: unknown;
  rotated_at: unknown;
  aal: unknown;
  stage: unknown;
  roles_version: unknown;
  rotate_required: unknown;
  ip: string;
  user_agent: string;
  version: unknown;
  data: unknown;
  /** JSON array of strings; NULL in rows written before the column existed. */
  roles: unknown;
  tier: unknown;
  impersonated_by: string | null;
  idle_timeout_ms: unknown;
}

/** The columns of a session, in the order {@link sessionValues} returns their values. */
export const SESSION_COLUMNS = [
  'id',
  'handle',
  'user_id',
  'created_at',
  'last_seen_at',
  'idle_expires_at',
  'absolute_expires_at',
  'expires_at',
  'authenticated_at',
  'rotated_at',
  'aal',
  'stage',
  'roles_version',
  'rotate_required',
  'ip',
  'user_agent',
  'version',
  'data',
  'roles',
  'tier',
  'impersonated_by',
  'idle_timeout_ms',
] as const;

/**
 * Column values of a session row, in {@link SESSION_COLUMNS} order. `expires_at` is `expiresAt(record)` of
 * `lib/core/lifecycle.ts`, so `expires_at <= now` in SQL is exactly `isExpired(record, now)`.
 */
export function sessionValues(id: string, record: SessionRecord): unknown[] {
  return [
    id,
    record.handle,
    record.userId,
    record.createdAt,
    record.lastSeenAt,
    record.idleExpiresAt,
    record.absoluteExpiresAt,
    expiresAt(record),
    record.authenticatedAt,
    record.rotatedAt,
    record.aal,
    record.stage,
    record.rolesVersion,
    record.rotateRequired,
    record.ip,
    record.userAgent,
    record.version,
    JSON.stringify(record.data),
    JSON.stringify(record.roles),
    record.tier,
    record.impersonatedBy,
    record.idleTimeoutMs,
  ];
}

/**
 * Turns a row back into a record, or null when the row is not a well-formed session (data that is not JSON,
 * a number column holding garbage...): a corrupted row must read as "no session", never crash a request.
 */
export function decodeRow(row: SessionRow): SessionRecord | null {
  let data: unknown;
  let roles: unknown;
  try {
    data = typeof row.data === 'string' ? JSON.parse(row.data) : undefined;
    // NULL (or a missing column's undefined) is a row written before roles existed.
    roles = row.roles === null || row.roles === undefined ? [] : typeof row.roles === 'string' ? JSON.parse(row.roles) : undefined;
  } catch {
    return null;
  }
  const legacy = legacyRecordFields();
  const record = {
    handle: row.handle,
    userId: row.user_id,
    createdAt: toNumber(row.created_at),
    lastSeenAt: toNumber(row.last_seen_at),
    idleExpiresAt: toNumber(row.idle_expires_at),
    absoluteExpiresAt: toNumber(row.absolute_expires_at),
    authenticatedAt: toNumber(row.authenticated_at),
    rotatedAt: toNumber(row.rotated_at),
    aal: toNumber(row.aal),
    // A row without a stage predates it (the column's default covers migrated tables): such sessions were complete.
    stage: row.stage ?? DEFAULT_STAGE,
    roles,
    rolesVersion: toNumber(row.roles_version),
    rotateRequired: toBoolean(row.rotate_required),
    ip: row.ip,
    userAgent: row.user_agent,
    // Rows written before these columns existed hold the column defaults (tier) or NULL: the legacy values.
    tier: row.tier ?? legacy.tier,
    impersonatedBy: row.impersonated_by ?? legacy.impersonatedBy,
    idleTimeoutMs: row.idle_timeout_ms === null || row.idle_timeout_ms === undefined ? legacy.idleTimeoutMs : toNumber(row.idle_timeout_ms),
    version: toNumber(row.version),
    data,
  };
  return isSessionRecord(record) ? record : null;
}

/** PostgreSQL and MySQL return `bigint` as a string; anything that is not an integer makes the row corrupted. */
function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value);
  return Number.NaN;
}

/** PostgreSQL returns booleans; MySQL (`tinyint(1)`) and SQLite return 0/1. */
function toBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === '1') return true;
  if (value === 0 || value === '0') return false;
  return undefined;
}

const INT_FIELDS = ['aal', 'rolesVersion', 'version'] as const;
const TIME_FIELDS = ['createdAt', 'lastSeenAt', 'idleExpiresAt', 'absoluteExpiresAt', 'authenticatedAt', 'rotatedAt'] as const;
const INT32_MAX = 2_147_483_647;

/**
 * Refuses what the columns cannot hold, before any write, with a message naming the field. Without it the
 * three databases would disagree: PostgreSQL rejects 1.5 in a `bigint`, MySQL rounds it, SQLite stores it.
 */
export function assertStorable(id: string, record: SessionRecord, operation: string): void {
  const fail = (what: string) => {
    throw new RangeError(`TypeOrmSessionStore.${operation}: ${what}`);
  };
  if (!isSessionRecord(record)) throw new TypeError(`TypeOrmSessionStore.${operation}: not a valid SessionRecord`);
  if (id.length === 0 || id.length > ID_LENGTH) fail(`the id must have 1 to ${ID_LENGTH} characters`);
  if (record.handle.length > HANDLE_LENGTH) fail(`handle is longer than ${HANDLE_LENGTH} characters`);
  if (record.userId.length > USER_ID_LENGTH) {
    fail(
      `userId has ${record.userId.length} characters, more than the ${USER_ID_LENGTH} (MAX_USER_ID_LENGTH) a session holds; ` +
        'use a short, stable id such as the primary key of the user, not free text',
    );
  }
  if (record.ip.length > IP_LENGTH) fail(`ip is longer than ${IP_LENGTH} characters`);
  if (record.impersonatedBy !== null && record.impersonatedBy.length > IMPERSONATED_BY_LENGTH) {
    fail(`impersonatedBy has ${record.impersonatedBy.length} characters, more than the ${IMPERSONATED_BY_LENGTH} a user id may have`);
  }
  if (record.idleTimeoutMs !== null && !Number.isSafeInteger(record.idleTimeoutMs)) {
    fail(`idleTimeoutMs must be an integer number of ms or null (got ${record.idleTimeoutMs})`);
  }
  for (const field of TIME_FIELDS) {
    if (!Number.isSafeInteger(record[field])) fail(`${field} must be an integer number of ms (got ${record[field]})`);
  }
  for (const field of INT_FIELDS) {
    const value = record[field];
    if (!Number.isInteger(value) || Math.abs(value) > INT32_MAX) fail(`${field} must be a 32-bit integer (got ${value})`);
  }
}

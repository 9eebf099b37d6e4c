import type { SessionChanges, SessionRecord, SessionStage, SessionTier } from './session-record';

/**
 * The session lifecycle rules, in one place and free of any backend: when a session is over, when and how an
 * idle "touch" moves it, how changes apply, and what a rotated-away id still means. Every TypeScript store and
 * the manager call these functions; the Redis Lua scripts mirror them, and a test checks the mirror against
 * this module on generated cases. Change a rule here, and the Lua copy with it.
 *
 * All times are milliseconds since the Unix epoch; all durations are milliseconds.
 */

/**
 * How long (ms) a rotated-away id is remembered after rotation, whatever its grace window. Past the grace
 * window and until then it is a tombstone: it never authenticates again, but it answers "rotated" rather
 * than "unknown", so a request that lost a rotation race gets a 401 without a cookie-clearing `Set-Cookie`
 * (which could reach the browser after the winner's response and erase the new cookie). Writes of requests
 * already in flight follow it to the successor. 60 000 ms, which is also the longest allowed grace window.
 */
export const ROTATION_TOMBSTONE_MS = 60_000;

/** The deadlines of a session. */
export type Deadlines = Pick<SessionRecord, 'idleExpiresAt' | 'absoluteExpiresAt'>;

/** When the session is over: the earlier of its idle and absolute deadlines (ms since epoch). */
export function expiresAt(record: Deadlines): number {
  return Math.min(record.idleExpiresAt, record.absoluteExpiresAt);
}

/** Whether the session is over at `now`: a deadline is exclusive (at `now === deadline` it has ended). */
export function isExpired(record: Deadlines, now: number): boolean {
  return now >= record.idleExpiresAt || now >= record.absoluteExpiresAt;
}

/** The idle deadline after activity at `now`: `now + idleTimeoutMs`, never past the absolute deadline. */
export function idleDeadline(now: number, idleTimeoutMs: number, absoluteExpiresAt: number): number {
  return Math.min(now + idleTimeoutMs, absoluteExpiresAt);
}

/** Whether a read at `now` writes the idle touch: at most once per `touchIntervalMs`. */
export function isTouchDue(lastSeenAt: number, now: number, touchIntervalMs: number): boolean {
  return now - lastSeenAt >= touchIntervalMs;
}

/**
 * The inactivity timeout (ms) that governs `record`: its own `idleTimeoutMs` (set at creation from its tier), or
 * `fallbackMs` (the module's idle timeout) for a record stored before sessions had their own.
 */
export function idleTimeoutOf(record: { idleTimeoutMs?: number | null }, fallbackMs: number): number {
  return record.idleTimeoutMs ?? fallbackMs;
}

/**
 * The fields a due touch writes (`lastSeenAt`, `idleExpiresAt`), or `null` when no touch is due or it would
 * change nothing. The idle deadline moves by the record's own timeout ({@link idleTimeoutOf}), so a remembered
 * session and a standard one read with the same options each keep their own. The version does not move: a touch
 * is not a data change.
 *
 * @param defaultIdleTimeoutMs the module's idle timeout (ms), for records without their own `idleTimeoutMs`.
 */
export function touchChanges(
  record: Pick<SessionRecord, 'lastSeenAt' | 'idleExpiresAt' | 'absoluteExpiresAt'> & { idleTimeoutMs?: number | null },
  now: number,
  defaultIdleTimeoutMs: number,
  touchIntervalMs: number,
): { lastSeenAt: number; idleExpiresAt: number } | null {
  if (!isTouchDue(record.lastSeenAt, now, touchIntervalMs)) return null;
  const idleExpiresAt = idleDeadline(now, idleTimeoutOf(record, defaultIdleTimeoutMs), record.absoluteExpiresAt);
  if (idleExpiresAt === record.idleExpiresAt && now === record.lastSeenAt) return null;
  return { lastSeenAt: now, idleExpiresAt };
}

/** The idle and absolute timeouts (ms) of one session. */
export interface SessionTimeouts {
  /** Inactivity timeout (ms). */
  idleTimeoutMs: number;
  /** Lifetime from (re-)authentication (ms). */
  absoluteTimeoutMs: number;
}

/** The module's timeouts for each tier and for impersonation (ms), as `SessionPolicy` holds them. */
export interface TierPolicy extends SessionTimeouts {
  /** Inactivity timeout of the `remember` tier (ms). */
  rememberIdleTimeoutMs: number;
  /** Absolute lifetime of the `remember` tier (ms). */
  rememberAbsoluteTimeoutMs: number;
  /** Longest life of an impersonation session, from its creation (ms). */
  impersonationMaxAgeMs: number;
}

/**
 * Default of the module's `pendingTimeout` (ms): 5 minutes. Long enough to find a phone and type a code, short
 * enough that a password-only session (a stolen password, a sign-in abandoned at the second step) does not linger
 * for the whole absolute timeout.
 */
export const DEFAULT_PENDING_TIMEOUT_MS = 5 * 60_000;

/** The timeouts of a session of `tier`: the module's own for `standard`, the `rememberMe` ones for `remember`. */
export function tierTimeouts(tier: SessionTier, policy: TierPolicy): SessionTimeouts {
  return tier === 'remember'
    ? { idleTimeoutMs: policy.rememberIdleTimeoutMs, absoluteTimeoutMs: policy.rememberAbsoluteTimeoutMs }
    : { idleTimeoutMs: policy.idleTimeoutMs, absoluteTimeoutMs: policy.absoluteTimeoutMs };
}

/**
 * The latest absolute deadline a session may ever have (ms since epoch), whatever re-authentication happens in it:
 * - `createdAt + impersonationMaxAgeMs` for an impersonation session;
 * - `createdAt + pendingTimeoutMs` for a pending session (second factor due): a sign-in that stops at the password
 *   ends this long after it began. Completing it (stage `complete`) lifts this cap: the caller computes the
 *   deadlines again with the record's new stage (`SessionManager.complete`);
 * - the earlier of the two when both apply, and `Infinity` (no cap) for any other session.
 *
 * A record without `stage` (stored before the field existed) is complete.
 *
 * @param pendingTimeoutMs the module's `pendingTimeout` (ms); default none (no cap for pending sessions).
 */
export function absoluteCap(
  record: Pick<SessionRecord, 'createdAt' | 'impersonatedBy'> & { stage?: SessionStage },
  impersonationMaxAgeMs: number,
  pendingTimeoutMs = Number.POSITIVE_INFINITY,
): number {
  const impersonation = record.impersonatedBy === null ? Number.POSITIVE_INFINITY : record.createdAt + impersonationMaxAgeMs;
  const pending = record.stage === 'pending' ? record.createdAt + pendingTimeoutMs : Number.POSITIVE_INFINITY;
  return Math.min(impersonation, pending);
}

/**
 * The timestamps of a session that starts (login) or restarts (re-authentication) at `now`, with its timeouts:
 * both deadlines from now, the absolute one never past `cap` (ms since epoch, see {@link absoluteCap}; default
 * none), and the idle timeout that later touches use.
 */
export function freshDeadlines(
  now: number,
  timeouts: SessionTimeouts,
  cap = Number.POSITIVE_INFINITY,
): Pick<SessionRecord, 'lastSeenAt' | 'idleExpiresAt' | 'absoluteExpiresAt' | 'authenticatedAt' | 'idleTimeoutMs'> {
  const absoluteExpiresAt = Math.min(now + timeouts.absoluteTimeoutMs, cap);
  return {
    lastSeenAt: now,
    idleExpiresAt: idleDeadline(now, timeouts.idleTimeoutMs, absoluteExpiresAt),
    absoluteExpiresAt,
    authenticatedAt: now,
    idleTimeoutMs: timeouts.idleTimeoutMs,
  };
}

/**
 * What replacing a session's roles `before` with `after` means, comparing them as sets (order and repeats do not
 * count):
 * - `elevation`: `after` holds a role `before` lacked (even if it also drops some): the session gets a new id at
 *   its next request (RO-01: rotate on every privilege change);
 * - `demotion`: roles only removed: applies at once, without rotation (nothing was gained that needs a fresh id);
 * - `same`: nothing to write.
 */
export function rolesChange(before: readonly string[], after: readonly string[]): 'elevation' | 'demotion' | 'same' {
  const had = new Set(before);
  const has = new Set(after);
  for (const role of has) if (!had.has(role)) return 'elevation';
  for (const role of had) if (!has.has(role)) return 'demotion';
  return 'same';
}

/**
 * Whether a session counts toward its user's concurrent-session limit. Two kinds of session neither count nor can
 * be evicted to make room for another, and are created whatever the count:
 * - an impersonation session: an administrator's work must not sign the user out, nor the user's logins end it;
 * - a pending session (second factor due): a password alone must not push a real session out (or, under
 *   `deny-new`, lock the user out), and it lives at most `pendingTimeout` anyway. It starts counting when it
 *   completes ({@link startsCounting}), which is where the limit is held for it.
 *
 * A record without `stage` (stored before the field existed) is complete.
 */
export function countsTowardLimit(record: Pick<SessionRecord, 'impersonatedBy'> & { stage?: SessionStage }): boolean {
  return record.impersonatedBy === null && record.stage !== 'pending';
}

/**
 * Whether a write that turns `before` into `after` makes the session start counting toward the limit (a pending
 * session completing): the one write, besides creation, where a store must hold the limit, atomically with it.
 */
export function startsCounting(
  before: Pick<SessionRecord, 'impersonatedBy'> & { stage?: SessionStage },
  after: Pick<SessionRecord, 'impersonatedBy'> & { stage?: SessionStage },
): boolean {
  return !countsTowardLimit(before) && countsTowardLimit(after);
}

/**
 * A record with `changes` applied and, when `bumpVersion`, its version incremented (every update and rotation
 * bumps it, so a write computed from the state before a rotation conflicts and retries). A key present with
 * `undefined` leaves its field as it was. Never mutates the input.
 */
export function applyChanges(record: SessionRecord, changes: SessionChanges, bumpVersion = true): SessionRecord {
  const next: SessionRecord = { ...record };
  for (const key of Object.keys(changes) as (keyof SessionChanges)[]) {
    const value = changes[key];
    if (value !== undefined) (next as unknown as Record<string, unknown>)[key] = value;
  }
  if (bumpVersion) next.version = record.version + 1;
  return next;
}

/** A rotated-away id: where the session went, and until when the old id means anything. */
export interface RotationPointer {
  /** Storage id of the successor. */
  successor: string;
  /** Until then (exclusive, ms since epoch) a read of the old id resolves to the successor. */
  graceUntil: number;
  /** Until then (exclusive, ms since epoch) the old id is remembered at all; see {@link pointerUntil}. */
  until: number;
}

/**
 * What a rotated-away id means at `now`:
 * - `grace`: reads resolve to the successor (parallel requests of a periodic rotation);
 * - `tombstone`: reads answer "rotated" (never authenticate), writes still follow to the successor;
 * - `gone`: nothing; the store may delete the pointer.
 */
export function pointerState(pointer: Pick<RotationPointer, 'graceUntil' | 'until'>, now: number): 'grace' | 'tombstone' | 'gone' {
  if (now < pointer.graceUntil) return 'grace';
  if (now < pointer.until) return 'tombstone';
  return 'gone';
}

/** The `graceUntil` and `until` of a pointer left by a rotation at `now` with a grace window of `graceMs`. */
export function pointerWindows(now: number, graceMs: number): { graceUntil: number; until: number } {
  const grace = Math.max(0, graceMs);
  return { graceUntil: now + grace, until: now + Math.max(grace, ROTATION_TOMBSTONE_MS) };
}

import { randomBytes } from 'node:crypto';
import type { SessionRecord } from '../core/session-record';
import type { SessionStore } from '../stores/session-store';

const MIN = 60_000;
/** Idle timeout (ms) of the records {@link makeRecord} builds: 30 minutes. */
export const FIXTURE_IDLE_TIMEOUT_MS = 30 * MIN;
/** Absolute timeout (ms) of the records {@link makeRecord} builds: 12 hours. */
export const FIXTURE_ABSOLUTE_TIMEOUT_MS = 12 * 60 * MIN;

/** What a store factory hands to {@link describeSessionStore}: the store, and how to tidy up after the suite. */
export interface StoreFixture {
  /** The store under test, ready to serve (the suite does not call `connect()`). */
  store: SessionStore;
  /** Called once after the last test (close connections, drop test keys or tables). Optional. */
  cleanup?: () => Promise<void>;
  /**
   * What the backend cannot promise that the shipped durable stores do. Omit it for full guarantees (the default):
   * the suite then runs as it always has. A store that declares a weaker guarantee gets the suite's checks of the
   * weaker, documented behaviour instead (never a skipped test), which need {@link evict}.
   */
  capabilities?: StoreCapabilities;
  /**
   * Removes one of the store's entries behind its back, as the backend does under memory pressure or at a restart
   * (for memcached: deletes the item). Required when {@link capabilities} declares `evictsEntries` or
   * `survivesRestart: false`. Targets: `session` (what makes one session id reachable; for a rotated-away id, its
   * pointer), `user` (the per-user index of `userId`), `counter` (the counter named `key`).
   */
  evict?: (target: EvictionTarget) => Promise<void>;
}

/** One entry the fixture's {@link StoreFixture.evict} removes behind the store's back. */
export type EvictionTarget = { kind: 'session'; id: string } | { kind: 'user'; userId: string } | { kind: 'counter'; key: string };

/**
 * Guarantees a store may lack, declared on its fixture ({@link StoreFixture.capabilities}). Each defaults to the full
 * guarantee, so existing stores and third-party stores are unchanged.
 */
export interface StoreCapabilities {
  /**
   * The backend may drop entries by itself, e.g. memcached's LRU under memory pressure. Default `false`. When `true`,
   * the suite checks, with {@link StoreFixture.evict}, that an evicted entry means "logged out", never "let in": an
   * evicted session or user index ends those sessions (a destroyed session never comes back), the concurrent-session
   * limit still holds over every session that can still authenticate, and an evicted counter starts again at 1.
   */
  evictsEntries?: boolean;
  /**
   * Sessions survive a restart of the backend. Default `true` (the store's own tests restart it). When `false`
   * (memcached keeps everything in memory), the suite checks that losing every entry of a user at once, as a restart
   * does, logs that user out everywhere with nothing half-alive, and that the user can sign in again afterwards.
   */
  survivesRestart?: boolean;
}

/**
 * A fresh random storage id (43 base64url characters, the shape of a SHA-256 hash of a token), so tests never
 * collide with each other or with earlier runs on a shared backend.
 */
export function newId(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * A valid, complete, one-factor session record created at `now` (ms since epoch): idle deadline
 * `now + 30 min`, absolute deadline `now + 12 h`, version 1, empty data, a random handle and user id, and the
 * values a record stored before roles, tiers and impersonation existed reads with (no roles, `standard` tier, not
 * an impersonation, `idleTimeoutMs: null`: the idle timeout of each read applies). `overrides` replace any field.
 *
 * @example const rec = makeRecord(Date.now(), { userId: 'alice', data: { cart: [] } });
 */
export function makeRecord(now: number, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    handle: randomBytes(16).toString('base64url'),
    userId: 'user-' + randomBytes(6).toString('hex'),
    createdAt: now,
    lastSeenAt: now,
    idleExpiresAt: now + FIXTURE_IDLE_TIMEOUT_MS,
    absoluteExpiresAt: now + FIXTURE_ABSOLUTE_TIMEOUT_MS,
    authenticatedAt: now,
    rotatedAt: now,
    aal: 1,
    stage: 'complete',
    roles: [],
    rolesVersion: 0,
    rotateRequired: false,
    ip: '203.0.113.7',
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Conformance/1.0',
    tier: 'standard',
    impersonatedBy: null,
    idleTimeoutMs: null,
    version: 1,
    data: {},
    ...overrides,
  };
}

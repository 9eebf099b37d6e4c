import type { SessionPolicy } from '../../lib/core/session-manager';

const MIN = 60_000;
const DAY = 86_400_000;

/**
 * The session policy the unit tests of `SessionManager` start from, with `overrides` on top: 30 minutes idle,
 * 2 hours absolute, rotation every 15 minutes with 10 s of grace, touches at most once a minute, 3 concurrent
 * sessions (the oldest evicted), "remember me" 30/90 days, impersonation 1 hour.
 */
export function testPolicy(overrides: Partial<SessionPolicy> = {}): SessionPolicy {
  return {
    idleTimeoutMs: 30 * MIN,
    absoluteTimeoutMs: 120 * MIN,
    rotationIntervalMs: 15 * MIN,
    rotationGraceMs: 10_000,
    touchIntervalMs: MIN,
    maxConcurrentSessions: 3,
    concurrentSessionPolicy: 'evict-oldest',
    rememberIdleTimeoutMs: 30 * DAY,
    rememberAbsoluteTimeoutMs: 90 * DAY,
    impersonationMaxAgeMs: 60 * MIN,
    ...overrides,
  };
}

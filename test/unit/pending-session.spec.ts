/**
 * Pending sessions (password proven, second factor due): the `pendingTimeout` option, the short absolute deadline it
 * gives them until they complete, and their place outside the concurrent-session limit until then. Time moves with
 * the library's ManualClock, never by sleeping; the store is the real in-memory one (the same rules hold in every
 * store: see the conformance suite in lib/testing).
 */
import { ManualClock } from '../../lib/core/clock';
import { SessionOptionsError, TooManySessionsError } from '../../lib/core/errors';
import { absoluteCap, countsTowardLimit, DEFAULT_PENDING_TIMEOUT_MS, startsCounting } from '../../lib/core/lifecycle';
import { SessionManager, SessionPolicy } from '../../lib/core/session-manager';
import { SecurityEvent } from '../../lib/events/security-event';
import { SecurityEventBus } from '../../lib/events/security-event-bus';
import { resolveSessionOptions, SESSION_DEFAULTS } from '../../lib/session.options';
import { InMemorySessionStore } from '../../lib/stores/memory/in-memory-session.store';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const client = { ip: '198.51.100.4', userAgent: 'UnitTest/1.0' };

function problemsOf(raw: Parameters<typeof resolveSessionOptions>[0]): string {
  try {
    resolveSessionOptions(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(SessionOptionsError);
    return (e as Error).message;
  }
  throw new Error('expected the options to be rejected');
}

function setup(policy: Partial<SessionPolicy> = {}) {
  const clock = new ManualClock(Date.parse('2026-11-26T08:00:00Z'));
  const store = new InMemorySessionStore();
  const events: SecurityEvent[] = [];
  const manager = new SessionManager(
    store,
    clock,
    {
      idleTimeoutMs: 30 * MIN,
      absoluteTimeoutMs: 12 * HOUR,
      // Periodic rotation off: these tests follow one token through time.
      rotationIntervalMs: Number.POSITIVE_INFINITY,
      rotationGraceMs: 10_000,
      touchIntervalMs: MIN,
      maxConcurrentSessions: 2,
      concurrentSessionPolicy: 'evict-oldest',
      rememberIdleTimeoutMs: 30 * DAY,
      rememberAbsoluteTimeoutMs: 90 * DAY,
      impersonationMaxAgeMs: HOUR,
      pendingTimeoutMs: 5 * MIN,
      ...policy,
    },
    new SecurityEventBus([{ handle: (e) => void events.push(e) }]),
  );
  return { clock, store, events, manager };
}

/** The session a resolve found, or a failure naming what it found instead. */
function activeOf(outcome: Awaited<ReturnType<SessionManager['resolve']>>) {
  if (outcome.kind !== 'active') throw new Error(`expected an active session, got ${JSON.stringify(outcome)}`);
  return outcome.session;
}

describe('pendingTimeout option', () => {
  it('defaults to 5 minutes, in milliseconds', () => {
    expect(SESSION_DEFAULTS.pendingTimeoutMs).toBe(300_000);
    expect(DEFAULT_PENDING_TIMEOUT_MS).toBe(300_000);
    expect(resolveSessionOptions().pendingTimeoutMs).toBe(300_000);
  });

  it('accepts the duration forms of the other timeouts', () => {
    expect(resolveSessionOptions({ pendingTimeout: '2m' }).pendingTimeoutMs).toBe(120_000);
    expect(resolveSessionOptions({ pendingTimeout: '90s' }).pendingTimeoutMs).toBe(90_000);
    expect(resolveSessionOptions({ pendingTimeout: 45_000 }).pendingTimeoutMs).toBe(45_000);
    expect(resolveSessionOptions({ pendingTimeout: '1500ms' }).pendingTimeoutMs).toBe(1500);
    // As long as the absolute timeout is allowed.
    expect(resolveSessionOptions({ pendingTimeout: '12h' }).pendingTimeoutMs).toBe(12 * HOUR);
  });

  it('refuses a pendingTimeout that is not a positive duration, naming it and the accepted forms', () => {
    expect(problemsOf({ pendingTimeout: 'soon' })).toMatch(
      /pendingTimeout is "soon": give milliseconds \(a number >= 0\) or a string such as "30s"/,
    );
    expect(problemsOf({ pendingTimeout: -1 })).toMatch(/pendingTimeout is -1: give milliseconds/);
    expect(problemsOf({ pendingTimeout: 0 })).toMatch(/pendingTimeout is 0ms: it must be at least 1s/);
    expect(problemsOf({ pendingTimeout: Number.NaN })).toMatch(/pendingTimeout is null: give milliseconds/);
  });

  it('refuses a pendingTimeout longer than the absolute timeout, and says how to fix it', () => {
    expect(problemsOf({ pendingTimeout: '13h' })).toMatch(
      /pendingTimeout \(13h\) is longer than absoluteTimeout \(12h\): set pendingTimeout <= absoluteTimeout \(e\.g\. 5m\)/,
    );
    expect(problemsOf({ absoluteTimeout: '1h', idleTimeout: '10m', pendingTimeout: '2h' })).toContain(
      'pendingTimeout (2h) is longer than absoluteTimeout (1h)',
    );
    // Listed with the other problems, all at once.
    expect(problemsOf({ pendingTimeout: '13h', idleTimeout: 'x' }).split('\n  - ')).toHaveLength(3);
  });

  it('keeps the default within a shorter absolute timeout instead of refusing options that never mention it', () => {
    expect(resolveSessionOptions({ idleTimeout: '1m', absoluteTimeout: '3m' }).pendingTimeoutMs).toBe(3 * MIN);
  });
});

describe('lifecycle rules for pending sessions', () => {
  const T = Date.parse('2026-11-26T08:00:00Z');

  it('absoluteCap: a pending session is capped at its creation plus pendingTimeoutMs; a complete one is not', () => {
    expect(absoluteCap({ createdAt: T, impersonatedBy: null, stage: 'pending' }, HOUR, 5 * MIN)).toBe(T + 5 * MIN);
    expect(absoluteCap({ createdAt: T, impersonatedBy: null, stage: 'complete' }, HOUR, 5 * MIN)).toBe(Number.POSITIVE_INFINITY);
    // A record stored before stages existed is complete.
    expect(absoluteCap({ createdAt: T, impersonatedBy: null }, HOUR, 5 * MIN)).toBe(Number.POSITIVE_INFINITY);
    // Both caps: the earlier wins.
    expect(absoluteCap({ createdAt: T, impersonatedBy: 'admin', stage: 'pending' }, HOUR, 5 * MIN)).toBe(T + 5 * MIN);
    expect(absoluteCap({ createdAt: T, impersonatedBy: 'admin', stage: 'pending' }, 2 * MIN, 5 * MIN)).toBe(T + 2 * MIN);
  });

  it('countsTowardLimit and startsCounting: only completing a session of the user themselves starts it counting', () => {
    expect(countsTowardLimit({ impersonatedBy: null, stage: 'pending' })).toBe(false);
    expect(countsTowardLimit({ impersonatedBy: null, stage: 'complete' })).toBe(true);
    expect(countsTowardLimit({ impersonatedBy: null })).toBe(true);
    expect(countsTowardLimit({ impersonatedBy: 'admin', stage: 'complete' })).toBe(false);
    expect(startsCounting({ impersonatedBy: null, stage: 'pending' }, { impersonatedBy: null, stage: 'complete' })).toBe(true);
    expect(startsCounting({ impersonatedBy: null, stage: 'pending' }, { impersonatedBy: null, stage: 'pending' })).toBe(false);
    expect(startsCounting({ impersonatedBy: null, stage: 'complete' }, { impersonatedBy: null, stage: 'complete' })).toBe(false);
    expect(startsCounting({ impersonatedBy: 'admin', stage: 'pending' }, { impersonatedBy: 'admin', stage: 'complete' })).toBe(false);
  });
});

describe('SessionManager: the pending deadline', () => {
  it('caps a pending session at pendingTimeout from its creation; past it the session expires like any timed-out one', async () => {
    const { manager, clock, events } = setup();
    const { token, session } = await manager.create({ userId: 'alice', client, stage: 'pending' });
    const createdAt = clock.now();
    expect(session.record).toMatchObject({ stage: 'pending', absoluteExpiresAt: createdAt + 5 * MIN, idleExpiresAt: createdAt + 5 * MIN });
    clock.advance(5 * MIN - 1);
    expect(activeOf(await manager.resolve(token, client)).record.stage).toBe('pending');
    clock.advance(1);
    expect(await manager.resolve(token, client)).toMatchObject({ kind: 'expired', reason: 'absolute_timeout' });
    expect(events.filter((e) => e.type === 'session_expired').map((e) => e.reason)).toEqual(['absolute_timeout']);
    expect(await manager.resolve(token, client)).toEqual({ kind: 'unknown' });
  });

  it('uses 5 minutes when the policy names no pendingTimeoutMs, and caps a remembered pending session too', async () => {
    const { manager, clock } = setup({ pendingTimeoutMs: undefined });
    const plain = await manager.create({ userId: 'alice', client, stage: 'pending' });
    expect(plain.session.record.absoluteExpiresAt).toBe(clock.now() + DEFAULT_PENDING_TIMEOUT_MS);
    const remembered = await manager.create({ userId: 'alice', client, stage: 'pending', remember: true });
    expect(remembered.session.record).toMatchObject({
      tier: 'remember',
      absoluteExpiresAt: clock.now() + 5 * MIN,
      idleExpiresAt: clock.now() + 5 * MIN,
    });
    // A complete session of the same module keeps its full lifetime.
    const complete = await manager.create({ userId: 'alice', client });
    expect(complete.session.record.absoluteExpiresAt).toBe(clock.now() + 12 * HOUR);
  });

  it('a shorter idle timeout still ends a pending session first', async () => {
    const { manager, clock } = setup({ idleTimeoutMs: 2 * MIN, touchIntervalMs: 10_000 });
    const { token } = await manager.create({ userId: 'alice', client, stage: 'pending' });
    clock.advance(2 * MIN);
    expect(await manager.resolve(token, client)).toMatchObject({ kind: 'expired', reason: 'idle_timeout' });
  });

  it('re-authentication does not lengthen a pending session', async () => {
    const { manager, clock } = setup();
    const { session } = await manager.create({ userId: 'alice', client, stage: 'pending' });
    const createdAt = clock.now();
    clock.advance(4 * MIN);
    const token = await manager.reauthenticate(session, client);
    expect(session.record).toMatchObject({ stage: 'pending', absoluteExpiresAt: createdAt + 5 * MIN });
    clock.advance(MIN);
    expect(await manager.resolve(token!, client)).toMatchObject({ kind: 'expired', reason: 'absolute_timeout' });
  });

  it('completion lifts the cap: the completed session gets the full timeouts of its tier from then on', async () => {
    const { manager, clock, store } = setup();
    const { session } = await manager.create({ userId: 'alice', client, stage: 'pending' });
    const createdAt = clock.now();
    clock.advance(4 * MIN);
    const completedAt = clock.now();
    const token = await manager.complete(session, client, 2);
    expect(token).toEqual(expect.any(String));
    expect(session.record).toMatchObject({
      stage: 'complete',
      aal: 2,
      authenticatedAt: completedAt,
      absoluteExpiresAt: completedAt + 12 * HOUR,
      idleExpiresAt: completedAt + 30 * MIN,
      idleTimeoutMs: 30 * MIN,
      createdAt,
    });
    // As stored, not only as returned.
    expect((await store.listByUser('alice', completedAt)).map((s) => s.record.absoluteExpiresAt)).toEqual([completedAt + 12 * HOUR]);
    // Well past the pending cap, the completed session lives on.
    clock.advance(20 * MIN);
    expect(activeOf(await manager.resolve(token!, client)).record.stage).toBe('complete');
  });

  it('a remembered sign-in completes to the remember timeouts', async () => {
    const { manager, clock } = setup();
    const { session } = await manager.create({ userId: 'alice', client, stage: 'pending', remember: true });
    clock.advance(MIN);
    await manager.complete(session, client, 2);
    expect(session.record).toMatchObject({
      tier: 'remember',
      absoluteExpiresAt: clock.now() + 90 * DAY,
      idleExpiresAt: clock.now() + 30 * DAY,
    });
  });

  it('completing a session that is already complete (a step-up) moves no deadline', async () => {
    const { manager, clock } = setup();
    const { session } = await manager.create({ userId: 'alice', client });
    const before = { ...session.record };
    clock.advance(10 * MIN);
    expect(await manager.complete(session, client, 2)).toEqual(expect.any(String));
    expect(session.record).toMatchObject({
      aal: 2,
      authenticatedAt: clock.now(),
      absoluteExpiresAt: before.absoluteExpiresAt,
      idleExpiresAt: before.idleExpiresAt,
    });
  });
});

describe('SessionManager: pending sessions and the concurrent-session limit', () => {
  it('a pending sign-in neither counts nor evicts; its completion evicts the oldest other session and says so', async () => {
    const { manager, clock, events } = setup({ maxConcurrentSessions: 2 });
    const first = await manager.create({ userId: 'alice', client });
    clock.advance(1);
    const second = await manager.create({ userId: 'alice', client });
    clock.advance(1);
    const waiting = await manager.create({ userId: 'alice', client, stage: 'pending' });
    // At the limit, yet nothing was evicted for the pending sign-in.
    expect((await manager.list('alice')).map((s) => s.record.handle)).toEqual([
      first.session.record.handle,
      second.session.record.handle,
      waiting.session.record.handle,
    ]);
    expect(events.filter((e) => e.type === 'excess_sessions_exceeded')).toEqual([]);
    clock.advance(MIN);
    await manager.complete(waiting.session, client, 2);
    expect(await manager.resolve(first.token, client)).toEqual({ kind: 'unknown' });
    expect(activeOf(await manager.resolve(second.token, client)).record.handle).toBe(second.session.record.handle);
    expect((await manager.list('alice')).map((s) => s.record.handle)).toEqual([
      second.session.record.handle,
      waiting.session.record.handle,
    ]);
    expect(events.filter((e) => e.type === 'excess_sessions_exceeded')).toEqual([
      expect.objectContaining({
        sessionHandle: first.session.record.handle,
        reason: 'oldest_revoked',
        detail: { limit: 2, newSession: waiting.session.record.handle },
      }),
    ]);
    expect(events.filter((e) => e.type === 'session_expired').map((e) => [e.sessionHandle, e.reason])).toEqual([
      [first.session.record.handle, 'excess_sessions'],
    ]);
  });

  it("'deny-new': a pending sign-in is created at the limit; its completion is refused, and the session stays pending", async () => {
    const { manager, clock, events } = setup({ maxConcurrentSessions: 1, concurrentSessionPolicy: 'deny-new' });
    const laptop = await manager.create({ userId: 'alice', client });
    clock.advance(1);
    const waiting = await manager.create({ userId: 'alice', client, stage: 'pending' });
    const pendingRecord = { ...waiting.session.record };
    clock.advance(MIN);
    const error = await manager.complete(waiting.session, client, 2).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TooManySessionsError);
    expect(error).toMatchObject({ userId: 'alice', limit: 1, sessions: [laptop.session.record] });
    expect(events.filter((e) => e.type === 'excess_sessions_exceeded')).toEqual([
      expect.objectContaining({
        userId: 'alice',
        sessionHandle: pendingRecord.handle,
        reason: 'denied',
        outcome: 'failure',
        level: 'WARN',
        detail: { limit: 1, live: 1 },
      }),
    ]);
    // Nothing changed: same token, same id, still pending, still within its pendingTimeout.
    const still = activeOf(await manager.resolve(waiting.token, client));
    expect(still.id).toBe(waiting.session.id);
    expect(still.record).toMatchObject({
      stage: 'pending',
      aal: 1,
      version: pendingRecord.version,
      absoluteExpiresAt: pendingRecord.absoluteExpiresAt,
    });
    expect(waiting.session.record).toEqual(pendingRecord);
    // Once the laptop is signed out there is room, and the completion goes through.
    expect(await manager.revoke('alice', laptop.session.record.handle)).toBe(true);
    const token = await manager.complete(waiting.session, client, 2);
    expect(token).toEqual(expect.any(String));
    expect(waiting.session.record).toMatchObject({ stage: 'complete', absoluteExpiresAt: clock.now() + 12 * HOUR });
  });

  it('asks maxConcurrentSessionsFor at the completion (with the roles snapshot), not when the pending sign-in is created', async () => {
    const asked: unknown[] = [];
    const { manager } = setup({
      maxConcurrentSessionsFor: (user) => {
        asked.push(user);
        return 1;
      },
      concurrentSessionPolicy: 'deny-new',
    });
    await manager.create({ userId: 'root', client, roles: ['admin'] });
    expect(asked).toHaveLength(1);
    const waiting = await manager.create({ userId: 'root', client, roles: ['admin'], stage: 'pending' });
    expect(asked).toHaveLength(1);
    await expect(manager.complete(waiting.session, client, 2)).rejects.toBeInstanceOf(TooManySessionsError);
    expect(asked).toEqual([
      { userId: 'root', roles: ['admin'] },
      { userId: 'root', roles: ['admin'] },
    ]);
  });

  it('impersonation sessions stay out of it: a pending impersonation completes without counting', async () => {
    const { manager, clock } = setup({ maxConcurrentSessions: 1, concurrentSessionPolicy: 'deny-new' });
    await manager.create({ userId: 'alice', client });
    const imp = await manager.create({ userId: 'alice', client, stage: 'pending', impersonatedBy: 'admin-1' });
    expect(imp.session.record.absoluteExpiresAt).toBe(clock.now() + 5 * MIN);
    clock.advance(MIN);
    await manager.complete(imp.session, client, 2);
    // The impersonation cap (1 h from creation) applies from then on, not the pending one.
    expect(imp.session.record).toMatchObject({ stage: 'complete', absoluteExpiresAt: imp.session.record.createdAt + HOUR });
    expect((await manager.list('alice')).length).toBe(2);
  });
});

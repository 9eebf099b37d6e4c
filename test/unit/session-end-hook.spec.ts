/**
 * SessionManager.onSessionsEnded: listeners are awaited whenever sessions end explicitly (logout, revocation by
 * handle, logout everywhere, a request-time check ending one, an eviction beyond the concurrent-session limit), never
 * for a timeout; a listener's store outage is a
 * SessionStoreUnavailableError (503), after the sessions have ended. ApiTokenModule hangs token revocation on it.
 */
import { InMemorySessionStore, ManualClock, SecurityEventBus, SessionCheck, SessionsEnded, TokenStoreUnavailableError } from '../../lib';
import { SessionStoreUnavailableError } from '../../lib/core/errors';
import { SessionManager } from '../../lib/core/session-manager';
import { testPolicy } from '../support/session-policy';

const MIN = 60_000;
const client = { ip: '198.51.100.4', userAgent: 'UnitTest/1.0' };

function setup(checks: SessionCheck[] = [], maxConcurrentSessions = 0) {
  const clock = new ManualClock(Date.parse('2026-11-30T08:00:00Z'));
  const store = new InMemorySessionStore();
  const manager = new SessionManager(
    store,
    clock,
    testPolicy({ rotationIntervalMs: Number.POSITIVE_INFINITY, maxConcurrentSessions }),
    new SecurityEventBus(),
    checks,
  );
  const ended: SessionsEnded[] = [];
  manager.onSessionsEnded(async (e) => {
    await Promise.resolve();
    ended.push(e);
  });
  return { clock, manager, ended };
}

describe('SessionManager.onSessionsEnded', () => {
  it('is awaited on logout, revocation by handle and logout everywhere (also with no other session)', async () => {
    const t = setup();
    const a = await t.manager.create({ userId: 'alice', client });
    await t.manager.destroy(a.session, client);
    expect(t.ended).toEqual([{ userId: 'alice', handles: [a.session.record.handle], reason: 'logout', allOfUser: false }]);
    const b = await t.manager.create({ userId: 'alice', client });
    expect(await t.manager.revoke('alice', b.session.record.handle)).toBe(true);
    expect(t.ended[1]).toEqual({ userId: 'alice', handles: [b.session.record.handle], reason: 'revoked', allOfUser: false });
    const c = await t.manager.create({ userId: 'alice', client });
    const d = await t.manager.create({ userId: 'alice', client });
    expect(await t.manager.destroyAllForUser('alice', client, { exceptId: d.session.id, reason: 'password_change' })).toBe(1);
    expect(t.ended[2]).toEqual({ userId: 'alice', handles: [c.session.record.handle], reason: 'password_change', allOfUser: true });
    expect(await t.manager.destroyAllForUser('nobody')).toBe(0);
    expect(t.ended[3]).toEqual({ userId: 'nobody', handles: [], reason: 'logout_everywhere', allOfUser: true });
  });

  it('is called when a request-time check ends a session, and not when a session times out', async () => {
    let end = false;
    const t = setup([{ name: 'ender', check: () => (end ? { action: 'end', reason: 'binding' } : undefined) }]);
    const timedOut = await t.manager.create({ userId: 'bob', client });
    t.clock.advance(31 * MIN);
    expect((await t.manager.resolve(timedOut.token, client)).kind).toBe('expired');
    expect(t.ended).toEqual([]);
    const s = await t.manager.create({ userId: 'bob', client });
    end = true;
    expect((await t.manager.resolve(s.token, client)).kind).toBe('ended');
    expect(t.ended).toEqual([{ userId: 'bob', handles: [s.session.record.handle], reason: 'binding', allOfUser: false }]);
  });

  it('is called for the oldest sessions a login evicts beyond the concurrent-session limit', async () => {
    const t = setup([], 2);
    const first = await t.manager.create({ userId: 'carol', client });
    t.clock.advance(1000);
    const second = await t.manager.create({ userId: 'carol', client });
    t.clock.advance(1000);
    expect(t.ended).toEqual([]);
    await t.manager.create({ userId: 'carol', client });
    expect(t.ended).toEqual([{ userId: 'carol', handles: [first.session.record.handle], reason: 'excess_sessions', allOfUser: false }]);
    expect((await t.manager.resolve(second.token, client)).kind).toBe('active');
  });

  it('turns a listener\u2019s store outage into SessionStoreUnavailableError (503), after the session ended', async () => {
    const t = setup();
    t.manager.onSessionsEnded(() => Promise.reject(new TokenStoreUnavailableError('denySession', new Error('ECONNREFUSED'))));
    const a = await t.manager.create({ userId: 'alice', client });
    await expect(t.manager.destroy(a.session, client)).rejects.toBeInstanceOf(SessionStoreUnavailableError);
    expect((await t.manager.resolve(a.token, client)).kind).not.toBe('active');
  });
});

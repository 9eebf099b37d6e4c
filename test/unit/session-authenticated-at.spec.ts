import { ManualClock } from '../../lib/core/clock';
import { SessionInputError } from '../../lib/core/errors';
import { AUTHENTICATED_AT_MAX_SKEW_MS, SessionManager } from '../../lib/core/session-manager';
import { SecurityEventBus } from '../../lib/events/security-event-bus';
import { InMemorySessionStore } from '../../lib/stores/memory/in-memory-session.store';
import { testPolicy } from '../support/session-policy';

const MIN = 60_000;
const client = { ip: '198.51.100.4', userAgent: 'UnitTest/1.0' };

/** `authenticatedAt` given by the caller (a federated login's `auth_time`), on create and on re-authentication. */
function setup() {
  const clock = new ManualClock(Date.parse('2026-11-30T08:00:00Z'));
  const manager = new SessionManager(new InMemorySessionStore(), clock, testPolicy(), new SecurityEventBus([]));
  return { clock, manager };
}

describe('SessionManager: a given authenticatedAt', () => {
  it('creates the session with the given time, the deadlines still running from now', async () => {
    const { clock, manager } = setup();
    const authTime = clock.now() - 7 * MIN;
    const { session } = await manager.create({ userId: 'u1', client, authenticatedAt: authTime });
    expect(session.record.authenticatedAt).toBe(authTime);
    expect(session.record.createdAt).toBe(clock.now());
    expect(session.record.idleExpiresAt).toBe(clock.now() + 30 * MIN);
  });

  it('defaults to now and clamps a time within the allowed skew to now', async () => {
    const { clock, manager } = setup();
    expect((await manager.create({ userId: 'u1', client })).session.record.authenticatedAt).toBe(clock.now());
    const skewed = await manager.create({ userId: 'u1', client, authenticatedAt: clock.now() + AUTHENTICATED_AT_MAX_SKEW_MS });
    expect(skewed.session.record.authenticatedAt).toBe(clock.now());
  });

  it.each([
    ['in the future beyond the skew', (now: number) => now + AUTHENTICATED_AT_MAX_SKEW_MS + 1],
    ['not a whole number', (now: number) => now + 0.5],
    ['not a number', () => '1700000000000' as unknown as number],
    ['NaN', () => Number.NaN],
    ['zero', () => 0],
  ])('refuses a time %s, creating nothing', async (_label, value) => {
    const { clock, manager } = setup();
    await expect(manager.create({ userId: 'u1', client, authenticatedAt: value(clock.now()) })).rejects.toThrow(SessionInputError);
    await expect(manager.create({ userId: 'u1', client, authenticatedAt: value(clock.now()) })).rejects.toThrow(/authenticatedAt/);
    expect(await manager.list('u1')).toHaveLength(0);
  });

  it('re-authenticates with the given time and refuses a future one', async () => {
    const { clock, manager } = setup();
    const { session } = await manager.create({ userId: 'u1', client });
    clock.advance(20 * MIN);
    const authTime = clock.now() - 2_000;
    expect(await manager.reauthenticate(session, client, { authenticatedAt: authTime })).toEqual(expect.any(String));
    expect(session.record.authenticatedAt).toBe(authTime);
    expect(session.record.absoluteExpiresAt).toBe(clock.now() + 120 * MIN);
    await expect(manager.reauthenticate(session, client, { authenticatedAt: clock.now() + 5 * MIN })).rejects.toThrow(SessionInputError);
    expect(session.record.authenticatedAt).toBe(authTime);
    // Without one, now.
    await manager.reauthenticate(session, client);
    expect(session.record.authenticatedAt).toBe(clock.now());
  });
});

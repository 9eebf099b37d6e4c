/**
 * The request-time check seam of SessionManager.resolve: checks answering synchronously or with a promise, in order,
 * and the `challenge` verdict (authentication voided with compare-and-set, no rotation), with a real in-memory store.
 */
import { AUTHENTICATION_VOIDED, ManualClock, SecurityEvent, SecurityEventBus, SessionCheck } from '../../lib';
import { SessionManager } from '../../lib/core/session-manager';
import { hashToken } from '../../lib/core/token';
import { InMemorySessionStore } from '../../lib/stores/memory/in-memory-session.store';
import { testPolicy } from '../support/session-policy';

const MIN = 60_000;
const client = { ip: '192.0.2.1', userAgent: 'UnitTest/1.0' };

function setup(checks: SessionCheck[]) {
  const clock = new ManualClock(Date.parse('2026-11-30T08:00:00Z'));
  const store = new InMemorySessionStore();
  const events: SecurityEvent[] = [];
  const manager = new SessionManager(
    store,
    clock,
    testPolicy({ rotationIntervalMs: Number.POSITIVE_INFINITY, maxConcurrentSessions: 0 }),
    new SecurityEventBus([{ handle: (e) => void events.push(e) }]),
    checks,
  );
  return { clock, store, events, manager };
}

describe('request-time checks', () => {
  it('run in order whether they answer at once or with a promise; the first end wins', async () => {
    const ran: string[] = [];
    const t = setup([
      { name: 'sync-allow', check: () => void ran.push('sync-allow') },
      {
        name: 'async-record',
        check: async () => {
          ran.push('async-record');
          return { action: 'record', event: { type: 'session_binding_mismatch', reason: 'noted' } };
        },
      },
      { name: 'sync-allow-2', check: () => (ran.push('sync-allow-2'), { action: 'allow' }) },
      { name: 'sync-end', check: () => (ran.push('sync-end'), { action: 'end', reason: 'bye' }) },
      { name: 'never', check: () => void ran.push('never') },
    ]);
    const { token } = await t.manager.create({ userId: 'alice', client });
    expect(await t.manager.resolve(token, client)).toMatchObject({ kind: 'ended', reason: 'bye' });
    expect(ran).toEqual(['sync-allow', 'async-record', 'sync-allow-2', 'sync-end']);
    expect(t.events.find((e) => e.type === 'session_binding_mismatch')).toMatchObject({
      reason: 'noted',
      detail: { check: 'async-record' },
    });
  });

  it('a check that throws at once fails the resolution (a bug, not a verdict)', async () => {
    const t = setup([
      {
        name: 'broken',
        check: () => {
          throw new Error('bug');
        },
      },
    ]);
    const { token } = await t.manager.create({ userId: 'alice', client });
    await expect(t.manager.resolve(token, client)).rejects.toThrow('bug');
  });

  describe('challenge', () => {
    it('voids the authentication without rotating, keeping a write that raced it, and emits the event once', async () => {
      const shared: { store?: InMemorySessionStore; id: string } = { id: '' };
      const t = setup([
        {
          name: 'racy',
          check: async ({ session, now }) => {
            // Another request writes the session between this read and the challenge: its data must survive.
            await shared.store!.update(shared.id, session.version, { data: { cart: ['sku-1'] } }, now);
            return { action: 'challenge', reason: 'ip_changed', event: { type: 'session_binding_mismatch' } };
          },
        },
      ]);
      shared.store = t.store;
      const { token } = await t.manager.create({ userId: 'alice', client });
      const id = (shared.id = hashToken(token));
      const outcome = await t.manager.resolve(token, client);
      expect(outcome.kind).toBe('active');
      if (outcome.kind !== 'active') return;
      expect(outcome.issuedToken).toBeUndefined();
      expect(outcome.session.id).toBe(id);
      expect(outcome.session.record).toMatchObject({ authenticatedAt: AUTHENTICATION_VOIDED, data: { cart: ['sku-1'] } });
      const stored = await t.store.read(id, { now: t.clock.now(), idleTimeoutMs: 30 * MIN, touchIntervalMs: MIN });
      expect(stored.status === 'active' && stored.record).toMatchObject({
        authenticatedAt: AUTHENTICATION_VOIDED,
        data: { cart: ['sku-1'] },
      });
      expect(t.events.filter((e) => e.type === 'session_binding_mismatch')).toHaveLength(1);
    });

    it('writes nothing when the authentication is already void, and answers unknown when the session is gone', async () => {
      const shared: { store?: InMemorySessionStore; id: string; destroy: boolean } = { id: '', destroy: false };
      const t = setup([
        {
          name: 'challenger',
          check: async () => {
            if (shared.destroy) await shared.store!.destroy(shared.id);
            return { action: 'challenge', reason: 'again' };
          },
        },
      ]);
      shared.store = t.store;
      const { token } = await t.manager.create({ userId: 'alice', client });
      const first = await t.manager.resolve(token, client);
      const version = first.kind === 'active' ? first.session.record.version : -1;
      const second = await t.manager.resolve(token, client);
      expect(second.kind === 'active' && second.session.record.version).toBe(version);
      // Another session, ended by someone else before its challenge is written.
      const other = await t.manager.create({ userId: 'bob', client });
      shared.id = hashToken(other.token);
      shared.destroy = true;
      expect((await t.manager.resolve(other.token, client)).kind).toBe('unknown');
    });
  });
});

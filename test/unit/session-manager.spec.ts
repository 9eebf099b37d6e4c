import { ManualClock } from '../../lib/core/clock';
import { SessionInputError, SessionStoreConnectionError, SessionStoreUnavailableError } from '../../lib/core/errors';
import { SessionManager, SessionPolicy } from '../../lib/core/session-manager';
import { generateToken, hashToken } from '../../lib/core/token';
import { SecurityEvent } from '../../lib/events/security-event';
import { SecurityEventBus } from '../../lib/events/security-event-bus';
import { InMemorySessionStore } from '../../lib/stores/memory/in-memory-session.store';

const MIN = 60_000;
const client = { ip: '198.51.100.4', userAgent: 'UnitTest/1.0' };

function setup(policy: Partial<SessionPolicy> = {}) {
  const clock = new ManualClock(Date.parse('2026-11-26T08:00:00Z'));
  const store = new InMemorySessionStore();
  const events: SecurityEvent[] = [];
  const bus = new SecurityEventBus([{ handle: (e) => void events.push(e) }]);
  const manager = new SessionManager(
    store,
    clock,
    {
      idleTimeoutMs: 30 * MIN,
      absoluteTimeoutMs: 120 * MIN,
      rotationIntervalMs: 15 * MIN,
      rotationGraceMs: 10_000,
      touchIntervalMs: MIN,
      maxConcurrentSessions: 3,
      concurrentSessionPolicy: 'evict-oldest',
      rememberIdleTimeoutMs: 30 * 86_400_000,
      rememberAbsoluteTimeoutMs: 90 * 86_400_000,
      impersonationMaxAgeMs: 3_600_000,
      ...policy,
    },
    bus,
  );
  return { clock, store, events, manager };
}

describe('SessionManager', () => {
  it('creates a session with a fresh 256-bit token stored only as its hash', async () => {
    const { manager, store, events, clock } = setup();
    const { token, session } = await manager.create({ userId: 'alice', client });
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session.id).toBe(hashToken(token));
    expect(session.record).toMatchObject({
      userId: 'alice',
      createdAt: clock.now(),
      idleExpiresAt: clock.now() + 30 * MIN,
      absoluteExpiresAt: clock.now() + 120 * MIN,
      authenticatedAt: clock.now(),
      aal: 1,
      ip: client.ip,
      userAgent: client.userAgent,
    });
    expect((await store.listByUser('alice', clock.now()))[0].id).toBe(hashToken(token));
    expect(events.map((e) => e.type)).toEqual(['session_created']);
    expect(JSON.stringify(events)).not.toContain(token);
    expect(JSON.stringify(events)).not.toContain(session.id);
  });

  it('destroys the pre-login session on login and carries over only requested data', async () => {
    const { manager } = setup();
    const before = await manager.create({ userId: 'anon-cart', client, data: { cart: ['x'], secret: 1 } });
    const after = await manager.create({ userId: 'alice', client, previousToken: before.token, carryOver: ['cart'] });
    expect(after.token).not.toBe(before.token);
    expect(after.session.record.data).toEqual({ cart: ['x'] });
    expect(await manager.resolve(before.token, client)).toEqual({ kind: 'unknown' });
  });

  it('classifies absent, malformed and unknown tokens without touching the store for malformed ones', async () => {
    const { manager, store } = setup();
    const read = jest.spyOn(store, 'read');
    expect(await manager.resolve(undefined, client)).toEqual({ kind: 'none' });
    expect(await manager.resolve('not-a-token', client)).toEqual({ kind: 'malformed' });
    expect(await manager.resolve("' OR 1=1 --", client)).toEqual({ kind: 'malformed' });
    expect(read).not.toHaveBeenCalled();
    expect(await manager.resolve(generateToken(), client)).toEqual({ kind: 'unknown' });
  });

  it('enforces the idle timeout; activity resets it', async () => {
    const { manager, clock, events } = setup({ rotationIntervalMs: Number.POSITIVE_INFINITY });
    const { token } = await manager.create({ userId: 'alice', client });
    clock.advance(29 * MIN);
    expect((await manager.resolve(token, client)).kind).toBe('active');
    clock.advance(29 * MIN);
    expect((await manager.resolve(token, client)).kind).toBe('active');
    clock.advance(30 * MIN);
    const out = await manager.resolve(token, client);
    expect(out).toMatchObject({ kind: 'expired', reason: 'idle_timeout' });
    expect(events.filter((e) => e.type === 'session_expired').map((e) => e.reason)).toEqual(['idle_timeout']);
    expect(events.some((e) => e.type === 'session_use_after_expire')).toBe(true);
    expect(await manager.resolve(token, client)).toEqual({ kind: 'unknown' });
  });

  it('enforces the absolute timeout however active, across rotations', async () => {
    const { manager, clock } = setup({ rotationIntervalMs: 5 * MIN, rotationGraceMs: 0 });
    let { token } = await manager.create({ userId: 'alice', client });
    for (let t = 0; t < 119; t += 7) {
      clock.advance(7 * MIN);
      const out = await manager.resolve(token, client);
      expect(out.kind).toBe('active');
      if (out.kind !== 'active') break;
      if (out.issuedToken) token = out.issuedToken;
    }
    clock.set(clock.now() + 1); // past 120 minutes since login in total
    while (clock.now() < Date.parse('2026-11-26T10:00:00Z')) clock.advance(MIN);
    expect(await manager.resolve(token, client)).toMatchObject({ kind: 'expired', reason: 'absolute_timeout' });
  });

  it('rotates periodically with one successor; the old token works only within grace', async () => {
    const { manager, clock, events } = setup();
    const { token, session } = await manager.create({ userId: 'alice', client });
    clock.advance(15 * MIN);
    const results = await Promise.all(Array.from({ length: 20 }, () => manager.resolve(token, client)));
    const issued = results.flatMap((r) => (r.kind === 'active' && r.issuedToken ? [r.issuedToken] : []));
    expect(issued).toHaveLength(1);
    const ids = new Set(results.map((r) => (r.kind === 'active' ? r.session.id : 'none')));
    expect(ids).toEqual(new Set([hashToken(issued[0])]));
    for (const r of results) expect(r.kind === 'active' && r.session.record.handle).toBe(session.record.handle);
    expect(events.filter((e) => e.type === 'session_renewed')).toHaveLength(1);
    clock.advance(9_999);
    expect((await manager.resolve(token, client)).kind).toBe('active');
    clock.advance(1);
    // Past the grace window the old id never authenticates; it is a tombstone until forgotten.
    expect(await manager.resolve(token, client)).toEqual({ kind: 'rotated' });
    expect((await manager.resolve(issued[0], client)).kind).toBe('active');
    clock.advance(60_000);
    expect(await manager.resolve(token, client)).toEqual({ kind: 'unknown' });
  });

  it('keeps identity, absolute deadline and binding across rotation', async () => {
    const { manager, clock } = setup();
    const { token, session } = await manager.create({ userId: 'alice', client });
    clock.advance(16 * MIN);
    const out = await manager.resolve(token, { ip: '192.0.2.9', userAgent: 'Other' });
    expect(out.kind === 'active' && out.issuedToken).toBeTruthy();
    const rec = out.kind === 'active' ? out.session.record : undefined;
    expect(rec).toMatchObject({
      handle: session.record.handle,
      userId: 'alice',
      createdAt: session.record.createdAt,
      absoluteExpiresAt: session.record.absoluteExpiresAt,
      ip: client.ip,
      userAgent: client.userAgent,
    });
  });

  it('rotates at the next request after a privilege change, and the old token dies at once', async () => {
    const { manager } = setup();
    const a = await manager.create({ userId: 'bob', client });
    const b = await manager.create({ userId: 'bob', client });
    expect(await manager.bumpPrivileges('bob')).toBe(2);
    const out = await manager.resolve(a.token, client);
    expect(out.kind === 'active' && out.issuedToken).toBeTruthy();
    expect(out.kind === 'active' && out.session.record).toMatchObject({ rotateRequired: false, rolesVersion: 1 });
    expect(await manager.resolve(a.token, client)).toEqual({ kind: 'rotated' });
    const outB = await manager.resolve(b.token, client);
    expect(outB.kind === 'active' && outB.issuedToken).toBeTruthy();
  });

  it('re-authentication rotates, sets authenticatedAt and resets both timeouts', async () => {
    const { manager, clock } = setup({ rotationIntervalMs: Number.POSITIVE_INFINITY });
    const { token } = await manager.create({ userId: 'alice', client });
    for (let i = 0; i < 5; i++) {
      clock.advance(20 * MIN);
      expect((await manager.resolve(token, client)).kind).toBe('active');
    }
    const resolved = await manager.resolve(token, client);
    if (resolved.kind !== 'active') throw new Error('expected active');
    const current = resolved.issuedToken ?? token;
    const fresh = await manager.reauthenticate(resolved.session, client, { aal: 2 });
    expect(fresh).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await manager.resolve(current, client)).toEqual({ kind: 'rotated' });
    expect(resolved.session.record).toMatchObject({
      authenticatedAt: clock.now(),
      idleExpiresAt: clock.now() + 30 * MIN,
      absoluteExpiresAt: clock.now() + 120 * MIN,
      aal: 2,
    });
    clock.advance(29 * MIN);
    expect((await manager.resolve(fresh!, client)).kind).toBe('active'); // would be past the old absolute deadline
  });

  it('updates data with compare-and-set: 50 parallel increments all land', async () => {
    const { manager } = setup();
    const { session } = await manager.create({ userId: 'alice', client, data: { n: 0 } });
    await Promise.all(Array.from({ length: 50 }, () => manager.updateData({ ...session }, (d) => ({ ...d, n: (d.n as number) + 1 }))));
    const list = await manager.list('alice');
    expect(list[0].record.data.n).toBe(50);
  });

  it('revokes the oldest beyond the concurrent-session limit and says so', async () => {
    const { manager, clock, events } = setup({ maxConcurrentSessions: 2 });
    const first = await manager.create({ userId: 'alice', client });
    clock.advance(1);
    await manager.create({ userId: 'alice', client });
    clock.advance(1);
    await manager.create({ userId: 'alice', client });
    expect(await manager.resolve(first.token, client)).toEqual({ kind: 'unknown' });
    expect((await manager.list('alice')).length).toBe(2);
    const excess = events.filter((e) => e.type === 'excess_sessions_exceeded');
    expect(excess).toHaveLength(1);
    expect(excess[0].sessionHandle).toBe(first.session.record.handle);
  });

  it('logout, logout everywhere and revoke by handle', async () => {
    const { manager, events } = setup({ maxConcurrentSessions: 0 });
    const a = await manager.create({ userId: 'alice', client });
    const b = await manager.create({ userId: 'alice', client });
    const c = await manager.create({ userId: 'alice', client });
    const other = await manager.create({ userId: 'bob', client });
    await manager.destroy(a.session, client);
    expect(await manager.resolve(a.token, client)).toEqual({ kind: 'unknown' });
    expect(events.some((e) => e.type === 'session_logout')).toBe(true);
    expect(await manager.revoke('bob', b.session.record.handle)).toBe(false);
    expect(await manager.revoke('alice', b.session.record.handle)).toBe(true);
    expect(await manager.resolve(b.token, client)).toEqual({ kind: 'unknown' });
    await manager.create({ userId: 'alice', client });
    expect(await manager.destroyAllForUser('alice', client, { exceptId: c.session.id })).toBe(1);
    expect((await manager.resolve(c.token, client)).kind).toBe('active');
    expect((await manager.resolve(other.token, client)).kind).toBe('active');
  });

  it('turns only connectivity failures into SessionStoreUnavailableError (fail closed); other errors keep their identity', async () => {
    const { manager, store } = setup();
    const read = jest.spyOn(store, 'read');
    read.mockRejectedValueOnce(new SessionStoreConnectionError('connect ECONNREFUSED 127.0.0.1:6379'));
    await expect(manager.resolve(generateToken(), client)).rejects.toThrow(/"read" failed: connect ECONNREFUSED/);
    read.mockRejectedValueOnce(new SessionStoreConnectionError('timeout'));
    await expect(manager.resolve(generateToken(), client)).rejects.toBeInstanceOf(SessionStoreUnavailableError);
    const bug = new TypeError("Cannot read properties of undefined (reading 'x')");
    read.mockRejectedValueOnce(bug);
    await expect(manager.resolve(generateToken(), client)).rejects.toBe(bug);
    // A plain Error that merely mentions ECONNREFUSED is not trusted as an outage: stores must say so by type.
    read.mockRejectedValueOnce(new Error('ECONNREFUSED'));
    await expect(manager.resolve(generateToken(), client)).rejects.not.toBeInstanceOf(SessionStoreUnavailableError);
  });

  it('validates input where it enters: userId and data', async () => {
    const { manager } = setup();
    await expect(manager.create({ userId: '', client })).rejects.toThrow(SessionInputError);
    await expect(manager.create({ userId: 'u'.repeat(256), client })).rejects.toThrow(/userId: has 256 characters; at most 255/);
    await expect(manager.create({ userId: 'alice', client, data: { n: BigInt(1) } })).rejects.toThrow(/data: is not JSON-serialisable/);
    await expect(manager.create({ userId: 'alice', client, data: { big: 'x'.repeat(70_000) } })).rejects.toThrow(/at most 61440/);
    await expect(manager.create({ userId: 'alice', client, aal: 7 })).rejects.toThrow(/aal: must be 1, 2 or 3/);
    const { session } = await manager.create({ userId: 'alice', client });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(manager.updateData(session, () => cyclic)).rejects.toThrow(SessionInputError);
    await expect(manager.updateData(session, () => [] as unknown as Record<string, unknown>)).rejects.toThrow(/plain object/);
    // Nothing was lost or half-written.
    expect((await manager.list('alice'))[0].record.version).toBe(1);
  });

  it('a write that overlaps a periodic rotation follows the successor: nothing lost, no SessionGoneError', async () => {
    const { manager, clock } = setup();
    const { token, session } = await manager.create({ userId: 'alice', client, data: { n: 0 } });
    clock.advance(16 * MIN);
    const slow = { ...session }; // request A loaded the session before the rotation
    const rotated = await manager.resolve(token, client); // request B rotates it
    expect(rotated).toMatchObject({ kind: 'active', issuedToken: expect.any(String) });
    const record = await manager.updateData(slow, (d) => ({ ...d, n: 1 }));
    expect(record.data).toEqual({ n: 1 });
    if (rotated.kind !== 'active') throw new Error('unreachable');
    expect(slow.id).toBe(rotated.session.id);
    await Promise.all(Array.from({ length: 20 }, () => manager.updateData({ ...session }, (d) => ({ ...d, n: (d.n as number) + 1 }))));
    expect((await manager.list('alice'))[0].record.data.n).toBe(21);
  });

  it('privilege change: parallel resolves get one new token, the rest "rotated" (not "unknown")', async () => {
    const { manager } = setup();
    const { token } = await manager.create({ userId: 'alice', client });
    await manager.bumpPrivileges('alice');
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => manager.resolve(token, client)));
    expect(outcomes.filter((o) => o.kind === 'active' && o.issuedToken)).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === 'rotated')).toHaveLength(19);
    expect(await manager.resolve(token, client)).toEqual({ kind: 'rotated' });
  });

  it('a pending session completes with a rotation to stage complete and the given assurance level', async () => {
    const { manager, events } = setup();
    const { token, session } = await manager.create({ userId: 'alice', client, stage: 'pending' });
    expect(session.record.stage).toBe('pending');
    const next = await manager.complete(session, client, 2);
    expect(next).toEqual(expect.any(String));
    expect(session.record).toMatchObject({ stage: 'complete', aal: 2 });
    expect(await manager.resolve(token, client)).toEqual({ kind: 'rotated' });
    expect(events.filter((e) => e.type === 'session_renewed').map((e) => e.reason)).toEqual(['authentication_completed']);
  });

  it('keeps emitting events when a sink throws', async () => {
    const clock = new ManualClock();
    const seen: string[] = [];
    const errors: unknown[] = [];
    const bus = new SecurityEventBus(
      [
        {
          handle: () => {
            throw new Error('sink down');
          },
        },
        {
          handle: async () => {
            throw new Error('async sink down');
          },
        },
        { handle: (e) => void seen.push(e.type) },
      ],
      (e) => errors.push(e),
    );
    const manager = new SessionManager(
      new InMemorySessionStore(),
      clock,
      {
        idleTimeoutMs: MIN,
        absoluteTimeoutMs: MIN,
        rotationIntervalMs: MIN,
        rotationGraceMs: 0,
        touchIntervalMs: 1000,
        maxConcurrentSessions: 0,
        concurrentSessionPolicy: 'evict-oldest',
        rememberIdleTimeoutMs: 30 * 86_400_000,
        rememberAbsoluteTimeoutMs: 90 * 86_400_000,
        impersonationMaxAgeMs: 3_600_000,
      },
      bus,
    );
    await manager.create({ userId: 'alice', client });
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(['session_created']);
    expect(errors).toHaveLength(2);
  });
});

describe('security events', () => {
  it('clip hostile user agents and IPs like the record does', async () => {
    const { manager, events } = setup();
    await manager.create({ userId: 'alice', client: { ip: '1'.repeat(500), userAgent: 'U'.repeat(16_000) } });
    expect(events[0].userAgent).toHaveLength(256);
    expect(events[0].ip).toHaveLength(64);
  });
});

describe('SecurityEventBus', () => {
  it('clips every client-supplied string, whoever emits the event (a 15 KB user agent stays 256 characters)', () => {
    const seen: SecurityEvent[] = [];
    const bus = new SecurityEventBus([{ handle: (e) => void seen.push(e) }]);
    bus.emit({
      type: 'authn_login_fail',
      time: 0,
      level: 'WARN',
      outcome: 'failure',
      userId: 'u'.repeat(1000),
      ip: '1'.repeat(500),
      userAgent: 'A'.repeat(15_000),
      reason: 'r'.repeat(5000),
      detail: { note: 'n'.repeat(5000), count: 3 },
    });
    expect(seen[0].userAgent).toHaveLength(256);
    expect(seen[0].ip).toHaveLength(64);
    expect(seen[0].userId).toHaveLength(255);
    expect(seen[0].reason).toHaveLength(256);
    expect(seen[0].detail).toEqual({ note: 'n'.repeat(256), count: 3 });
    expect(JSON.stringify(seen[0]).length).toBeLessThan(1500);
  });
});

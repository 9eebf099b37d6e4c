import { ManualClock } from '../../lib/core/clock';
import { SessionInputError, SessionStoreConnectionError, SessionStoreUnavailableError, TooManySessionsError } from '../../lib/core/errors';
import { SessionManager, SessionPolicy } from '../../lib/core/session-manager';
import { generateToken, hashToken } from '../../lib/core/token';
import { SecurityEvent } from '../../lib/events/security-event';
import { SecurityEventBus } from '../../lib/events/security-event-bus';
import { InMemorySessionStore } from '../../lib/stores/memory/in-memory-session.store';
import { testPolicy } from '../support/session-policy';

const MIN = 60_000;
const client = { ip: '198.51.100.4', userAgent: 'UnitTest/1.0' };

function setup(policy: Partial<SessionPolicy> = {}) {
  const clock = new ManualClock(Date.parse('2026-11-26T08:00:00Z'));
  const store = new InMemorySessionStore();
  const events: SecurityEvent[] = [];
  const bus = new SecurityEventBus([{ handle: (e) => void events.push(e) }]);
  const manager = new SessionManager(store, clock, testPolicy(policy), bus);
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
      testPolicy({
        idleTimeoutMs: MIN,
        absoluteTimeoutMs: MIN,
        rotationIntervalMs: MIN,
        rotationGraceMs: 0,
        touchIntervalMs: 1000,
        maxConcurrentSessions: 0,
      }),
      bus,
    );
    await manager.create({ userId: 'alice', client });
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(['session_created']);
    expect(errors).toHaveLength(2);
  });
});

describe('SessionManager: roles, tiers, impersonation, session limits', () => {
  const DAY = 86_400_000;

  it('a remembered session lives by the remember timeouts, outlives a standard idle period, and re-authenticates by its tier', async () => {
    const { manager, clock } = setup({ rotationIntervalMs: Number.POSITIVE_INFINITY });
    const { token, session } = await manager.create({ userId: 'alice', client, remember: true });
    expect(session.record).toMatchObject({
      tier: 'remember',
      idleTimeoutMs: 30 * DAY,
      idleExpiresAt: clock.now() + 30 * DAY,
      absoluteExpiresAt: clock.now() + 90 * DAY,
      impersonatedBy: null,
    });
    clock.advance(2 * DAY);
    const out = await manager.resolve(token, client);
    if (out.kind !== 'active') throw new Error(`expected active, got ${out.kind}`);
    expect(out.session.record.idleExpiresAt).toBe(clock.now() + 30 * DAY);
    await manager.reauthenticate(out.session, client);
    expect(out.session.record).toMatchObject({ absoluteExpiresAt: clock.now() + 90 * DAY, idleTimeoutMs: 30 * DAY, tier: 'remember' });
    // A standard session of the same module ends after 30 minutes of inactivity.
    const standard = await manager.create({ userId: 'bob', client });
    expect(standard.session.record).toMatchObject({ tier: 'standard', idleTimeoutMs: 30 * MIN });
    clock.advance(30 * MIN);
    expect(await manager.resolve(standard.token, client)).toMatchObject({ kind: 'expired', reason: 'idle_timeout' });
  });

  it('keeps the roles snapshot, without repeats, and refuses roles no store should hold', async () => {
    const { manager } = setup();
    const { session } = await manager.create({ userId: 'alice', client, roles: ['user', 'admin', 'user'] });
    expect(session.record.roles).toEqual(['user', 'admin']);
    const bad: unknown[] = ['admin', [''], ['x'.repeat(65)], [1], [null], Array.from({ length: 65 }, (_, i) => `r${i}`)];
    for (const roles of bad) {
      await expect(manager.create({ userId: 'alice', client, roles: roles as string[] })).rejects.toThrow(SessionInputError);
    }
    await expect(manager.create({ userId: 'alice', client, roles: ['x'.repeat(65)] })).rejects.toThrow(
      /roles: must hold only role names of 1 to 64/,
    );
    await expect(
      manager.setRoles(
        'alice',
        Array.from({ length: 65 }, (_, i) => `r${i}`),
      ),
    ).rejects.toThrow(/at most 64/);
    expect(await manager.create({ userId: 'alice', client, roles: Array.from({ length: 64 }, (_, i) => 'r'.repeat(64 - i)) })).toBeTruthy();
  });

  it('setRoles: an elevation rotates at the next request; a demotion applies at once without rotation; same roles change nothing', async () => {
    const { manager, events } = setup();
    const { token } = await manager.create({ userId: 'alice', client, roles: ['user'] });
    expect(await manager.setRoles('alice', ['user', 'admin'], client)).toBe(1);
    const elevated = await manager.resolve(token, client);
    if (elevated.kind !== 'active') throw new Error(`expected active, got ${elevated.kind}`);
    expect(elevated.issuedToken).toEqual(expect.any(String));
    expect(elevated.session.record).toMatchObject({ roles: ['user', 'admin'], rotateRequired: false, rolesVersion: 1 });
    expect(await manager.resolve(token, client)).toEqual({ kind: 'rotated' });
    const current = elevated.issuedToken!;
    expect(await manager.setRoles('alice', ['user'])).toBe(1);
    const demoted = await manager.resolve(current, client);
    if (demoted.kind !== 'active') throw new Error(`expected active, got ${demoted.kind}`);
    expect(demoted.issuedToken).toBeUndefined();
    expect(demoted.session.record).toMatchObject({ roles: ['user'], rolesVersion: 2 });
    expect(await manager.setRoles('alice', ['user', 'user'])).toBe(0);
    const changes = events.filter((e) => e.type === 'authz_change');
    expect(changes.map((e) => e.detail)).toEqual([
      { roles: 'user,admin', sessions: 1 },
      { roles: 'user', sessions: 1 },
      { roles: 'user', sessions: 0 },
    ]);
    expect(changes[0]).toMatchObject({ userId: 'alice', ip: client.ip, reason: 'roles_changed' });
    expect(events.filter((e) => e.type === 'session_renewed').map((e) => e.reason)).toEqual(['privilege_change']);
  });

  it("'deny-new' refuses a login at the limit with the live sessions, creates nothing, and says so", async () => {
    const { manager, clock, events, store } = setup({ maxConcurrentSessions: 2, concurrentSessionPolicy: 'deny-new' });
    const first = await manager.create({ userId: 'alice', client });
    clock.advance(1);
    const second = await manager.create({ userId: 'alice', client: { ip: '192.0.2.1', userAgent: 'Phone/2' } });
    clock.advance(1);
    const create = jest.spyOn(store, 'create');
    const error = await manager.create({ userId: 'alice', client }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TooManySessionsError);
    expect(error).toMatchObject({ userId: 'alice', limit: 2, sessions: [first.session.record, second.session.record] });
    expect((error as Error).message).toMatch(/sign one out .*or raise maxConcurrentSessions/);
    expect(create).toHaveBeenCalledWith(expect.any(String), expect.anything(), { now: clock.now(), maxConcurrent: 2, onLimit: 'deny-new' });
    expect((await manager.list('alice')).map((s) => s.id)).toEqual([first.session.id, second.session.id]);
    expect(events.filter((e) => e.type === 'excess_sessions_exceeded')).toEqual([
      expect.objectContaining({ userId: 'alice', reason: 'denied', outcome: 'failure', level: 'WARN', detail: { limit: 2, live: 2 } }),
    ]);
    expect(events.filter((e) => e.type === 'session_created')).toHaveLength(2);
  });

  it('takes the limit from maxConcurrentSessionsFor({ userId, roles }) when given, and refuses an answer that is not a limit', async () => {
    const asked: unknown[] = [];
    const { manager } = setup({
      maxConcurrentSessions: 10,
      concurrentSessionPolicy: 'deny-new',
      maxConcurrentSessionsFor: async (user) => {
        asked.push(user);
        return user.roles.includes('admin') ? 1 : 0;
      },
    });
    await manager.create({ userId: 'root', client, roles: ['admin'] });
    await expect(manager.create({ userId: 'root', client, roles: ['admin'] })).rejects.toBeInstanceOf(TooManySessionsError);
    for (let i = 0; i < 12; i++) await manager.create({ userId: 'carol', client, roles: ['user'] });
    expect((await manager.list('carol')).length).toBe(12);
    expect(asked[0]).toEqual({ userId: 'root', roles: ['admin'] });
    const broken = setup({ maxConcurrentSessionsFor: () => 1.5 }).manager;
    await expect(broken.create({ userId: 'dave', client })).rejects.toThrow(
      /answered 1.5 for user "dave": it must return a whole number >= 0/,
    );
  });

  it('an impersonation session is capped at impersonationMaxAgeMs (re-authentication included), exempt from the limit, and listed', async () => {
    const { manager, clock, events } = setup({
      maxConcurrentSessions: 1,
      concurrentSessionPolicy: 'deny-new',
      impersonationMaxAgeMs: 60 * MIN,
    });
    const own = await manager.create({ userId: 'alice', client, roles: ['user'] });
    const imp = await manager.create({ userId: 'alice', client, roles: ['user'], impersonatedBy: 'admin-1' });
    expect(imp.session.record).toMatchObject({ impersonatedBy: 'admin-1', tier: 'standard', absoluteExpiresAt: clock.now() + 60 * MIN });
    expect(events.find((e) => e.type === 'session_created' && e.sessionHandle === imp.session.record.handle)?.detail).toMatchObject({
      impersonatedBy: 'admin-1',
    });
    expect((await manager.list('alice')).map((s) => s.record.impersonatedBy)).toEqual([null, 'admin-1']);
    // The user's own session was neither evicted nor counted: at a limit of 1 it is still there.
    expect((await manager.resolve(own.token, client)).kind).toBe('active');
    // Role changes reach it like any of the user's sessions.
    expect(await manager.setRoles('alice', [])).toBe(2);
    let token = imp.token;
    let live: Awaited<ReturnType<typeof manager.resolve>> = { kind: 'none' };
    for (let i = 0; i < 2; i++) {
      clock.advance(25 * MIN);
      live = await manager.resolve(token, client);
      if (live.kind !== 'active') throw new Error(`expected active, got ${live.kind}`);
      token = live.issuedToken ?? token;
    }
    if (live.kind !== 'active') throw new Error('unreachable');
    // Re-authenticating 50 minutes in does not give the administrator another hour.
    token = (await manager.reauthenticate(live.session, client)) ?? token;
    expect(live.session.record.absoluteExpiresAt).toBe(imp.session.record.createdAt + 60 * MIN);
    clock.advance(10 * MIN);
    expect(await manager.resolve(token, client)).toMatchObject({ kind: 'expired', reason: 'absolute_timeout' });
    await expect(manager.create({ userId: 'alice', client, impersonatedBy: 'admin-1', remember: true })).rejects.toThrow(
      /remember: cannot be true for an impersonation session/,
    );
    await expect(manager.create({ userId: 'alice', client, impersonatedBy: '' })).rejects.toThrow(
      /impersonatedBy: must be the administrator's user id/,
    );
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
    expect(seen[0].detail).toEqual({ note: 'n'.repeat(256 - '…[clipped]'.length) + '…[clipped]', count: 3 });
    expect(JSON.stringify(seen[0]).length).toBeLessThan(1500);
  });
});

/**
 * The one lifecycle test every SessionStore must pass (memory, Redis, PostgreSQL, MariaDB, SQLite).
 *
 * Time is virtual: every call passes `now`, starting from the real clock so backend TTLs stay in the future.
 */
import { randomBytes } from 'node:crypto';
import { SessionRecord } from '../../lib/core/session-record';
import { SessionStore } from '../../lib/stores/session-store';

const MIN = 60_000;
const IDLE = 30 * MIN;
const ABSOLUTE = 12 * 60 * MIN;

export interface StoreFixture {
  store: SessionStore;
  cleanup?: () => Promise<void>;
}

export function newId(): string {
  return randomBytes(32).toString('base64url');
}

export function makeRecord(now: number, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    handle: randomBytes(16).toString('base64url'),
    userId: 'user-' + randomBytes(6).toString('hex'),
    createdAt: now,
    lastSeenAt: now,
    idleExpiresAt: now + IDLE,
    absoluteExpiresAt: now + ABSOLUTE,
    authenticatedAt: now,
    rotatedAt: now,
    aal: 1,
    rolesVersion: 0,
    rotateRequired: false,
    ip: '203.0.113.7',
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Conformance/1.0',
    version: 1,
    data: {},
    ...overrides,
  };
}

export function describeSessionStore(name: string, factory: () => Promise<StoreFixture>): void {
  describe(`SessionStore conformance: ${name}`, () => {
    let fixture: StoreFixture;
    let store: SessionStore;
    let t0: number;
    const read = (id: string, now: number, touchIntervalMs = MIN) => store.read(id, { now, idleTimeoutMs: IDLE, touchIntervalMs });

    beforeAll(async () => {
      fixture = await factory();
      store = fixture.store;
    });
    afterAll(async () => {
      await fixture?.cleanup?.();
    });
    beforeEach(() => {
      t0 = Date.now();
    });

    describe('create and read', () => {
      it('reads back exactly what was created', async () => {
        const id = newId();
        const rec = makeRecord(t0, { data: { cart: [{ sku: 'A-1', qty: 2 }], note: 'héllo ✓', nested: { a: [1, null, true] } } });
        await store.create(id, rec, { now: t0, maxConcurrent: 0 });
        const got = await read(id, t0);
        expect(got).toEqual({ status: 'active', id, record: rec, viaGrace: false });
      });

      it('reports an unknown id as missing', async () => {
        expect(await read(newId(), t0)).toEqual({ status: 'missing' });
      });

      it('refuses to overwrite an existing id', async () => {
        const id = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        await expect(store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 })).rejects.toThrow();
      });

      it('returns copies: mutating a returned record changes nothing stored', async () => {
        const id = newId();
        await store.create(id, makeRecord(t0, { data: { n: 1 } }), { now: t0, maxConcurrent: 0 });
        const first = await read(id, t0);
        if (first.status !== 'active') throw new Error('expected active');
        first.record.data.n = 99;
        first.record.userId = 'mallory';
        const second = await read(id, t0);
        expect(second.status === 'active' && second.record.data.n).toBe(1);
        expect(second.status === 'active' && second.record.userId).not.toBe('mallory');
      });
    });

    describe('idle touch and expiry', () => {
      it('does not write a touch before touchIntervalMs', async () => {
        const id = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        const got = await read(id, t0 + MIN - 1);
        expect(got.status === 'active' && got.record.lastSeenAt).toBe(t0);
        expect(got.status === 'active' && got.record.idleExpiresAt).toBe(t0 + IDLE);
      });

      it('touches when due: lastSeenAt and idleExpiresAt move, version does not', async () => {
        const id = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        const t1 = t0 + 5 * MIN;
        const got = await read(id, t1);
        expect(got.status).toBe('active');
        if (got.status !== 'active') return;
        expect(got.record.lastSeenAt).toBe(t1);
        expect(got.record.idleExpiresAt).toBe(t1 + IDLE);
        expect(got.record.version).toBe(1);
        const again = await read(id, t1);
        expect(again.status === 'active' && again.record.idleExpiresAt).toBe(t1 + IDLE);
      });

      it('activity keeps a session alive past the first idle deadline', async () => {
        const id = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        expect((await read(id, t0 + 20 * MIN)).status).toBe('active');
        expect((await read(id, t0 + 40 * MIN)).status).toBe('active');
      });

      it('expires after the idle timeout, deletes it, and reports it once', async () => {
        const id = newId();
        const rec = makeRecord(t0);
        await store.create(id, rec, { now: t0, maxConcurrent: 0 });
        const got = await read(id, t0 + IDLE);
        expect(got).toEqual({ status: 'expired', record: rec });
        expect(await read(id, t0 + IDLE)).toEqual({ status: 'missing' });
        expect(await store.countByUser(rec.userId, t0)).toBe(0);
      });

      it('never extends past the absolute timeout, however active', async () => {
        const id = newId();
        const rec = makeRecord(t0, { absoluteExpiresAt: t0 + 45 * MIN });
        await store.create(id, rec, { now: t0, maxConcurrent: 0 });
        const t1 = t0 + 25 * MIN;
        const got = await read(id, t1);
        expect(got.status === 'active' && got.record.idleExpiresAt).toBe(t0 + 45 * MIN);
        expect((await read(id, t0 + 44 * MIN)).status).toBe('active');
        expect((await read(id, t0 + 45 * MIN)).status).toBe('expired');
      });
    });

    describe('update (compare-and-set)', () => {
      it('applies changes, increments the version, keeps other fields', async () => {
        const id = newId();
        const rec = makeRecord(t0);
        await store.create(id, rec, { now: t0, maxConcurrent: 0 });
        const res = await store.update(id, 1, { data: { theme: 'dark' }, aal: 2 }, t0);
        expect(res).toEqual({ status: 'ok', record: { ...rec, data: { theme: 'dark' }, aal: 2, version: 2 } });
        const got = await read(id, t0);
        expect(got.status === 'active' && got.record).toEqual({ ...rec, data: { theme: 'dark' }, aal: 2, version: 2 });
      });

      it('persists moved deadlines (re-authentication resets both timeouts)', async () => {
        const id = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        const t1 = t0 + 20 * MIN;
        await store.update(id, 1, { authenticatedAt: t1, idleExpiresAt: t1 + IDLE, absoluteExpiresAt: t1 + ABSOLUTE }, t1);
        expect((await read(id, t0 + IDLE + MIN, 10 * IDLE)).status).toBe('active');
      });

      it('reports a version conflict with the current record', async () => {
        const id = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        await store.update(id, 1, { data: { a: 1 } }, t0);
        const res = await store.update(id, 1, { data: { b: 2 } }, t0);
        expect(res.status).toBe('conflict');
        expect(res.status === 'conflict' && res.record.data).toEqual({ a: 1 });
        expect(res.status === 'conflict' && res.record.version).toBe(2);
      });

      it('reports missing for unknown and expired sessions', async () => {
        expect(await store.update(newId(), 1, { data: {} }, t0)).toEqual({ status: 'missing' });
        const id = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        expect(await store.update(id, 1, { data: {} }, t0 + IDLE)).toEqual({ status: 'missing' });
      });

      it('loses nothing under 50 parallel read-modify-write patches', async () => {
        const id = newId();
        await store.create(id, makeRecord(t0, { data: { items: [] } }), { now: t0, maxConcurrent: 0 });
        const addItem = async (n: number) => {
          for (let attempt = 0; attempt < 500; attempt++) {
            const cur = await read(id, t0);
            if (cur.status !== 'active') throw new Error('session vanished');
            const items = [...(cur.record.data.items as number[]), n];
            const res = await store.update(id, cur.record.version, { data: { items } }, t0);
            if (res.status === 'ok') return;
          }
          throw new Error('too many conflicts');
        };
        await Promise.all(Array.from({ length: 50 }, (_, n) => addItem(n)));
        const got = await read(id, t0);
        const items = got.status === 'active' ? (got.record.data.items as number[]) : [];
        expect([...items].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, n) => n));
        expect(got.status === 'active' && got.record.version).toBe(51);
      });
    });

    describe('rotation', () => {
      it('moves the record to the new id, keeping identity and the absolute deadline', async () => {
        const id = newId();
        const next = newId();
        const rec = makeRecord(t0, { data: { keep: true } });
        await store.create(id, rec, { now: t0, maxConcurrent: 0 });
        const t1 = t0 + 16 * MIN;
        const res = await store.rotate(id, next, { now: t1, graceMs: 10_000, changes: { rotatedAt: t1 } });
        expect(res).toEqual({ status: 'rotated', record: { ...rec, rotatedAt: t1, version: 2 } });
        const got = await read(next, t1, 10 * IDLE);
        expect(got).toEqual({ status: 'active', id: next, record: { ...rec, rotatedAt: t1, version: 2 }, viaGrace: false });
        const list = await store.listByUser(rec.userId, t1);
        expect(list.map((s) => s.id)).toEqual([next]);
      });

      it('lets the old id resolve to the successor only within the grace window', async () => {
        const id = newId();
        const next = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        await store.rotate(id, next, { now: t0, graceMs: 10_000, changes: { rotatedAt: t0 } });
        const within = await read(id, t0 + 9_999);
        expect(within.status === 'active' && within.id).toBe(next);
        expect(within.status === 'active' && within.viaGrace).toBe(true);
        expect(await read(id, t0 + 10_000)).toEqual({ status: 'missing' });
        expect((await read(next, t0 + 10_000)).status).toBe('active');
      });

      it('kills the old id at once when graceMs is 0 (privilege change)', async () => {
        const id = newId();
        const next = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        await store.rotate(id, next, { now: t0, graceMs: 0, changes: { rotatedAt: t0, aal: 2 } });
        expect(await read(id, t0)).toEqual({ status: 'missing' });
        const got = await read(next, t0);
        expect(got.status === 'active' && got.record.aal).toBe(2);
      });

      it('never mints two successors: 20 parallel rotations yield one', async () => {
        const id = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        const candidates = Array.from({ length: 20 }, () => newId());
        const results = await Promise.all(
          candidates.map((c) => store.rotate(id, c, { now: t0, graceMs: 10_000, changes: { rotatedAt: t0 } })),
        );
        const rotated = results.filter((r) => r.status === 'rotated');
        const superseded = results.filter((r) => r.status === 'superseded');
        expect(rotated).toHaveLength(1);
        expect(superseded).toHaveLength(19);
        const winner = candidates[results.findIndex((r) => r.status === 'rotated')];
        for (const r of superseded) expect(r.status === 'superseded' && r.id).toBe(winner);
        const rec = rotated[0].status === 'rotated' ? rotated[0].record : undefined;
        expect(await store.countByUser(rec!.userId, t0)).toBe(1);
        const losers = candidates.filter((c) => c !== winner);
        for (const c of losers) expect(await read(c, t0)).toEqual({ status: 'missing' });
      });

      it('reports missing when rotating an unknown, expired or out-of-grace id', async () => {
        expect(await store.rotate(newId(), newId(), { now: t0, graceMs: 0, changes: {} })).toEqual({ status: 'missing' });
        const id = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        expect(await store.rotate(id, newId(), { now: t0 + IDLE, graceMs: 0, changes: {} })).toEqual({ status: 'missing' });
        const a = newId();
        await store.create(a, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        await store.rotate(a, newId(), { now: t0, graceMs: 1000, changes: {} });
        expect(await store.rotate(a, newId(), { now: t0 + 1000, graceMs: 1000, changes: {} })).toEqual({ status: 'missing' });
      });
    });

    describe('destroy', () => {
      it('deletes one session and returns it', async () => {
        const id = newId();
        const rec = makeRecord(t0);
        await store.create(id, rec, { now: t0, maxConcurrent: 0 });
        expect(await store.destroy(id)).toEqual(rec);
        expect(await read(id, t0)).toEqual({ status: 'missing' });
        expect(await store.destroy(id)).toBeNull();
        expect(await store.countByUser(rec.userId, t0)).toBe(0);
      });

      it('destroying through a rotated-away id ends the successor too', async () => {
        const id = newId();
        const next = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        await store.rotate(id, next, { now: t0, graceMs: 10_000, changes: {} });
        expect(await store.destroy(id)).not.toBeNull();
        expect(await read(next, t0)).toEqual({ status: 'missing' });
        expect(await read(id, t0)).toEqual({ status: 'missing' });
      });
    });

    describe('per-user operations', () => {
      it('lists only live sessions of the user, oldest first', async () => {
        const userId = 'u-' + newId();
        const ids = [newId(), newId(), newId()];
        for (let i = 0; i < ids.length; i++) {
          await store.create(ids[i], makeRecord(t0 + i, { userId }), { now: t0 + i, maxConcurrent: 0 });
        }
        await store.create(newId(), makeRecord(t0), { now: t0, maxConcurrent: 0 });
        const stale = newId();
        await store.create(stale, makeRecord(t0, { userId, createdAt: t0 - 1, idleExpiresAt: t0 + 10 }), { now: t0, maxConcurrent: 0 });
        const list = await store.listByUser(userId, t0 + 10);
        expect(list.map((s) => s.id)).toEqual(ids);
        expect(list.every((s) => s.record.userId === userId)).toBe(true);
        expect(await store.countByUser(userId, t0 + 10)).toBe(3);
        expect(await store.listByUser('nobody-' + newId(), t0)).toEqual([]);
      });

      it('destroys every session of a user except the one kept (logout everywhere)', async () => {
        const userId = 'u-' + newId();
        const keep = newId();
        const others = [newId(), newId(), newId()];
        const bystander = newId();
        await store.create(keep, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 0 });
        for (const id of others) await store.create(id, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 0 });
        await store.create(bystander, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        const destroyed = await store.destroyByUser(userId, keep);
        expect(destroyed).toHaveLength(3);
        for (const id of others) expect(await read(id, t0)).toEqual({ status: 'missing' });
        expect((await read(keep, t0)).status).toBe('active');
        expect((await read(bystander, t0)).status).toBe('active');
        expect(await store.destroyByUser(userId)).toHaveLength(1);
        expect(await store.countByUser(userId, t0)).toBe(0);
      });

      it('logout everywhere also ends a session reached through its grace pointer', async () => {
        const userId = 'u-' + newId();
        const id = newId();
        const next = newId();
        await store.create(id, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 0 });
        await store.rotate(id, next, { now: t0, graceMs: 10_000, changes: {} });
        await store.destroyByUser(userId);
        expect(await read(id, t0)).toEqual({ status: 'missing' });
        expect(await read(next, t0)).toEqual({ status: 'missing' });
      });

      it('revokes by handle only within the same user', async () => {
        const a = makeRecord(t0);
        const b = makeRecord(t0);
        const ida = newId();
        const idb = newId();
        await store.create(ida, a, { now: t0, maxConcurrent: 0 });
        await store.create(idb, b, { now: t0, maxConcurrent: 0 });
        expect(await store.destroyByHandle(a.userId, b.handle)).toBeNull();
        expect((await read(idb, t0)).status).toBe('active');
        expect(await store.destroyByHandle(a.userId, a.handle)).toEqual(a);
        expect(await read(ida, t0)).toEqual({ status: 'missing' });
      });

      it('marks every live session of a user for rotation on a privilege change', async () => {
        const userId = 'u-' + newId();
        const ids = [newId(), newId()];
        for (const id of ids) await store.create(id, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 0 });
        const other = newId();
        await store.create(other, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        expect(await store.requireRotationForUser(userId)).toBe(2);
        for (const id of ids) {
          const got = await read(id, t0);
          expect(got.status === 'active' && got.record).toMatchObject({ rotateRequired: true, rolesVersion: 1, version: 2 });
        }
        const untouched = await read(other, t0);
        expect(untouched.status === 'active' && untouched.record.rotateRequired).toBe(false);
        expect(await store.requireRotationForUser('nobody-' + newId())).toBe(0);
      });
    });

    describe('concurrent-session limit', () => {
      it('evicts the oldest beyond maxConcurrent and reports them', async () => {
        const userId = 'u-' + newId();
        const ids = [newId(), newId(), newId()];
        const recs = ids.map((_, i) => makeRecord(t0 + i, { userId }));
        expect(await store.create(ids[0], recs[0], { now: t0, maxConcurrent: 2 })).toEqual({ evicted: [] });
        expect(await store.create(ids[1], recs[1], { now: t0 + 1, maxConcurrent: 2 })).toEqual({ evicted: [] });
        expect(await store.create(ids[2], recs[2], { now: t0 + 2, maxConcurrent: 2 })).toEqual({ evicted: [recs[0]] });
        expect(await read(ids[0], t0 + 2)).toEqual({ status: 'missing' });
        expect((await store.listByUser(userId, t0 + 2)).map((s) => s.id)).toEqual([ids[1], ids[2]]);
      });

      it('does not count expired sessions against the limit', async () => {
        const userId = 'u-' + newId();
        await store.create(newId(), makeRecord(t0, { userId, idleExpiresAt: t0 + 5 }), { now: t0, maxConcurrent: 1 });
        const res = await store.create(newId(), makeRecord(t0 + 10, { userId }), { now: t0 + 10, maxConcurrent: 1 });
        expect(res.evicted).toEqual([]);
        expect(await store.countByUser(userId, t0 + 10)).toBe(1);
      });

      it('holds the limit exactly under parallel logins', async () => {
        const userId = 'u-' + newId();
        const ids = Array.from({ length: 10 }, () => newId());
        const results = await Promise.all(
          ids.map((id, i) => store.create(id, makeRecord(t0 + i, { userId }), { now: t0 + i, maxConcurrent: 3 })),
        );
        expect(await store.countByUser(userId, t0 + 10)).toBe(3);
        expect(results.reduce((n, r) => n + r.evicted.length, 0)).toBe(7);
      });
    });

    describe('counters', () => {
      it('counts within a fixed window and restarts after it', async () => {
        const key = 'k-' + newId();
        expect(await store.increment(key, 1000, t0)).toEqual({ count: 1, resetAt: t0 + 1000 });
        expect(await store.increment(key, 1000, t0 + 999)).toEqual({ count: 2, resetAt: t0 + 1000 });
        expect(await store.increment(key, 1000, t0 + 1000)).toEqual({ count: 1, resetAt: t0 + 2000 });
      });

      it('is exact under 50 parallel increments', async () => {
        const key = 'k-' + newId();
        const results = await Promise.all(Array.from({ length: 50 }, () => store.increment(key, 60_000, t0)));
        expect(results.map((r) => r.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      });

      it('resets on demand', async () => {
        const key = 'k-' + newId();
        await store.increment(key, 60_000, t0);
        await store.increment(key, 60_000, t0);
        await store.resetCounter(key);
        expect((await store.increment(key, 60_000, t0)).count).toBe(1);
      });
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}

import assert from 'node:assert/strict';
import type { SessionRecord } from '../core/session-record';
import type { ReadResult, SessionStore, UpdateResult } from '../stores/session-store';
import { FIXTURE_ABSOLUTE_TIMEOUT_MS, FIXTURE_IDLE_TIMEOUT_MS, StoreFixture, makeRecord, newId } from './session-fixtures';

const MIN = 60_000;
const IDLE = FIXTURE_IDLE_TIMEOUT_MS;
const ABSOLUTE = FIXTURE_ABSOLUTE_TIMEOUT_MS;

/**
 * The test functions of the caller's framework, so the suite runs under any of them without depending on one.
 * Pass them as your framework names them:
 *
 * - jest, vitest: `{ describe, it, beforeAll, afterAll }` (globals, or imported from `vitest`);
 * - node:test: `{ describe, it, before, after }` from `node:test`.
 *
 * Give one of `beforeAll`/`before` and one of `afterAll`/`after`. Hooks run once per suite: the factory in
 * the first, the fixture's `cleanup` in the second.
 */
export interface TestFrameworkHooks {
  /** Groups tests; the body registers them synchronously. */
  describe(name: string, body: () => void): unknown;
  /** Registers one test; the suite's tests are async and throw (`node:assert`) on failure. */
  it(name: string, body: () => Promise<void>): unknown;
  /** Runs once before the group's tests (jest, vitest). */
  beforeAll?(body: () => Promise<void>): unknown;
  /** Runs once before the group's tests (node:test's name for `beforeAll`). */
  before?(body: () => Promise<void>): unknown;
  /** Runs once after the group's tests (jest, vitest). */
  afterAll?(body: () => Promise<void>): unknown;
  /** Runs once after the group's tests (node:test's name for `afterAll`). */
  after?(body: () => Promise<void>): unknown;
}

type Active = Extract<ReadResult, { status: 'active' }>;

/** Narrows a read to an active session, or fails with what was found instead. */
function assertActive(result: ReadResult, what = 'the read'): asserts result is Active {
  assert.equal(result.status, 'active', `expected ${what} to find an active session, got ${JSON.stringify(result)}`);
}

/** Narrows an update result to one that carries a record (ok or conflict), or fails with what was found. */
function assertHasRecord(
  result: UpdateResult,
  status: 'ok' | 'conflict',
): asserts result is Extract<UpdateResult, { status: typeof status }> {
  assert.equal(result.status, status, `expected update to answer ${status}, got ${JSON.stringify(result)}`);
}

/** Fails unless every field of `expected` equals (deeply) the same field of `actual`; other fields are ignored. */
function assertFields(actual: object, expected: object, what: string): void {
  const picked = Object.fromEntries(Object.keys(expected).map((k) => [k, (actual as Record<string, unknown>)[k]]));
  assert.deepEqual(picked, expected, what);
}

/**
 * Registers the conformance suite of the session-store contract for one store: create and read, idle touch and
 * expiry, compare-and-set with real parallel writers, rotation (grace window, tombstones, writes that follow the
 * pointer, parallel rotations), destroy, per-user operations, the concurrent-session limit, counters and ping.
 * Every store shipped with this package passes it; a store of your own should too.
 *
 * Time is virtual: every test passes `now` explicitly, starting from the real clock so backend TTLs stay in
 * the future, and never sleeps. Every test uses fresh random ids and user ids, so a shared backend is fine.
 *
 * @param name Shown in the suite's title, e.g. `'redis'`.
 * @param factory Called once before the first test; returns the store (already connected) and its clean-up.
 * @param hooks The caller's test framework functions ({@link TestFrameworkHooks}).
 *
 * @example
 * // jest (or vitest, importing these from 'vitest')
 * import { describeSessionStore } from 'nest-session-kit/testing';
 * describeSessionStore('my-store', async () => ({ store: new MyStore() }), { describe, it, beforeAll, afterAll });
 *
 * @example
 * // node:test (run with `node --test`)
 * import { after, before, describe, it } from 'node:test';
 * import { describeSessionStore } from 'nest-session-kit/testing';
 * describeSessionStore('my-store', async () => ({ store: new MyStore(), cleanup: () => client.quit() }), { describe, it, before, after });
 */
export function describeSessionStore(name: string, factory: () => Promise<StoreFixture>, hooks: TestFrameworkHooks): void {
  const beforeAll = hooks.beforeAll ?? hooks.before;
  const afterAll = hooks.afterAll ?? hooks.after;
  if (!beforeAll || !afterAll) {
    throw new TypeError(
      'describeSessionStore: pass your test framework hooks: { describe, it, beforeAll, afterAll } with jest or vitest, ' +
        "{ describe, it, before, after } from 'node:test'",
    );
  }
  const describe = (title: string, body: () => void) => hooks.describe(title, body);

  hooks.describe(`SessionStore conformance: ${name}`, () => {
    let fixture: StoreFixture | undefined;
    let store: SessionStore;
    const read = (id: string, now: number, touchIntervalMs = MIN) => store.read(id, { now, idleTimeoutMs: IDLE, touchIntervalMs });
    /** A test that gets its own start time (ms): tests stay independent even when a framework runs them concurrently. */
    const it = (title: string, body: (t0: number) => Promise<void>) => hooks.it(title, () => body(Date.now()));

    beforeAll.call(hooks, async () => {
      fixture = await factory();
      store = fixture.store;
    });
    afterAll.call(hooks, async () => {
      await fixture?.cleanup?.();
    });

    describe('create and read', () => {
      it('reads back exactly what was created', async (t0) => {
        const id = newId();
        const rec = makeRecord(t0, { data: { cart: [{ sku: 'A-1', qty: 2 }], note: 'héllo ✓', nested: { a: [1, null, true] } } });
        await store.create(id, rec, { now: t0, maxConcurrent: 0 });
        const got = await read(id, t0);
        assert.deepEqual(got, { status: 'active', id, record: rec, viaGrace: false });
      });

      it('reports an unknown id as missing', async (t0) => {
        assert.deepEqual(await read(newId(), t0), { status: 'missing' });
      });

      it('refuses to overwrite an existing id', async (t0) => {
        const id = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        await assert.rejects(store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 }));
      });

      it('returns copies: mutating a returned record changes nothing stored', async (t0) => {
        const id = newId();
        await store.create(id, makeRecord(t0, { data: { n: 1 } }), { now: t0, maxConcurrent: 0 });
        const first = await read(id, t0);
        assertActive(first);
        first.record.data.n = 99;
        first.record.userId = 'mallory';
        const second = await read(id, t0);
        assertActive(second);
        assert.equal(second.record.data.n, 1);
        assert.notEqual(second.record.userId, 'mallory');
      });
    });

    describe('idle touch and expiry', () => {
      it('does not write a touch before touchIntervalMs', async (t0) => {
        const id = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        const got = await read(id, t0 + MIN - 1);
        assertActive(got);
        assert.equal(got.record.lastSeenAt, t0);
        assert.equal(got.record.idleExpiresAt, t0 + IDLE);
      });

      it('touches when due: lastSeenAt and idleExpiresAt move, version does not', async (t0) => {
        const id = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        const t1 = t0 + 5 * MIN;
        const got = await read(id, t1);
        assertActive(got);
        assert.equal(got.record.lastSeenAt, t1);
        assert.equal(got.record.idleExpiresAt, t1 + IDLE);
        assert.equal(got.record.version, 1);
        const again = await read(id, t1);
        assertActive(again);
        assert.equal(again.record.idleExpiresAt, t1 + IDLE);
      });

      it('activity keeps a session alive past the first idle deadline', async (t0) => {
        const id = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        assert.equal((await read(id, t0 + 20 * MIN)).status, 'active');
        assert.equal((await read(id, t0 + 40 * MIN)).status, 'active');
      });

      it('expires after the idle timeout, deletes it, and reports it once', async (t0) => {
        const id = newId();
        const rec = makeRecord(t0);
        await store.create(id, rec, { now: t0, maxConcurrent: 0 });
        const got = await read(id, t0 + IDLE);
        assert.deepEqual(got, { status: 'expired', record: rec });
        assert.deepEqual(await read(id, t0 + IDLE), { status: 'missing' });
        assert.equal(await store.countByUser(rec.userId, t0), 0);
      });

      it('never extends past the absolute timeout, however active', async (t0) => {
        const id = newId();
        const rec = makeRecord(t0, { absoluteExpiresAt: t0 + 45 * MIN });
        await store.create(id, rec, { now: t0, maxConcurrent: 0 });
        const t1 = t0 + 25 * MIN;
        const got = await read(id, t1);
        assertActive(got);
        assert.equal(got.record.idleExpiresAt, t0 + 45 * MIN);
        assert.equal((await read(id, t0 + 44 * MIN)).status, 'active');
        assert.equal((await read(id, t0 + 45 * MIN)).status, 'expired');
      });
    });

    describe('update (compare-and-set)', () => {
      it('applies changes, increments the version, keeps other fields', async (t0) => {
        const id = newId();
        const rec = makeRecord(t0);
        await store.create(id, rec, { now: t0, maxConcurrent: 0 });
        const res = await store.update(id, 1, { data: { theme: 'dark' }, aal: 2 }, t0);
        assert.deepEqual(res, { status: 'ok', record: { ...rec, data: { theme: 'dark' }, aal: 2, version: 2 } });
        const got = await read(id, t0);
        assertActive(got);
        assert.deepEqual(got.record, { ...rec, data: { theme: 'dark' }, aal: 2, version: 2 });
      });

      it('persists moved deadlines (re-authentication resets both timeouts)', async (t0) => {
        const id = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        const t1 = t0 + 20 * MIN;
        await store.update(id, 1, { authenticatedAt: t1, idleExpiresAt: t1 + IDLE, absoluteExpiresAt: t1 + ABSOLUTE }, t1);
        assert.equal((await read(id, t0 + IDLE + MIN, 10 * IDLE)).status, 'active');
      });

      it('reports a version conflict with the current record', async (t0) => {
        const id = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        await store.update(id, 1, { data: { a: 1 } }, t0);
        const res = await store.update(id, 1, { data: { b: 2 } }, t0);
        assertHasRecord(res, 'conflict');
        assert.deepEqual(res.record.data, { a: 1 });
        assert.equal(res.record.version, 2);
      });

      it('reports missing for unknown and expired sessions', async (t0) => {
        assert.deepEqual(await store.update(newId(), 1, { data: {} }, t0), { status: 'missing' });
        const id = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        assert.deepEqual(await store.update(id, 1, { data: {} }, t0 + IDLE), { status: 'missing' });
      });

      it('loses nothing under 50 parallel read-modify-write patches', async (t0) => {
        const id = newId();
        await store.create(id, makeRecord(t0, { data: { items: [] } }), { now: t0, maxConcurrent: 0 });
        const addItem = async (n: number) => {
          for (let attempt = 0; attempt < 500; attempt++) {
            const cur = await read(id, t0);
            assertActive(cur, 'a writer');
            const items = [...(cur.record.data.items as number[]), n];
            const res = await store.update(id, cur.record.version, { data: { items } }, t0);
            if (res.status === 'ok') return;
          }
          throw new Error('too many conflicts');
        };
        await Promise.all(Array.from({ length: 50 }, (_, n) => addItem(n)));
        const got = await read(id, t0);
        assertActive(got);
        const items = got.record.data.items as number[];
        assert.deepEqual(
          [...items].sort((a, b) => a - b),
          Array.from({ length: 50 }, (_, n) => n),
        );
        assert.equal(got.record.version, 51);
      });
    });

    describe('rotation', () => {
      it('moves the record to the new id, keeping identity and the absolute deadline', async (t0) => {
        const id = newId();
        const next = newId();
        const rec = makeRecord(t0, { data: { keep: true } });
        await store.create(id, rec, { now: t0, maxConcurrent: 0 });
        const t1 = t0 + 16 * MIN;
        const res = await store.rotate(id, next, { now: t1, graceMs: 10_000, changes: { rotatedAt: t1 } });
        assert.deepEqual(res, { status: 'rotated', record: { ...rec, rotatedAt: t1, version: 2 } });
        const got = await read(next, t1, 10 * IDLE);
        assert.deepEqual(got, { status: 'active', id: next, record: { ...rec, rotatedAt: t1, version: 2 }, viaGrace: false });
        const list = await store.listByUser(rec.userId, t1);
        assert.deepEqual(
          list.map((s) => s.id),
          [next],
        );
      });

      it('lets the old id resolve to the successor only within the grace window', async (t0) => {
        const id = newId();
        const next = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        await store.rotate(id, next, { now: t0, graceMs: 10_000, changes: { rotatedAt: t0 } });
        const within = await read(id, t0 + 9_999);
        assertActive(within);
        assert.equal(within.id, next);
        assert.equal(within.viaGrace, true);
        assert.deepEqual(await read(id, t0 + 10_000), { status: 'missing' });
        assert.equal((await read(next, t0 + 10_000)).status, 'active');
      });

      it('kills the old id at once when graceMs is 0 (privilege change)', async (t0) => {
        const id = newId();
        const next = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        await store.rotate(id, next, { now: t0, graceMs: 0, changes: { rotatedAt: t0, aal: 2 } });
        assert.deepEqual(await read(id, t0), { status: 'missing' });
        const got = await read(next, t0);
        assertActive(got);
        assert.equal(got.record.aal, 2);
      });

      it('never mints two successors: 20 parallel rotations yield one', async (t0) => {
        const id = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        const candidates = Array.from({ length: 20 }, () => newId());
        const results = await Promise.all(
          candidates.map((c) => store.rotate(id, c, { now: t0, graceMs: 10_000, changes: { rotatedAt: t0 } })),
        );
        const rotated = results.filter((r) => r.status === 'rotated');
        const superseded = results.filter((r) => r.status === 'superseded');
        assert.equal(rotated.length, 1, `exactly one rotation should win, got ${JSON.stringify(results.map((r) => r.status))}`);
        assert.equal(superseded.length, 19);
        const winner = candidates[results.findIndex((r) => r.status === 'rotated')];
        for (const r of superseded) assert.equal(r.id, winner);
        assert.equal(await store.countByUser(rotated[0].record.userId, t0), 1);
        const losers = candidates.filter((c) => c !== winner);
        for (const c of losers) assert.deepEqual(await read(c, t0), { status: 'missing' });
      });

      it('reports missing when rotating an unknown, expired or out-of-grace id', async (t0) => {
        assert.deepEqual(await store.rotate(newId(), newId(), { now: t0, graceMs: 0, changes: {} }), { status: 'missing' });
        const id = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        assert.deepEqual(await store.rotate(id, newId(), { now: t0 + IDLE, graceMs: 0, changes: {} }), { status: 'missing' });
        const a = newId();
        await store.create(a, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        await store.rotate(a, newId(), { now: t0, graceMs: 1000, changes: {} });
        assert.deepEqual(await store.rotate(a, newId(), { now: t0 + 1000, graceMs: 1000, changes: {} }), { status: 'missing' });
      });
    });

    describe('destroy', () => {
      it('deletes one session and returns it', async (t0) => {
        const id = newId();
        const rec = makeRecord(t0);
        await store.create(id, rec, { now: t0, maxConcurrent: 0 });
        assert.deepEqual(await store.destroy(id), rec);
        assert.deepEqual(await read(id, t0), { status: 'missing' });
        assert.equal(await store.destroy(id), null);
        assert.equal(await store.countByUser(rec.userId, t0), 0);
      });

      it('destroying through a rotated-away id ends the successor too', async (t0) => {
        const id = newId();
        const next = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        await store.rotate(id, next, { now: t0, graceMs: 10_000, changes: {} });
        assert.notEqual(await store.destroy(id), null);
        assert.deepEqual(await read(next, t0), { status: 'missing' });
        assert.deepEqual(await read(id, t0), { status: 'missing' });
      });
    });

    describe('per-user operations', () => {
      it('lists only live sessions of the user, oldest first', async (t0) => {
        const userId = 'u-' + newId();
        const ids = [newId(), newId(), newId()];
        for (let i = 0; i < ids.length; i++) {
          await store.create(ids[i], makeRecord(t0 + i, { userId }), { now: t0 + i, maxConcurrent: 0 });
        }
        await store.create(newId(), makeRecord(t0), { now: t0, maxConcurrent: 0 });
        const stale = newId();
        await store.create(stale, makeRecord(t0, { userId, createdAt: t0 - 1, idleExpiresAt: t0 + 10 }), { now: t0, maxConcurrent: 0 });
        const list = await store.listByUser(userId, t0 + 10);
        assert.deepEqual(
          list.map((s) => s.id),
          ids,
        );
        assert.ok(list.every((s) => s.record.userId === userId));
        assert.equal(await store.countByUser(userId, t0 + 10), 3);
        assert.deepEqual(await store.listByUser('nobody-' + newId(), t0), []);
      });

      it('destroys every session of a user except the one kept (logout everywhere)', async (t0) => {
        const userId = 'u-' + newId();
        const keep = newId();
        const others = [newId(), newId(), newId()];
        const bystander = newId();
        await store.create(keep, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 0 });
        for (const id of others) await store.create(id, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 0 });
        await store.create(bystander, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        const destroyed = await store.destroyByUser(userId, keep);
        assert.equal(destroyed.length, 3);
        for (const id of others) assert.deepEqual(await read(id, t0), { status: 'missing' });
        assert.equal((await read(keep, t0)).status, 'active');
        assert.equal((await read(bystander, t0)).status, 'active');
        assert.equal((await store.destroyByUser(userId)).length, 1);
        assert.equal(await store.countByUser(userId, t0), 0);
      });

      it('logout everywhere also ends a session reached through its grace pointer', async (t0) => {
        const userId = 'u-' + newId();
        const id = newId();
        const next = newId();
        await store.create(id, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 0 });
        await store.rotate(id, next, { now: t0, graceMs: 10_000, changes: {} });
        await store.destroyByUser(userId);
        assert.deepEqual(await read(id, t0), { status: 'missing' });
        assert.deepEqual(await read(next, t0), { status: 'missing' });
      });

      it('revokes by handle only within the same user', async (t0) => {
        const a = makeRecord(t0);
        const b = makeRecord(t0);
        const ida = newId();
        const idb = newId();
        await store.create(ida, a, { now: t0, maxConcurrent: 0 });
        await store.create(idb, b, { now: t0, maxConcurrent: 0 });
        assert.equal(await store.destroyByHandle(a.userId, b.handle), null);
        assert.equal((await read(idb, t0)).status, 'active');
        assert.deepEqual(await store.destroyByHandle(a.userId, a.handle), a);
        assert.deepEqual(await read(ida, t0), { status: 'missing' });
      });

      it('marks every live session of a user for rotation on a privilege change', async (t0) => {
        const userId = 'u-' + newId();
        const ids = [newId(), newId()];
        for (const id of ids) await store.create(id, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 0 });
        const other = newId();
        await store.create(other, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        assert.equal(await store.requireRotationForUser(userId), 2);
        for (const id of ids) {
          const got = await read(id, t0);
          assertActive(got);
          assertFields(got.record, { rotateRequired: true, rolesVersion: 1, version: 2 }, 'a marked session');
        }
        const untouched = await read(other, t0);
        assertActive(untouched);
        assert.equal(untouched.record.rotateRequired, false);
        assert.equal(await store.requireRotationForUser('nobody-' + newId()), 0);
      });
    });

    describe('concurrent-session limit', () => {
      it('evicts the oldest beyond maxConcurrent and reports them', async (t0) => {
        const userId = 'u-' + newId();
        const ids = [newId(), newId(), newId()];
        const recs: SessionRecord[] = ids.map((_, i) => makeRecord(t0 + i, { userId }));
        assert.deepEqual(await store.create(ids[0], recs[0], { now: t0, maxConcurrent: 2 }), { evicted: [] });
        assert.deepEqual(await store.create(ids[1], recs[1], { now: t0 + 1, maxConcurrent: 2 }), { evicted: [] });
        assert.deepEqual(await store.create(ids[2], recs[2], { now: t0 + 2, maxConcurrent: 2 }), { evicted: [recs[0]] });
        assert.deepEqual(await read(ids[0], t0 + 2), { status: 'missing' });
        assert.deepEqual(
          (await store.listByUser(userId, t0 + 2)).map((s) => s.id),
          [ids[1], ids[2]],
        );
      });

      it('does not count expired sessions against the limit', async (t0) => {
        const userId = 'u-' + newId();
        await store.create(newId(), makeRecord(t0, { userId, idleExpiresAt: t0 + 5 }), { now: t0, maxConcurrent: 1 });
        const res = await store.create(newId(), makeRecord(t0 + 10, { userId }), { now: t0 + 10, maxConcurrent: 1 });
        assert.deepEqual(res.evicted, []);
        assert.equal(await store.countByUser(userId, t0 + 10), 1);
      });

      it('holds the limit exactly under parallel logins', async (t0) => {
        const userId = 'u-' + newId();
        const ids = Array.from({ length: 10 }, () => newId());
        const results = await Promise.all(
          ids.map((id, i) => store.create(id, makeRecord(t0 + i, { userId }), { now: t0 + i, maxConcurrent: 3 })),
        );
        assert.equal(await store.countByUser(userId, t0 + 10), 3);
        assert.equal(
          results.reduce((n, r) => n + r.evicted.length, 0),
          7,
        );
      });
    });

    describe('counters', () => {
      it('counts within a fixed window and restarts after it', async (t0) => {
        const key = 'k-' + newId();
        assert.deepEqual(await store.increment(key, 1000, t0), { count: 1, resetAt: t0 + 1000 });
        assert.deepEqual(await store.increment(key, 1000, t0 + 999), { count: 2, resetAt: t0 + 1000 });
        assert.deepEqual(await store.increment(key, 1000, t0 + 1000), { count: 1, resetAt: t0 + 2000 });
      });

      it('is exact under 50 parallel increments', async (t0) => {
        const key = 'k-' + newId();
        const results = await Promise.all(Array.from({ length: 50 }, () => store.increment(key, 60_000, t0)));
        assert.deepEqual(
          results.map((r) => r.count).sort((a, b) => a - b),
          Array.from({ length: 50 }, (_, i) => i + 1),
        );
      });

      it('resets on demand', async (t0) => {
        const key = 'k-' + newId();
        await store.increment(key, 60_000, t0);
        await store.increment(key, 60_000, t0);
        await store.resetCounter(key);
        assert.equal((await store.increment(key, 60_000, t0)).count, 1);
      });
    });

    it('answers ping', async () => {
      assert.equal(await store.ping(), undefined);
    });
  });
}

import assert from 'node:assert/strict';
import { ROTATION_TOMBSTONE_MS } from '../core/lifecycle';
import type { SessionRecord } from '../core/session-record';
import type { ReadResult, RotateResult, SessionStore, UpdateResult } from '../stores/session-store';
import { EvictionTarget, FIXTURE_ABSOLUTE_TIMEOUT_MS, FIXTURE_IDLE_TIMEOUT_MS, StoreFixture, makeRecord, newId } from './session-fixtures';
import { suiteView } from './routed-ids';

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

/** Narrows an update result to `status` (ok or conflict, which carry a record), or fails with what was found. */
function assertUpdate<S extends 'ok' | 'conflict'>(
  result: UpdateResult,
  status: S,
): asserts result is Extract<UpdateResult, { status: S }> {
  assert.equal(result.status, status, `expected update to answer ${status}, got ${JSON.stringify(result)}`);
}

/** Runs a mutation of a returned record: a frozen record throws a TypeError, which is as good as a copy. */
function tryToMutate(mutate: () => void): void {
  try {
    mutate();
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
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
 * A backend that cannot give every guarantee (memcached evicts entries under memory pressure and keeps nothing
 * across a restart) declares it on its fixture, `capabilities: { evictsEntries: true, survivesRestart: false }`, with
 * an `evict(target)` hook: the suite then checks the weaker documented behaviour (an evicted entry means logged out,
 * never let in) instead of the stronger one. Without a declaration the same scenarios must keep every session.
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
      // A store that routes by user (Redis Cluster) gets ids carrying the user's routing tag, as the manager mints them.
      store = suiteView(fixture.store);
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

      it('returns copies or frozen records: mutating a returned record changes nothing stored', async (t0) => {
        const id = newId();
        await store.create(id, makeRecord(t0, { data: { n: 1, list: [1] } }), { now: t0, maxConcurrent: 0 });
        const first = await read(id, t0);
        assertActive(first);
        tryToMutate(() => (first.record.data.n = 99));
        tryToMutate(() => (first.record.data.list as number[]).push(2));
        tryToMutate(() => (first.record.userId = 'mallory'));
        const second = await read(id, t0);
        assertActive(second);
        assert.deepEqual(second.record.data, { n: 1, list: [1] });
        assert.notEqual(second.record.userId, 'mallory');
      });

      it('keeps no reference to what it was given: changing the input afterwards changes nothing stored', async (t0) => {
        const id = newId();
        const rec = makeRecord(t0, { data: { n: 1 } });
        await store.create(id, rec, { now: t0, maxConcurrent: 0 });
        rec.data.n = 2;
        rec.userId = 'mallory';
        const data = { m: [1] };
        await store.update(id, 1, { data }, t0);
        data.m.push(2);
        const got = await read(id, t0);
        assertActive(got);
        assert.deepEqual(got.record.data, { m: [1] });
        assert.notEqual(got.record.userId, 'mallory');
      });

      it('keeps the stage, and lets rotate and update change it', async (t0) => {
        const id = newId();
        const next = newId();
        await store.create(id, makeRecord(t0, { stage: 'pending' }), { now: t0, maxConcurrent: 0 });
        const pending = await read(id, t0);
        assertActive(pending);
        assert.equal(pending.record.stage, 'pending');
        // The second factor is proven: the sign-in completes with a rotation.
        const rotated = await store.rotate(id, next, { now: t0, graceMs: 0, changes: { stage: 'complete', aal: 2 } });
        assert.equal(rotated.status, 'rotated');
        assert.equal(rotated.status === 'rotated' && rotated.record.stage, 'complete');
        const complete = await read(next, t0);
        assertActive(complete);
        assertFields(complete.record, { stage: 'complete', aal: 2, version: 2 }, 'the completed session');
        const res = await store.update(next, 2, { stage: 'pending' }, t0);
        assertUpdate(res, 'ok');
        assert.equal(res.record.stage, 'pending');
        const again = await read(next, t0);
        assertActive(again);
        assertFields(again.record, { stage: 'pending', version: 3 }, 'the session after update');
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
        assert.deepEqual(res, { status: 'ok', id, record: { ...rec, data: { theme: 'dark' }, aal: 2, version: 2 } });
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
        assertUpdate(res, 'conflict');
        assert.equal(res.id, id);
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
        assert.deepEqual(await read(id, t0 + 10_000), { status: 'tombstone' });
        assert.equal((await read(next, t0 + 10_000)).status, 'active');
      });

      it('answers tombstone for a rotated-away id past its grace window, and missing once it is forgotten', async (t0) => {
        const id = newId();
        const next = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        await store.rotate(id, next, { now: t0, graceMs: 1000, changes: { rotatedAt: t0 } });
        assert.deepEqual(await read(id, t0 + 1000), { status: 'tombstone' });
        assert.deepEqual(await read(id, t0 + ROTATION_TOMBSTONE_MS - 1), { status: 'tombstone' });
        assert.deepEqual(await read(id, t0 + ROTATION_TOMBSTONE_MS), { status: 'missing' });
        assert.equal((await read(next, t0 + ROTATION_TOMBSTONE_MS)).status, 'active');
      });

      it('kills the old id at once when graceMs is 0 (privilege change)', async (t0) => {
        const id = newId();
        const next = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        await store.rotate(id, next, { now: t0, graceMs: 0, changes: { rotatedAt: t0, aal: 2 } });
        assert.deepEqual(await read(id, t0), { status: 'tombstone' });
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

      it('reports missing when rotating an unknown, expired or forgotten id', async (t0) => {
        assert.deepEqual(await store.rotate(newId(), newId(), { now: t0, graceMs: 0, changes: {} }), { status: 'missing' });
        const id = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        assert.deepEqual(await store.rotate(id, newId(), { now: t0 + IDLE, graceMs: 0, changes: {} }), { status: 'missing' });
        const a = newId();
        await store.create(a, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        await store.rotate(a, newId(), { now: t0, graceMs: 1000, changes: {} });
        const later = t0 + ROTATION_TOMBSTONE_MS;
        assert.deepEqual(await store.rotate(a, newId(), { now: later, graceMs: 1000, changes: {} }), { status: 'missing' });
      });

      it('answers tombstone when rotating a rotated-away id past its grace window', async (t0) => {
        const a = newId();
        await store.create(a, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        await store.rotate(a, newId(), { now: t0, graceMs: 1000, changes: {} });
        assert.deepEqual(await store.rotate(a, newId(), { now: t0 + 1000, graceMs: 1000, changes: {} }), { status: 'tombstone' });
        const b = newId();
        await store.create(b, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        await store.rotate(b, newId(), { now: t0, graceMs: 0, changes: {} });
        assert.deepEqual(await store.rotate(b, newId(), { now: t0, graceMs: 0, changes: {} }), { status: 'tombstone' });
        const late = t0 + ROTATION_TOMBSTONE_MS - 1;
        assert.deepEqual(await store.rotate(b, newId(), { now: late, graceMs: 0, changes: {} }), { status: 'tombstone' });
      });

      it('never mints two successors without grace either: 20 parallel rotations yield one, the rest tombstone', async (t0) => {
        const id = newId();
        await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
        const candidates = Array.from({ length: 20 }, () => newId());
        const results = await Promise.all(candidates.map((c) => store.rotate(id, c, { now: t0, graceMs: 0, changes: { rotatedAt: t0 } })));
        const statuses = results.map((r) => r.status);
        assert.equal(statuses.filter((s) => s === 'rotated').length, 1, `exactly one rotation should win, got ${JSON.stringify(statuses)}`);
        assert.equal(
          statuses.filter((s) => s === 'tombstone').length,
          19,
          `the others should meet a tombstone, got ${JSON.stringify(statuses)}`,
        );
        const winner = candidates[statuses.indexOf('rotated')];
        const got = await read(winner, t0);
        assertActive(got);
        assert.equal(got.record.version, 2);
        assert.equal(await store.countByUser(got.record.userId, t0), 1);
        for (const c of candidates.filter((c) => c !== winner)) assert.deepEqual(await read(c, t0), { status: 'missing' });
      });
    });

    describe('writes racing a rotation', () => {
      for (const graceMs of [10_000, 0]) {
        const through = graceMs > 0 ? 'within the grace window' : 'through a tombstone (graceMs 0)';

        it(`a slow write to the old id follows the rotation ${through}: conflict at the successor, retry there, nothing lost`, async (t0) => {
          const id = newId();
          const next = newId();
          await store.create(id, makeRecord(t0, { data: { before: 1 } }), { now: t0, maxConcurrent: 0 });
          const loaded = await read(id, t0);
          assertActive(loaded);
          // A periodic rotation (another request) lands while this request is still computing its write.
          const rotated = await store.rotate(id, next, { now: t0 + 1, graceMs, changes: { rotatedAt: t0 + 1 } });
          assert.equal(rotated.status, 'rotated');
          const stale = await store.update(id, loaded.record.version, { data: { ...loaded.record.data, slow: true } }, t0 + 2);
          assertUpdate(stale, 'conflict');
          assert.equal(stale.id, next, 'the conflict should name the successor, where the retry must go');
          assertFields(stale.record, { version: 2, rotatedAt: t0 + 1, data: { before: 1 } }, 'the record in the conflict');
          const retried = await store.update(stale.id, stale.record.version, { data: { ...stale.record.data, slow: true } }, t0 + 3);
          assertUpdate(retried, 'ok');
          assert.equal(retried.id, next);
          const got = await read(next, t0 + 3);
          assertActive(got);
          assertFields(got.record, { version: 3, rotatedAt: t0 + 1, data: { before: 1, slow: true } }, 'the session after the retry');
        });

        it(`a write to the old id with the current version lands on the successor ${through}, until the id is forgotten`, async (t0) => {
          const id = newId();
          const next = newId();
          await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
          await store.rotate(id, next, { now: t0, graceMs, changes: {} });
          const res = await store.update(id, 2, { data: { late: true } }, t0 + ROTATION_TOMBSTONE_MS - 1);
          assertUpdate(res, 'ok');
          assert.equal(res.id, next);
          const got = await read(next, t0);
          assertActive(got);
          assertFields(got.record, { version: 3, data: { late: true } }, 'the successor');
          assert.deepEqual(await store.update(id, 3, { data: {} }, t0 + ROTATION_TOMBSTONE_MS), { status: 'missing' });
        });

        it(`20 parallel writers with compare-and-set retries lose nothing when a rotation lands among them, ${through}`, async (t0) => {
          const id = newId();
          const next = newId();
          await store.create(id, makeRecord(t0), { now: t0, maxConcurrent: 0 });
          let succeeded = 0;
          let rotation: Promise<RotateResult> | undefined;
          // As SessionManager.updateData does: mutate a copy of the data, write with the version it was read at,
          // and on conflict retry from the record and at the id the store answered with.
          const writer = async (n: number) => {
            const loaded = await read(id, t0);
            assertActive(loaded, `writer ${n}'s first read`);
            let at = loaded.id;
            let current = loaded.record;
            for (let attempt = 0; attempt < 100; attempt++) {
              const draft = structuredClone(current.data);
              draft[`w${n}`] = n;
              const res = await store.update(at, current.version, { data: draft }, t0 + 1);
              if (res.status === 'missing')
                throw new Error(`writer ${n} got missing writing to ${at === id ? 'the old id' : 'the successor'}`);
              if (res.status === 'ok') {
                // The rotation starts once a quarter of the writers are done: the others are in flight around it.
                if (++succeeded === 5) rotation = store.rotate(id, next, { now: t0 + 1, graceMs, changes: { rotatedAt: t0 + 1 } });
                return;
              }
              at = res.id;
              current = res.record;
            }
            throw new Error(`writer ${n}: still conflicting after 100 attempts`);
          };
          await Promise.all(Array.from({ length: 20 }, (_, n) => writer(n)));
          assert.equal((await rotation)?.status, 'rotated');
          const got = await read(next, t0 + 1);
          assertActive(got);
          assert.deepEqual(got.record.data, Object.fromEntries(Array.from({ length: 20 }, (_, n) => [`w${n}`, n])));
          assert.equal(got.record.version, 22, 'one version per write and one for the rotation');
        });
      }
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

      it('destroying through a tombstone ends the successor too', async (t0) => {
        const id = newId();
        const next = newId();
        const rec = makeRecord(t0);
        await store.create(id, rec, { now: t0, maxConcurrent: 0 });
        await store.rotate(id, next, { now: t0, graceMs: 0, changes: { rotatedAt: t0 } });
        assert.deepEqual(await store.destroy(id), { ...rec, rotatedAt: t0, version: 2 });
        assert.deepEqual(await read(next, t0), { status: 'missing' });
        assert.equal(await store.countByUser(rec.userId, t0), 0);
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
        assert.deepEqual(await store.create(ids[0], recs[0], { now: t0, maxConcurrent: 2 }), { status: 'created', evicted: [] });
        assert.deepEqual(await store.create(ids[1], recs[1], { now: t0 + 1, maxConcurrent: 2 }), { status: 'created', evicted: [] });
        assert.deepEqual(await store.create(ids[2], recs[2], { now: t0 + 2, maxConcurrent: 2 }), {
          status: 'created',
          evicted: [recs[0]],
        });
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
        assert.deepEqual(res, { status: 'created', evicted: [] });
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
          results.reduce((n, r) => n + (r.status === 'created' ? r.evicted.length : Number.NaN), 0),
          7,
        );
      });
    });

    describe('roles, tiers and impersonation', () => {
      const DAY = 86_400_000;
      /** A remembered impersonation-free session with roles and its own 30-day idle timeout. */
      const remembered = (t0: number, overrides: Partial<SessionRecord> = {}) =>
        makeRecord(t0, {
          roles: ['user', 'billing'],
          tier: 'remember',
          idleTimeoutMs: 30 * DAY,
          idleExpiresAt: t0 + 30 * DAY,
          absoluteExpiresAt: t0 + 90 * DAY,
          ...overrides,
        });

      it('round-trips roles, tier, impersonatedBy and idleTimeoutMs through create, read, update, rotate, list and destroy', async (t0) => {
        const id = newId();
        const next = newId();
        const rec = remembered(t0, { roles: ['admin', 'user', 'ünïcödé ✓'] });
        const imp = makeRecord(t0 + 1, {
          userId: rec.userId,
          impersonatedBy: 'admin-' + newId(),
          idleTimeoutMs: 15 * MIN,
          roles: ['user'],
        });
        const impId = newId();
        await store.create(id, rec, { now: t0, maxConcurrent: 0 });
        await store.create(impId, imp, { now: t0, maxConcurrent: 0 });
        assert.deepEqual(await read(id, t0), { status: 'active', id, record: rec, viaGrace: false });
        assert.deepEqual(await read(impId, t0 + 1), { status: 'active', id: impId, record: imp, viaGrace: false });
        const updated = await store.update(id, 1, { data: { n: 1 }, idleTimeoutMs: 20 * DAY }, t0);
        assertUpdate(updated, 'ok');
        assert.deepEqual(updated.record, { ...rec, data: { n: 1 }, idleTimeoutMs: 20 * DAY, version: 2 });
        const rotated = await store.rotate(id, next, { now: t0, graceMs: 0, changes: { rotatedAt: t0 } });
        assert.deepEqual(rotated, { status: 'rotated', record: { ...updated.record, rotatedAt: t0, version: 3 } });
        assert.deepEqual(
          (await store.listByUser(rec.userId, t0 + 1)).map((s) => s.record),
          [rotated.status === 'rotated' && rotated.record, imp],
        );
        assert.deepEqual(await store.destroy(next), rotated.status === 'rotated' && rotated.record);
      });

      it('keeps each session on its own idle timeout: a remembered session outlives a standard idle period, a short one ends early', async (t0) => {
        const long = newId();
        const short = newId();
        await store.create(long, remembered(t0), { now: t0, maxConcurrent: 0 });
        await store.create(short, makeRecord(t0, { idleTimeoutMs: 10 * MIN, idleExpiresAt: t0 + 10 * MIN }), { now: t0, maxConcurrent: 0 });
        // Read with the module's standard 30 minutes: the records' own timeouts win.
        const t1 = t0 + 5 * MIN;
        const touchedShort = await read(short, t1);
        assertActive(touchedShort);
        assert.equal(touchedShort.record.idleExpiresAt, t1 + 10 * MIN, 'the touch moves a session by its own timeout');
        const t2 = t0 + IDLE + MIN;
        const touchedLong = await read(long, t2);
        assertActive(touchedLong, 'the remembered session, past a standard idle period');
        assert.equal(touchedLong.record.idleExpiresAt, t2 + 30 * DAY);
        assert.equal((await read(short, t1 + 10 * MIN)).status, 'expired');
        assert.equal((await read(long, t2 + 30 * DAY - 1, 60 * DAY)).status, 'active');
        assert.equal((await read(long, t2 + 30 * DAY)).status, 'expired');
      });

      describe('updateUserRoles', () => {
        it("an elevation sets the roles of every live session of the user, bumps rolesVersion and version, and requires rotation; other users' sessions are untouched", async (t0) => {
          const userId = 'u-' + newId();
          const ids = [newId(), newId()];
          for (const id of ids) await store.create(id, makeRecord(t0, { userId, roles: ['user'] }), { now: t0, maxConcurrent: 0 });
          const other = newId();
          await store.create(other, makeRecord(t0, { roles: ['user'] }), { now: t0, maxConcurrent: 0 });
          assert.equal(await store.updateUserRoles(userId, ['user', 'admin'], t0), 2);
          for (const id of ids) {
            const got = await read(id, t0);
            assertActive(got);
            assertFields(
              got.record,
              { roles: ['user', 'admin'], rotateRequired: true, rolesVersion: 1, version: 2 },
              'an elevated session',
            );
          }
          const untouched = await read(other, t0);
          assertActive(untouched);
          assertFields(untouched.record, { roles: ['user'], rotateRequired: false, rolesVersion: 0, version: 1 }, 'the other user');
          assert.equal(await store.updateUserRoles('nobody-' + newId(), ['admin'], t0), 0);
        });

        it('a demotion applies at once without requiring rotation, and never cancels a rotation already due', async (t0) => {
          const userId = 'u-' + newId();
          const id = newId();
          await store.create(id, makeRecord(t0, { userId, roles: ['user', 'admin'] }), { now: t0, maxConcurrent: 0 });
          assert.equal(await store.updateUserRoles(userId, ['user'], t0), 1);
          const demoted = await read(id, t0);
          assertActive(demoted);
          assertFields(demoted.record, { roles: ['user'], rotateRequired: false, rolesVersion: 1, version: 2 }, 'the demoted session');
          assert.equal(await store.updateUserRoles(userId, ['user', 'auditor'], t0), 1);
          assert.equal(await store.updateUserRoles(userId, [], t0), 1);
          const after = await read(id, t0);
          assertActive(after);
          assertFields(after.record, { roles: [], rotateRequired: true, rolesVersion: 3, version: 4 }, 'elevated, then demoted');
        });

        it('leaves sessions whose roles are the same set alone (order and repeats do not count), and changes only those that differ', async (t0) => {
          const userId = 'u-' + newId();
          const same = newId();
          const lower = newId();
          await store.create(same, makeRecord(t0, { userId, roles: ['admin', 'user'] }), { now: t0, maxConcurrent: 0 });
          await store.create(lower, makeRecord(t0, { userId, roles: ['user'] }), { now: t0, maxConcurrent: 0 });
          assert.equal(await store.updateUserRoles(userId, ['user', 'admin', 'user'], t0), 1);
          const unchanged = await read(same, t0);
          assertActive(unchanged);
          assertFields(unchanged.record, { roles: ['admin', 'user'], rolesVersion: 0, version: 1, rotateRequired: false }, 'the same set');
          const raised = await read(lower, t0);
          assertActive(raised);
          assertFields(raised.record, { rolesVersion: 1, version: 2, rotateRequired: true }, 'the session that gained a role');
        });

        it('changes only live sessions, impersonation sessions included, and a write computed before it conflicts', async (t0) => {
          const userId = 'u-' + newId();
          const live = newId();
          const stale = newId();
          const imp = newId();
          await store.create(live, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 0 });
          await store.create(stale, makeRecord(t0, { userId, idleExpiresAt: t0 + 10 }), { now: t0, maxConcurrent: 0 });
          await store.create(imp, makeRecord(t0, { userId, impersonatedBy: 'admin-' + newId() }), { now: t0, maxConcurrent: 0 });
          const before = await read(live, t0 + 10);
          assertActive(before);
          assert.equal(await store.updateUserRoles(userId, ['viewer'], t0 + 10), 2);
          // The expired session was not changed (a store may also have deleted it on the way).
          const expired = await read(stale, t0 + 10);
          assert.ok(expired.status === 'expired' || expired.status === 'missing', `expected the stale session over, got ${expired.status}`);
          if (expired.status === 'expired') assertFields(expired.record, { roles: [], version: 1 }, 'the expired session');
          const impersonation = await read(imp, t0 + 10);
          assertActive(impersonation);
          assert.deepEqual(impersonation.record.roles, ['viewer']);
          // A request that loaded the session before the change writes with the old version: it conflicts and
          // retries from the record with the new roles.
          const write = await store.update(live, before.record.version, { data: { late: true } }, t0 + 10);
          assertUpdate(write, 'conflict');
          assertFields(write.record, { roles: ['viewer'], rotateRequired: true }, 'the record in the conflict');
        });

        it('reaches a session through its rotation: the successor carries the new roles', async (t0) => {
          const userId = 'u-' + newId();
          const id = newId();
          const next = newId();
          await store.create(id, makeRecord(t0, { userId, roles: ['user'] }), { now: t0, maxConcurrent: 0 });
          await store.rotate(id, next, { now: t0, graceMs: 10_000, changes: { rotatedAt: t0 } });
          assert.equal(await store.updateUserRoles(userId, ['user', 'admin'], t0), 1);
          const via = await read(id, t0 + 1);
          assertActive(via);
          assert.equal(via.id, next);
          assertFields(via.record, { roles: ['user', 'admin'], rotateRequired: true, version: 3 }, 'the successor');
        });
      });

      describe("concurrent-session limit: 'deny-new' and impersonation", () => {
        it("'deny-new' at the limit stores nothing and answers the live sessions, oldest first; expired ones do not count", async (t0) => {
          const userId = 'u-' + newId();
          const ids = [newId(), newId(), newId()];
          const recs = ids.map((_, i) => makeRecord(t0 + i, { userId }));
          const deny = (now: number) => ({ now, maxConcurrent: 2, onLimit: 'deny-new' as const });
          await store.create(newId(), makeRecord(t0 - 1, { userId, idleExpiresAt: t0 + 1 }), deny(t0));
          assert.deepEqual(await store.create(ids[0], recs[0], deny(t0 + 1)), { status: 'created', evicted: [] });
          assert.deepEqual(await store.create(ids[1], recs[1], deny(t0 + 1)), { status: 'created', evicted: [] });
          assert.deepEqual(await store.create(ids[2], recs[2], deny(t0 + 2)), { status: 'denied', live: [recs[0], recs[1]] });
          assert.deepEqual(await read(ids[2], t0 + 2), { status: 'missing' });
          assert.deepEqual(
            (await store.listByUser(userId, t0 + 2)).map((s) => s.id),
            [ids[0], ids[1]],
          );
          // The refused id was never stored: it can still be created once there is room.
          await store.destroy(ids[0]);
          assert.deepEqual(await store.create(ids[2], recs[2], deny(t0 + 3)), { status: 'created', evicted: [] });
        });

        it("'deny-new' under 20 parallel logins never exceeds the limit, and each refusal names the live sessions", async (t0) => {
          const userId = 'u-' + newId();
          const ids = Array.from({ length: 20 }, () => newId());
          const results = await Promise.all(
            ids.map((id, i) => store.create(id, makeRecord(t0 + i, { userId }), { now: t0 + i, maxConcurrent: 3, onLimit: 'deny-new' })),
          );
          const created = ids.filter((_, i) => results[i].status === 'created');
          assert.equal(created.length, 3, `exactly 3 logins should pass, got ${JSON.stringify(results.map((r) => r.status))}`);
          const live = await store.listByUser(userId, t0 + 20);
          assert.deepEqual(live.map((s) => s.id).sort(), [...created].sort());
          const handles = live.map((s) => s.record.handle).sort();
          for (const r of results) {
            if (r.status === 'created') assert.deepEqual(r.evicted, []);
            else assert.deepEqual(r.live.map((s) => s.handle).sort(), handles);
          }
        });

        it('impersonation sessions neither count toward the limit nor get evicted, and are listed with the user', async (t0) => {
          const userId = 'u-' + newId();
          const imp = newId();
          const own = [newId(), newId(), newId()];
          const impRec = makeRecord(t0, { userId, impersonatedBy: 'admin-' + newId() });
          await store.create(imp, impRec, { now: t0, maxConcurrent: 1, onLimit: 'evict-oldest' });
          // One own session fits next to it under a limit of 1, with either policy.
          assert.deepEqual(
            await store.create(own[0], makeRecord(t0 + 1, { userId }), { now: t0 + 1, maxConcurrent: 1, onLimit: 'deny-new' }),
            {
              status: 'created',
              evicted: [],
            },
          );
          // The next own login evicts the older own session, never the impersonation one.
          const evicting = await store.create(own[1], makeRecord(t0 + 2, { userId }), { now: t0 + 2, maxConcurrent: 1 });
          assert.equal(evicting.status, 'created');
          assert.deepEqual(evicting.status === 'created' && evicting.evicted.map((r) => r.impersonatedBy), [null]);
          // An impersonation session is created even when the user is at the limit, and evicts nothing.
          const second = makeRecord(t0 + 3, { userId, impersonatedBy: 'admin-' + newId() });
          assert.deepEqual(await store.create(newId(), second, { now: t0 + 3, maxConcurrent: 1, onLimit: 'deny-new' }), {
            status: 'created',
            evicted: [],
          });
          const denied = await store.create(own[2], makeRecord(t0 + 4, { userId }), { now: t0 + 4, maxConcurrent: 1, onLimit: 'deny-new' });
          assert.equal(denied.status, 'denied');
          assert.deepEqual(denied.status === 'denied' && denied.live.map((r) => r.impersonatedBy), [null]);
          const listed = await store.listByUser(userId, t0 + 4);
          assert.deepEqual(
            listed.map((s) => s.record.impersonatedBy),
            [impRec.impersonatedBy, null, second.impersonatedBy],
          );
          assert.equal(await store.countByUser(userId, t0 + 4), 3);
        });
      });
    });

    describe('pending sessions: the short deadline and the concurrent-session limit', () => {
      const PENDING = 5 * MIN;
      /** A pending session (second factor due) of `userId` created at `at`, capped `PENDING` after its creation. */
      const pending = (at: number, userId: string) =>
        makeRecord(at, { userId, stage: 'pending', idleExpiresAt: at + PENDING, absoluteExpiresAt: at + PENDING, idleTimeoutMs: IDLE });
      /** The changes of a completion at `at`: stage complete, aal 2, and the full timeouts from then on. */
      const completion = (at: number) => ({
        stage: 'complete' as const,
        aal: 2,
        rotatedAt: at,
        authenticatedAt: at,
        lastSeenAt: at,
        idleExpiresAt: at + IDLE,
        absoluteExpiresAt: at + ABSOLUTE,
      });
      const evictOldest = (maxConcurrent: number) => ({ maxConcurrent, onLimit: 'evict-oldest' as const });
      const denyNew = (maxConcurrent: number) => ({ maxConcurrent, onLimit: 'deny-new' as const });
      /** Sessions of the user that count toward the limit: complete and not impersonation. */
      const counted = async (userId: string, now: number) =>
        (await store.listByUser(userId, now)).filter((s) => s.record.stage === 'complete' && s.record.impersonatedBy === null);

      it('a pending session ends at its short absolute deadline, reported as expired like any timed-out session', async (t0) => {
        const id = newId();
        await store.create(id, pending(t0, 'u-' + newId()), { now: t0, maxConcurrent: 0 });
        assertActive(await read(id, t0 + PENDING - 1, 1));
        const over = await read(id, t0 + PENDING);
        assert.equal(over.status, 'expired');
        assert.deepEqual(await read(id, t0 + PENDING), { status: 'missing' });
      });

      it('the completing rotation moves the deadlines: the completed session outlives the pending cap', async (t0) => {
        const id = newId();
        const next = newId();
        await store.create(id, pending(t0, 'u-' + newId()), { now: t0, maxConcurrent: 0 });
        const t1 = t0 + 2 * MIN;
        const done = await store.rotate(id, next, { now: t1, graceMs: 0, changes: completion(t1), limit: evictOldest(10) });
        assert.equal(done.status, 'rotated', `expected the completion to rotate, got ${JSON.stringify(done)}`);
        assertFields(
          done.status === 'rotated' ? done.record : {},
          { stage: 'complete', aal: 2, absoluteExpiresAt: t1 + ABSOLUTE, idleExpiresAt: t1 + IDLE, version: 2 },
          'the completed record',
        );
        const later = await read(next, t0 + PENDING + MIN);
        assertActive(later, 'the completed session, past the pending cap');
        assertFields(later.record, { stage: 'complete', absoluteExpiresAt: t1 + ABSOLUTE }, 'the completed session as stored');
        assert.equal((await read(next, t1 + ABSOLUTE, 24 * 60 * MIN)).status, 'expired');
      });

      it('a pending session neither counts nor is evicted, and is created at the limit under either policy, evicting nothing', async (t0) => {
        const userId = 'u-' + newId();
        const [waiting, own, deniedOwn, newer, late] = [newId(), newId(), newId(), newId(), newId()];
        // The oldest session of the user is pending: a login beyond the limit must still pass it by.
        assert.deepEqual(await store.create(waiting, pending(t0, userId), { now: t0, maxConcurrent: 1, onLimit: 'deny-new' }), {
          status: 'created',
          evicted: [],
        });
        // It does not count: a complete login fits under a limit of 1 next to it, even with 'deny-new'.
        const ownRecord = makeRecord(t0 + 1, { userId });
        assert.deepEqual(await store.create(own, ownRecord, { now: t0 + 1, maxConcurrent: 1, onLimit: 'deny-new' }), {
          status: 'created',
          evicted: [],
        });
        // Now at the limit: 'deny-new' names only the complete session.
        assert.deepEqual(await store.create(deniedOwn, makeRecord(t0 + 2, { userId }), denyNewAt(t0 + 2)), {
          status: 'denied',
          live: [ownRecord],
        });
        // More pending sign-ins are created at the limit, under either policy, and evict nothing.
        for (const [i, onLimit] of (['deny-new', 'evict-oldest'] as const).entries()) {
          assert.deepEqual(await store.create(newId(), pending(t0 + 3 + i, userId), { now: t0 + 3 + i, maxConcurrent: 1, onLimit }), {
            status: 'created',
            evicted: [],
          });
        }
        // 'evict-oldest' evicts the oldest complete session, never the older pending one.
        const evicting = await store.create(newer, makeRecord(t0 + 5, { userId }), { now: t0 + 5, maxConcurrent: 1 });
        assert.deepEqual(evicting, { status: 'created', evicted: [ownRecord] });
        assertActive(await read(waiting, t0 + 5, 10 * MIN), 'the pending session, older than the evicted one');
        assert.deepEqual(await read(own, t0 + 5), { status: 'missing' });
        // Pending sessions are live sessions of the user all the same: listed and counted by countByUser.
        const listed = await store.listByUser(userId, t0 + 5);
        assert.deepEqual(
          listed.map((s) => s.record.stage),
          ['pending', 'pending', 'pending', 'complete'],
        );
        assert.equal(await store.countByUser(userId, t0 + 5), 4);
        assert.deepEqual(
          (await counted(userId, t0 + 5)).map((s) => s.id),
          [newer],
        );
        // Expired pending sessions are gone as any other.
        assert.deepEqual(
          await store.create(late, makeRecord(t0 + PENDING + 10, { userId }), { now: t0 + PENDING + 10, maxConcurrent: 2 }),
          {
            status: 'created',
            evicted: [],
          },
        );
        assert.equal(await store.countByUser(userId, t0 + PENDING + 10), 2);

        function denyNewAt(now: number) {
          return { now, maxConcurrent: 1, onLimit: 'deny-new' as const };
        }
      });

      it("completing under 'evict-oldest' evicts the user's oldest other counted sessions, never itself nor an impersonation session", async (t0) => {
        const userId = 'u-' + newId();
        const [waiting, imp, first, second, next] = [newId(), newId(), newId(), newId(), newId()];
        await store.create(waiting, pending(t0, userId), { now: t0, maxConcurrent: 2 });
        await store.create(imp, makeRecord(t0, { userId, impersonatedBy: 'admin-' + newId() }), { now: t0, maxConcurrent: 2 });
        const firstRecord = makeRecord(t0 + 1, { userId });
        await store.create(first, firstRecord, { now: t0 + 1, maxConcurrent: 2 });
        await store.create(second, makeRecord(t0 + 2, { userId }), { now: t0 + 2, maxConcurrent: 2 });
        // The pending session is the oldest of all, yet its completion is the newest sign-in: the oldest other goes.
        const t1 = t0 + MIN;
        const done = await store.rotate(waiting, next, { now: t1, graceMs: 0, changes: completion(t1), limit: evictOldest(2) });
        assert.equal(done.status, 'rotated', `expected the completion to rotate, got ${JSON.stringify(done)}`);
        assert.deepEqual(done.status === 'rotated' && done.evicted, [firstRecord]);
        assert.deepEqual(await read(first, t1), { status: 'missing' });
        assertActive(await read(imp, t1), 'the impersonation session');
        assert.deepEqual(
          (await counted(userId, t1)).map((s) => s.id),
          [next, second],
        );
        assert.equal(await store.countByUser(userId, t1), 3);
      });

      it("completing under 'deny-new' at the limit changes nothing, and answers the user's counted live sessions", async (t0) => {
        const userId = 'u-' + newId();
        const [own, waiting, next, retry] = [newId(), newId(), newId(), newId()];
        const ownRecord = makeRecord(t0, { userId });
        await store.create(own, ownRecord, { now: t0, maxConcurrent: 1, onLimit: 'deny-new' });
        // An impersonation session and another pending one are not counted, nor listed in the refusal.
        await store.create(newId(), makeRecord(t0, { userId, impersonatedBy: 'admin-' + newId() }), { now: t0, maxConcurrent: 1 });
        await store.create(newId(), pending(t0, userId), { now: t0, maxConcurrent: 1 });
        const waitingRecord = pending(t0 + 1, userId);
        await store.create(waiting, waitingRecord, { now: t0 + 1, maxConcurrent: 1, onLimit: 'deny-new' });
        const t1 = t0 + MIN;
        const refused = await store.rotate(waiting, next, { now: t1, graceMs: 0, changes: completion(t1), limit: denyNew(1) });
        assert.deepEqual(refused, { status: 'denied', live: [ownRecord] });
        // Nothing moved: the session is still pending under its own id (no pointer, same version), the new id unused.
        assert.deepEqual(await read(waiting, t1, 10 * MIN), { status: 'active', id: waiting, record: waitingRecord, viaGrace: false });
        assert.deepEqual(await read(next, t1), { status: 'missing' });
        assert.ok(
          (await store.listByUser(userId, t1)).some((s) => s.id === waiting),
          'the refused session is still listed under its id',
        );
        assertActive(await read(own, t1), 'the counted session');
        // Once a device is signed out there is room: the same completion goes through, evicting nothing.
        await store.destroy(own);
        const done = await store.rotate(waiting, retry, { now: t1 + 1, graceMs: 0, changes: completion(t1 + 1), limit: denyNew(1) });
        assert.equal(done.status, 'rotated', `expected the completion to rotate, got ${JSON.stringify(done)}`);
        assert.deepEqual((done.status === 'rotated' && done.evicted) || [], []);
        assert.deepEqual(
          (await counted(userId, t1 + 1)).map((s) => [s.id, s.record.handle, s.record.stage]),
          [[retry, waitingRecord.handle, 'complete']],
        );
      });

      it('holds the limit only when the rotation makes the session count: other rotations, and completions without a limit, evict nothing', async (t0) => {
        const userId = 'u-' + newId();
        const [a, b, waiting, waiting2] = [newId(), newId(), newId(), newId()];
        await store.create(a, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 0 });
        await store.create(b, makeRecord(t0 + 1, { userId }), { now: t0 + 1, maxConcurrent: 0 });
        await store.create(waiting, pending(t0 + 2, userId), { now: t0 + 2, maxConcurrent: 0 });
        await store.create(waiting2, pending(t0 + 2, userId), { now: t0 + 2, maxConcurrent: 0 });
        const t1 = t0 + MIN;
        // A complete session's rotation, and a pending session's rotation that keeps it pending: the limit is not theirs.
        const periodic = await store.rotate(b, newId(), { now: t1, graceMs: 0, changes: { rotatedAt: t1 }, limit: denyNew(1) });
        assert.equal(periodic.status, 'rotated');
        assert.deepEqual((periodic.status === 'rotated' && periodic.evicted) || [], []);
        const stillPending = await store.rotate(waiting, newId(), { now: t1, graceMs: 0, changes: { rotatedAt: t1 }, limit: denyNew(1) });
        assert.equal(stillPending.status, 'rotated');
        assert.deepEqual((stillPending.status === 'rotated' && stillPending.evicted) || [], []);
        // A completion without a limit (or a limit of 0) counts nothing.
        const unlimited = await store.rotate(waiting2, newId(), { now: t1, graceMs: 0, changes: completion(t1), limit: denyNew(0) });
        assert.equal(unlimited.status, 'rotated');
        assert.deepEqual((unlimited.status === 'rotated' && unlimited.evicted) || [], []);
        assert.equal((await counted(userId, t1)).length, 3);
        assertActive(await read(a, t1), 'the oldest session');
      });

      it('parallel completions never exceed the limit: 10 at once under a limit of 3, with either policy', async (t0) => {
        for (const onLimit of ['deny-new', 'evict-oldest'] as const) {
          const userId = 'u-' + newId();
          const ids = Array.from({ length: 10 }, () => newId());
          for (const [i, id] of ids.entries()) await store.create(id, pending(t0 + i, userId), { now: t0 + i, maxConcurrent: 3, onLimit });
          const t1 = t0 + MIN;
          const results = await Promise.all(
            ids.map((id) =>
              store.rotate(id, newId(), { now: t1, graceMs: 0, changes: completion(t1), limit: { maxConcurrent: 3, onLimit } }),
            ),
          );
          const statuses = results.map((r) => r.status);
          assert.equal((await counted(userId, t1)).length, 3, `${onLimit}: ${JSON.stringify(statuses)}`);
          if (onLimit === 'deny-new') {
            assert.equal(
              statuses.filter((s) => s === 'rotated').length,
              3,
              `exactly 3 completions should pass, got ${JSON.stringify(statuses)}`,
            );
            assert.equal(statuses.filter((s) => s === 'denied').length, 7);
            // The refused ones are still pending, under their own ids.
            assert.equal(await store.countByUser(userId, t1), 10);
          } else {
            assert.deepEqual(statuses, Array(10).fill('rotated'));
            const evicted = results.reduce((n, r) => n + (r.status === 'rotated' ? (r.evicted ?? []).length : Number.NaN), 0);
            assert.equal(evicted, 7);
            assert.equal(await store.countByUser(userId, t1), 3);
          }
        }
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

    describe('declared capabilities: eviction and restarts (StoreFixture.capabilities)', () => {
      // A store that declares a weaker guarantee gets these checks of the weaker behaviour; one that declares none
      // (the default: full guarantees) gets the same scenarios without the eviction, and must keep everything.
      const evicts = () => fixture?.capabilities?.evictsEntries === true;
      const losesAtRestart = () => fixture?.capabilities?.survivesRestart === false;
      const evict = async (target: EvictionTarget) => {
        if (!fixture?.evict) {
          throw new TypeError(
            'describeSessionStore: the fixture declares capabilities with evictsEntries or survivesRestart: false, so it must also ' +
              "give evict(target), which removes that entry behind the store's back (see StoreFixture.evict)",
          );
        }
        await fixture.evict(target);
      };
      const isLive = async (id: string, now: number) => (await read(id, now)).status === 'active';

      it('an evicted session is logged out, never let in (without evictsEntries: it stays)', async (t0) => {
        const userId = 'u-' + newId();
        const id = newId();
        const other = newId();
        await store.create(id, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 0 });
        await store.create(other, makeRecord(t0 + 1, { userId }), { now: t0 + 1, maxConcurrent: 0 });
        if (!evicts()) {
          assert.ok(await isLive(id, t0), 'a store that declares no eviction keeps the session');
          assert.equal(await store.countByUser(userId, t0), 2);
          return;
        }
        await evict({ kind: 'session', id });
        assert.deepEqual(await read(id, t0), { status: 'missing' }, 'an evicted session must read as missing');
        assert.deepEqual(await store.update(id, 1, { data: { late: true } }, t0), { status: 'missing' });
        assert.deepEqual(await store.rotate(id, newId(), { now: t0, graceMs: 10_000, changes: {} }), { status: 'missing' });
        assert.deepEqual(
          (await store.listByUser(userId, t0)).map((s) => s.id),
          [other],
          'an evicted session is neither listed nor counted',
        );
        assert.equal(await store.countByUser(userId, t0), 1);
        assert.ok(await isLive(other, t0), "the user's other session is not affected");
      });

      it('an evicted user index logs the user out everywhere, and a destroyed session never comes back (without evictsEntries: they stay)', async (t0) => {
        const userId = 'u-' + newId();
        const [a, b, b2] = [newId(), newId(), newId()];
        await store.create(a, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 0 });
        await store.create(b, makeRecord(t0 + 1, { userId }), { now: t0 + 1, maxConcurrent: 0 });
        await store.rotate(b, b2, { now: t0 + 1, graceMs: 10_000, changes: { rotatedAt: t0 + 1 } });
        if (!evicts()) {
          for (const id of [a, b, b2]) assert.ok(await isLive(id, t0 + 2), 'a store that declares no eviction keeps every session');
          return;
        }
        await evict({ kind: 'user', userId });
        for (const id of [a, b, b2]) {
          assert.notEqual((await read(id, t0 + 2)).status, 'active', 'a session whose user index was evicted must not authenticate');
        }
        assert.notEqual((await store.update(a, 1, { data: { late: true } }, t0 + 2)).status, 'ok');
        await store.destroyByUser(userId);
        for (const id of [a, b, b2]) assert.notEqual((await read(id, t0 + 2)).status, 'active', 'a destroyed session came back');
        // The user signs in again, under a limit of 1: only the new session lives.
        const c = newId();
        assert.equal((await store.create(c, makeRecord(t0 + 3, { userId }), { now: t0 + 3, maxConcurrent: 1 })).status, 'created');
        assert.deepEqual(
          (await store.listByUser(userId, t0 + 3)).map((s) => s.id),
          [c],
        );
        for (const id of [a, b, b2]) assert.notEqual((await read(id, t0 + 3)).status, 'active', 'an evicted session came back');
      });

      it('an eviction never lets a user exceed the concurrent-session limit unnoticed', async (t0) => {
        const userId = 'u-' + newId();
        const ids = Array.from({ length: 6 }, () => newId());
        const create = (i: number, onLimit: 'evict-oldest' | 'deny-new' = 'evict-oldest') =>
          store.create(ids[i], makeRecord(t0 + i, { userId }), { now: t0 + i, maxConcurrent: 2, onLimit });
        await create(0);
        await create(1);
        if (evicts()) await evict({ kind: 'session', id: ids[0] });
        await create(2);
        await create(3);
        assert.equal((await create(4, 'deny-new')).status, 'denied', 'the user is at the limit of 2');
        const now = t0 + 5;
        const live = async () => {
          const found: string[] = [];
          for (const id of ids) if (await isLive(id, now)) found.push(id);
          return found;
        };
        const after = await live();
        assert.ok(after.length <= 2, `at most 2 sessions may authenticate, found ${after.length}`);
        assert.deepEqual(after, [ids[2], ids[3]], 'the two newest sessions are the live ones');
        assert.deepEqual(
          (await store.listByUser(userId, now)).map((s) => s.id),
          after,
          'the listing shows exactly the sessions that authenticate',
        );
        if (!evicts()) return;
        // The whole index goes: the next login is not refused by sessions that can no longer authenticate, and
        // still no more than 2 sessions authenticate.
        await evict({ kind: 'user', userId });
        assert.equal((await create(5, 'deny-new')).status, 'created');
        const final = await live();
        assert.ok(final.length <= 2, `at most 2 sessions may authenticate after the index was evicted, found ${final.length}`);
        assert.ok(final.includes(ids[5]));
      });

      it('an evicted counter starts again at 1 (without evictsEntries: it keeps counting)', async (t0) => {
        const key = 'k-' + newId();
        await store.increment(key, 60_000, t0);
        await store.increment(key, 60_000, t0);
        if (!evicts()) {
          assert.equal((await store.increment(key, 60_000, t0 + 1)).count, 3);
          return;
        }
        await evict({ kind: 'counter', key });
        assert.deepEqual(await store.increment(key, 60_000, t0 + 1), { count: 1, resetAt: t0 + 1 + 60_000 });
      });

      it('a restart that loses everything logs every session out and lets the user sign in again (with survivesRestart: false)', async (t0) => {
        const userId = 'u-' + newId();
        const key = 'k-' + newId();
        const [a, b, b2] = [newId(), newId(), newId()];
        await store.create(a, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 0 });
        await store.create(b, makeRecord(t0, { userId }), { now: t0, maxConcurrent: 0 });
        await store.rotate(b, b2, { now: t0, graceMs: 10_000, changes: {} });
        await store.increment(key, 60_000, t0);
        if (!losesAtRestart()) {
          assert.ok((await isLive(a, t0)) && (await isLive(b2, t0)), 'the sessions are kept');
          assert.equal((await store.increment(key, 60_000, t0)).count, 2);
          return;
        }
        // What a restart does to this user: every entry gone at once.
        for (const id of [a, b, b2]) await evict({ kind: 'session', id });
        await evict({ kind: 'user', userId });
        await evict({ kind: 'counter', key });
        for (const id of [a, b, b2]) assert.deepEqual(await read(id, t0 + 1), { status: 'missing' });
        assert.equal(await store.countByUser(userId, t0 + 1), 0);
        assert.deepEqual(await store.destroyByUser(userId), []);
        assert.equal((await store.increment(key, 60_000, t0 + 1)).count, 1);
        const again = newId();
        assert.equal((await store.create(again, makeRecord(t0 + 1, { userId }), { now: t0 + 1, maxConcurrent: 1 })).status, 'created');
        assert.ok(await isLive(again, t0 + 1), 'the user can sign in again');
      });
    });

    it('answers ping', async () => {
      assert.equal(await store.ping(), undefined);
    });
  });
}

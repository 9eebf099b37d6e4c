import assert from 'node:assert/strict';
import { ROTATION_TOMBSTONE_MS } from '../core/lifecycle';
import type { SessionRecord } from '../core/session-record';
import type { ReadResult, RotateResult, SessionStore, UpdateResult } from '../stores/session-store';
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

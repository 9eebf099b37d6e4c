import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AttemptCounterStore } from '../brute-force/attempt-counter.store';
import type { TestFrameworkHooks } from './session-store.conformance';

/** What a factory of {@link describeAttemptCounterStore} gives: the store, and how to clean up after the suite. */
export interface AttemptCounterStoreFixture {
  store: AttemptCounterStore;
  cleanup?: () => Promise<void>;
}

const MIN = 60_000;

/**
 * The conformance suite of the attempt-counter contract (`AttemptCounterStore`), for every backend and for
 * third-party stores: counting, windows decided by the caller's clock, resets, single-use claims, and parallel
 * increments that lose nothing. Each test uses keys of its own, so the suite can run on a shared server.
 *
 * @example describeAttemptCounterStore('redis', async () => ({ store: new RedisAttemptCounterStore({ client }) }), { describe, it, beforeAll, afterAll });
 */
export function describeAttemptCounterStore(
  name: string,
  factory: () => Promise<AttemptCounterStoreFixture>,
  hooks: TestFrameworkHooks,
): void {
  const beforeAll = hooks.beforeAll ?? hooks.before;
  const afterAll = hooks.afterAll ?? hooks.after;
  if (!beforeAll || !afterAll) {
    throw new TypeError(
      'describeAttemptCounterStore: pass your test framework hooks: { describe, it, beforeAll, afterAll } (jest, vitest)',
    );
  }
  hooks.describe(`AttemptCounterStore conformance: ${name}`, () => {
    let fixture: AttemptCounterStoreFixture | undefined;
    let store: AttemptCounterStore;
    /** Each test gets unique keys and its own start time, so tests never meet. */
    const it = (title: string, body: (key: (n?: string) => string, t0: number) => Promise<void>) =>
      hooks.it(title, () => {
        const run = randomUUID();
        return body((n = 'k') => `conf:${run}:${n}`, Date.now());
      });

    beforeAll.call(hooks, async () => {
      fixture = await factory();
      store = fixture.store;
    });
    afterAll.call(hooks, async () => {
      await fixture?.cleanup?.();
    });

    it('reads unknown keys as 0, in the order asked', async (key, t0) => {
      assert.deepEqual(await store.read([key('a'), key('b')], t0), [
        { count: 0, lastAt: 0 },
        { count: 0, lastAt: 0 },
      ]);
      assert.deepEqual(await store.read([], t0), []);
    });

    it('counts each key on its own and answers the new counts', async (key, t0) => {
      assert.deepEqual(
        (await store.increment([{ key: key('a'), ttlMs: MIN }], t0)).map((c) => c.count),
        [1],
      );
      const both = await store.increment(
        [
          { key: key('a'), ttlMs: MIN },
          { key: key('b'), ttlMs: MIN },
        ],
        t0 + 1000,
      );
      assert.deepEqual(
        both.map((c) => c.count),
        [2, 1],
      );
      assert.deepEqual(await store.read([key('b'), key('a'), key('c')], t0 + 2000), [
        { count: 1, lastAt: t0 + 1000 },
        { count: 2, lastAt: t0 + 1000 },
        { count: 0, lastAt: 0 },
      ]);
    });

    it("forgets a counter ttlMs after its latest failure, by the caller's clock, and restarts it at 1", async (key, t0) => {
      await store.increment([{ key: key(), ttlMs: MIN }], t0);
      await store.increment([{ key: key(), ttlMs: MIN }], t0 + 30_000);
      // The window slides: 59 s after the second failure it is still there.
      assert.equal((await store.read([key()], t0 + 30_000 + MIN - 1))[0].count, 2);
      assert.equal((await store.read([key()], t0 + 30_000 + MIN))[0].count, 0);
      assert.equal((await store.increment([{ key: key(), ttlMs: MIN }], t0 + 30_000 + MIN))[0].count, 1);
    });

    it('resets keys, and sets a mark in the same call', async (key, t0) => {
      await store.increment(
        [
          { key: key('a'), ttlMs: MIN },
          { key: key('b'), ttlMs: MIN },
        ],
        t0,
      );
      await store.reset([key('a')], { key: key('m'), ttlMs: MIN, now: t0 });
      assert.deepEqual(
        (await store.read([key('a'), key('b'), key('m')], t0)).map((c) => c.count),
        [0, 1, 1],
      );
      await store.reset([key('b')]);
      assert.equal((await store.read([key('b')], t0))[0].count, 0);
      assert.equal((await store.read([key('m')], t0 + MIN))[0].count, 0, 'the mark lives ttlMs');
    });

    it('claims a key once within its window, and again after it', async (key, t0) => {
      assert.equal(await store.claim(key(), MIN, t0), true);
      assert.equal(await store.claim(key(), MIN, t0 + 1000), false);
      assert.equal(await store.claim(key(), MIN, t0 + 1000 + MIN), true);
    });

    it('loses no increment under 40 parallel failures, and grants a claim to exactly one of 20 parallel callers', async (key, t0) => {
      const answers = await Promise.all(Array.from({ length: 40 }, () => store.increment([{ key: key('p'), ttlMs: MIN }], t0)));
      assert.equal((await store.read([key('p')], t0))[0].count, 40);
      for (const [answer] of answers) assert.ok(answer.count >= 1 && answer.count <= 40, `count ${answer.count} out of 1..40`);
      assert.equal(Math.max(...answers.map(([a]) => a.count)), 40);
      const claims = await Promise.all(Array.from({ length: 20 }, () => store.claim(key('c'), MIN, t0)));
      assert.equal(claims.filter(Boolean).length, 1);
    });
  });
}

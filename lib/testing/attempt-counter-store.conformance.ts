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
 * third-party stores: counting, windows decided by the caller's clock, resets, single-use claims, fixed-window hits
 * (rate limits), and parallel increments and hits that lose nothing. Each test uses keys of its own, so the suite can run on a shared server.
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

    // Fixed-window hits (API rate limits): the rule is nextHitWindowEnd in attempt-counter.store.ts.
    const hitOf = (k: string, limit: number, windowMs = MIN, blockMs = 0) => ({ key: k, windowMs, limit, blockMs });

    it('counts hits in a fixed window that starts at the first hit, and restarts after it', async (key, t0) => {
      assert.deepEqual(await store.hit(hitOf(key(), 3), t0), { count: 1, resetAt: t0 + MIN });
      assert.deepEqual(await store.hit(hitOf(key(), 3), t0 + 1000), { count: 2, resetAt: t0 + MIN }, 'a hit never moves the window');
      assert.deepEqual(await store.hit(hitOf(key(), 3), t0 + MIN - 1), { count: 3, resetAt: t0 + MIN });
      assert.deepEqual(await store.hit(hitOf(key(), 3), t0 + MIN), { count: 1, resetAt: t0 + 2 * MIN }, 'a new window at its end');
      assert.deepEqual(await store.hit(hitOf(key('other'), 3), t0 + 1000), { count: 1, resetAt: t0 + 1000 + MIN }, 'keys are separate');
    });

    it('refuses past the limit until the window ends (blockMs 0), capping the count at limit + 1', async (key, t0) => {
      for (let i = 1; i <= 2; i++) assert.equal((await store.hit(hitOf(key(), 2), t0)).count, i);
      for (let i = 0; i < 3; i++) assert.deepEqual(await store.hit(hitOf(key(), 2), t0 + 10_000 * i), { count: 3, resetAt: t0 + MIN });
      assert.deepEqual(await store.hit(hitOf(key(), 2), t0 + MIN), { count: 1, resetAt: t0 + 2 * MIN });
    });

    it('blocks for blockMs from the first refused hit when that ends after the window, and never extends the block', async (key, t0) => {
      const h = hitOf(key(), 1, MIN, 5 * MIN);
      assert.deepEqual(await store.hit(h, t0), { count: 1, resetAt: t0 + MIN });
      assert.deepEqual(await store.hit(h, t0 + 1000), { count: 2, resetAt: t0 + 1000 + 5 * MIN }, 'the block starts');
      assert.deepEqual(await store.hit(h, t0 + 2 * MIN), { count: 2, resetAt: t0 + 1000 + 5 * MIN }, 'still blocked, not extended');
      assert.deepEqual(await store.hit(h, t0 + 1000 + 5 * MIN), { count: 1, resetAt: t0 + 1000 + 6 * MIN }, 'free again');
      // A block shorter than the window left: refused until the window ends.
      const short = hitOf(key('short'), 1, MIN, 1000);
      await store.hit(short, t0);
      assert.deepEqual(await store.hit(short, t0 + 10), { count: 2, resetAt: t0 + MIN });
      // Limit 0: the first hit is refused already, for the longer of the two.
      assert.deepEqual(await store.hit(hitOf(key('zero'), 0, MIN, 2 * MIN), t0), { count: 1, resetAt: t0 + 2 * MIN });
    });

    it('refuses hit numbers outside its bounds as a caller bug (RangeError), not an outage', async (key, t0) => {
      for (const bad of [hitOf(key(), -1), hitOf(key(), 1.5), hitOf(key(), 1, 0), hitOf(key(), 1, MIN, -1), hitOf(key(), 1, 2 ** 32)]) {
        await assert.rejects(store.hit(bad, t0), RangeError);
      }
    });

    it('loses no hit under 50 parallel hits: exactly limit of them pass, the others see limit + 1', async (key, t0) => {
      const wide = await Promise.all(Array.from({ length: 50 }, () => store.hit(hitOf(key('wide'), 1000), t0)));
      assert.deepEqual(
        wide.map((h) => h.count).sort((a, b) => a - b),
        Array.from({ length: 50 }, (_, i) => i + 1),
        'every hit gets a count of its own',
      );
      for (const h of wide) assert.equal(h.resetAt, t0 + MIN);
      const narrow = await Promise.all(Array.from({ length: 50 }, () => store.hit(hitOf(key('narrow'), 10, MIN, 2 * MIN), t0)));
      assert.equal(narrow.filter((h) => h.count <= 10).length, 10);
      assert.equal(narrow.filter((h) => h.count === 11).length, 40);
      assert.deepEqual((await store.hit(hitOf(key('narrow'), 10, MIN, 2 * MIN), t0 + MIN)).resetAt, t0 + 2 * MIN, 'blocked once');
    });
  });
}

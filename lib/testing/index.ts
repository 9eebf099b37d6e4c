/**
 * `nest-session-kit/testing`: the conformance suite of the session-store contract, for store authors. It runs
 * under jest, vitest or node:test (you pass your framework's `describe`/`it`/hooks) and asserts with
 * `node:assert`, so it pulls in no test framework of its own.
 *
 * @example
 * // my-store.spec.ts, with jest
 * import { describeSessionStore } from 'nest-session-kit/testing';
 * describeSessionStore('my-store', async () => ({ store: new MyStore() }), { describe, it, beforeAll, afterAll });
 *
 * @example
 * // my-store.test.mjs, with `node --test`
 * import { after, before, describe, it } from 'node:test';
 * import { describeSessionStore } from 'nest-session-kit/testing';
 * describeSessionStore('my-store', async () => ({ store: new MyStore() }), { describe, it, before, after });
 *
 * @example
 * // The token-store contract (refresh families, access-token revocation), the same way
 * import { describeTokenStore } from 'nest-session-kit/testing';
 * describeTokenStore('my-token-store', async () => ({ store: new MyTokenStore() }), { describe, it, beforeAll, afterAll });
 */
export { describeSessionStore } from './session-store.conformance';
export type { TestFrameworkHooks } from './session-store.conformance';
export { makeRecord, newId, FIXTURE_IDLE_TIMEOUT_MS, FIXTURE_ABSOLUTE_TIMEOUT_MS } from './session-fixtures';
export type { EvictionTarget, StoreCapabilities, StoreFixture } from './session-fixtures';
export { describeAttemptCounterStore } from './attempt-counter-store.conformance';
export type { AttemptCounterStoreFixture } from './attempt-counter-store.conformance';
export { describeTokenStore } from './token-store.conformance';
export type { TokenStoreFixture } from './token-store.conformance';

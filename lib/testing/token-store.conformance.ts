import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { RefreshFamily, RefreshRotation, RefreshRotationResult, TokenStore } from '../tokens/token-store';
import type { TestFrameworkHooks } from './session-store.conformance';

/** What a factory of {@link describeTokenStore} gives: the store (connected), and how to clean up after the suite. */
export interface TokenStoreFixture {
  store: TokenStore;
  /** Runs once after the suite: close what the factory opened, drop its keys or tables. */
  cleanup?: () => Promise<void>;
  /**
   * Overwrites what the backend holds for refresh token `tokenId` (of family `familyId`, user `userId`) with
   * unreadable data. Give it where the backend can hold corrupted data (Redis hashes); the suite then checks that
   * the token reads as missing. Omit it for typed backends (SQL columns, memory objects).
   */
  corruptToken?: (entry: { tokenId: string; familyId: string; userId: string }) => Promise<void>;
  /** Overwrites what the backend holds for a family with unreadable data; it must then read as missing. Optional, as above. */
  corruptFamily?: (entry: { familyId: string; userId: string }) => Promise<void>;
}

const SEC = 1000;
const MIN = 60 * SEC;
/** Refresh-token idle lifetime used by the suite (ms). */
const IDLE = 15 * MIN;
/** Family absolute lifetime used by the suite (ms). */
const ABSOLUTE = 60 * MIN;
/** Grace window used by the suite (ms). */
const GRACE = 10 * SEC;

/** A random id as the services make them: 22 base64url characters for family ids, 43 (a SHA-256) for token ids. */
const familyIdOf = () => randomBytes(16).toString('base64url');
const tokenIdOf = () => randomBytes(32).toString('base64url');
const userIdOf = () => `user-${randomBytes(6).toString('hex')}`;

function makeFamily(t0: number, overrides: Partial<RefreshFamily> = {}): RefreshFamily {
  return {
    familyId: familyIdOf(),
    userId: userIdOf(),
    clientId: 'client-a',
    scope: 'read write',
    aal: 2,
    authTime: t0 - 5 * SEC,
    createdAt: t0,
    absoluteExpiresAt: t0 + ABSOLUTE,
    ...overrides,
  };
}

/**
 * Registers the conformance suite of the token-store contract (`TokenStore`, `lib/tokens/token-store.ts`) for one
 * store: families and their first token, every outcome of `rotateRefresh` (rotated, grace with the first
 * successor, reuse ending the family, expiry by idle deadline, absolute deadline and revocation, missing), twenty
 * parallel refreshes with one token (exactly one rotation, no fork), revocation by token, by family and of a whole
 * user with the access-token cut-off, listings, and the access-token checks (`jti`, per-user cut-off at ms
 * precision, per-session, and their precedence). Every store shipped with this package passes it.
 *
 * Time is virtual: every call passes `now`, starting from the real clock (so TTL-based backends keep their keys),
 * and the suite never sleeps. A deadline is exclusive: at `now === deadline` the entry is over. Where an entry is
 * over, a store may still remember it (`expired`) or have forgotten it (`missing`); both are accepted, since a
 * TTL-backed store cannot forget on a virtual clock. Each test uses fresh random ids, so a shared backend is fine.
 *
 * @param name Shown in the suite's title, e.g. `'redis'`.
 * @param factory Called once before the first test; returns the connected store and its clean-up.
 * @param hooks The caller's test framework functions (`{ describe, it, beforeAll, afterAll }`, or node:test's
 *   `{ describe, it, before, after }`).
 *
 * @example
 * import { describeTokenStore } from 'nest-session-kit/testing';
 * describeTokenStore('my-store', async () => ({ store: await MyTokenStore.open() }), { describe, it, beforeAll, afterAll });
 */
export function describeTokenStore(name: string, factory: () => Promise<TokenStoreFixture>, hooks: TestFrameworkHooks): void {
  const beforeAll = hooks.beforeAll ?? hooks.before;
  const afterAll = hooks.afterAll ?? hooks.after;
  if (!beforeAll || !afterAll) {
    throw new TypeError(
      'describeTokenStore: pass your test framework hooks: { describe, it, beforeAll, afterAll } with jest or vitest, ' +
        "{ describe, it, before, after } from 'node:test'",
    );
  }
  const describe = (title: string, body: () => void) => hooks.describe(title, body);

  hooks.describe(`TokenStore conformance: ${name}`, () => {
    let fixture: TokenStoreFixture | undefined;
    let store: TokenStore;
    /** A test with its own start time (ms), so tests stay independent when a framework runs them concurrently. */
    const it = (title: string, body: (t0: number) => Promise<void>) => hooks.it(title, () => body(Date.now()));

    beforeAll.call(hooks, async () => {
      fixture = await factory();
      store = fixture.store;
    });
    afterAll.call(hooks, async () => {
      await fixture?.cleanup?.();
    });

    /** A new family with its first token, created at `t0` (idle lifetime `idle`). */
    const issue = async (t0: number, overrides: Partial<RefreshFamily> = {}, idle = IDLE) => {
      const family = makeFamily(t0, overrides);
      const tokenId = tokenIdOf();
      await store.createFamily(family, tokenId, t0, idle);
      return { family, tokenId };
    };
    const rotation = (tokenId: string, now: number, overrides: Partial<RefreshRotation> = {}): RefreshRotation => ({
      tokenId,
      successorId: tokenIdOf(),
      sealedSuccessor: `sealed:${randomBytes(12).toString('base64url')}`,
      now,
      idleTimeoutMs: IDLE,
      graceMs: GRACE,
      ...overrides,
    });
    /** Rotates and insists on `rotated` (with the family), answering the successor's id. */
    const rotate = async (tokenId: string, now: number, family: RefreshFamily, overrides: Partial<RefreshRotation> = {}) => {
      const r = rotation(tokenId, now, overrides);
      assert.deepEqual(await store.rotateRefresh(r), { status: 'rotated', family }, `rotating at ${now - family.createdAt} ms`);
      return r;
    };
    /** An ended token: `expired` with its family while remembered, or `missing` once forgotten. Never usable. */
    const assertEnded = (result: RefreshRotationResult, family: RefreshFamily, what: string) => {
      if (result.status === 'missing') return;
      assert.deepEqual(result, { status: 'expired', family }, `${what}: expected expired (or missing), got ${JSON.stringify(result)}`);
    };

    describe('createFamily', () => {
      it('stores the family and its first token: the token rotates and the family is listed', async (t0) => {
        const { family, tokenId } = await issue(t0);
        assert.deepEqual(await store.listFamilies(family.userId, t0), [family]);
        await rotate(tokenId, t0 + SEC, family);
      });

      it('keeps every field of the family exactly, an empty scope and unicode included', async (t0) => {
        const { family, tokenId } = await issue(t0, { scope: '', clientId: 'client-ü ✓', aal: 1, authTime: t0 - 123_457 });
        assert.deepEqual(await store.listFamilies(family.userId, t0), [family]);
        await rotate(tokenId, t0 + 1, family);
      });

      it('throws on a familyId that exists, and stores nothing of the refused family', async (t0) => {
        const { family } = await issue(t0);
        const other = tokenIdOf();
        await assert.rejects(store.createFamily({ ...family, clientId: 'client-b' }, other, t0, IDLE));
        assert.deepEqual(await store.rotateRefresh(rotation(other, t0 + 1)), { status: 'missing' });
        assert.deepEqual(await store.listFamilies(family.userId, t0), [family]);
      });

      it('throws on a tokenId that exists, and stores nothing of the refused family', async (t0) => {
        const { family, tokenId } = await issue(t0);
        const second = makeFamily(t0, { userId: family.userId, createdAt: t0 + 1 });
        await assert.rejects(store.createFamily(second, tokenId, t0, IDLE));
        assert.deepEqual(await store.listFamilies(family.userId, t0), [family]);
        await rotate(tokenId, t0 + 1, family);
      });
    });

    describe('rotateRefresh', () => {
      it('rotates: the successor becomes the live token, and rotates in turn', async (t0) => {
        const { family, tokenId } = await issue(t0);
        const first = await rotate(tokenId, t0 + MIN, family);
        const second = await rotate(first.successorId, t0 + 2 * MIN, family);
        await rotate(second.successorId, t0 + 3 * MIN, family);
      });

      it('answers missing for a token never issued, and changes nothing', async (t0) => {
        assert.deepEqual(await store.rotateRefresh(rotation(tokenIdOf(), t0)), { status: 'missing' });
      });

      it('ends a token at its idle deadline (now + idleTimeoutMs, exclusive)', async (t0) => {
        const a = await issue(t0, {}, 10 * MIN);
        await rotate(a.tokenId, t0 + 10 * MIN - 1, a.family);
        const b = await issue(t0, {}, 10 * MIN);
        assertEnded(await store.rotateRefresh(rotation(b.tokenId, t0 + 10 * MIN)), b.family, 'first token at its idle deadline');
        // The successor's idle deadline counts from its own rotation, with the idleTimeoutMs of that rotation.
        const c = await issue(t0);
        const first = await rotate(c.tokenId, t0 + MIN, c.family, { idleTimeoutMs: 5 * MIN });
        const second = await rotate(first.successorId, t0 + 6 * MIN - 1, c.family, { idleTimeoutMs: 5 * MIN });
        assertEnded(await store.rotateRefresh(rotation(second.successorId, t0 + 11 * MIN - 1)), c.family, 'successor at its idle deadline');
      });

      it("ends every token at the family's absolute deadline, however recently used (successor idle capped)", async (t0) => {
        const { family, tokenId } = await issue(t0, { absoluteExpiresAt: t0 + 20 * MIN });
        // At t0 + 10 min a 15-minute idle lifetime would run to t0 + 25 min: the absolute deadline caps it.
        const first = await rotate(tokenId, t0 + 10 * MIN, family);
        const second = await rotate(first.successorId, t0 + 20 * MIN - 1, family);
        assertEnded(await store.rotateRefresh(rotation(second.successorId, t0 + 20 * MIN)), family, 'at the absolute deadline');
        assert.deepEqual(await store.listFamilies(family.userId, t0 + 20 * MIN), []);
      });

      it('answers grace within graceMs of the first use: the same successor and sealed successor, nothing changed', async (t0) => {
        const { family, tokenId } = await issue(t0);
        const first = await rotate(tokenId, t0 + MIN, family);
        const again = rotation(tokenId, t0 + MIN + GRACE - 1);
        assert.deepEqual(await store.rotateRefresh(again), {
          status: 'grace',
          family,
          successorId: first.successorId,
          sealedSuccessor: first.sealedSuccessor,
        });
        // Nothing changed: the grace caller's own successor was never stored, and the first successor still rotates.
        assert.deepEqual(await store.rotateRefresh(rotation(again.successorId, t0 + MIN + GRACE)), { status: 'missing' });
        await rotate(first.successorId, t0 + MIN + GRACE, family);
      });

      it('treats a use at or after graceMs as reuse: the whole family ends, its live successor too', async (t0) => {
        const { family, tokenId } = await issue(t0);
        const first = await rotate(tokenId, t0 + MIN, family);
        assert.deepEqual(await store.rotateRefresh(rotation(tokenId, t0 + MIN + GRACE)), { status: 'reused', family });
        assertEnded(await store.rotateRefresh(rotation(first.successorId, t0 + MIN + GRACE + 1)), family, 'the successor after reuse');
        assert.deepEqual(await store.listFamilies(family.userId, t0 + MIN + GRACE + 1), []);
        assert.equal(await store.revokeFamily(family.familyId, t0 + MIN + GRACE + 2), false, 'the family was already ended');
      });

      it('detects reuse of an older token of the chain, and ends the family', async (t0) => {
        const { family, tokenId } = await issue(t0);
        const first = await rotate(tokenId, t0 + MIN, family);
        const second = await rotate(first.successorId, t0 + 2 * MIN, family);
        assert.deepEqual(await store.rotateRefresh(rotation(tokenId, t0 + 3 * MIN)), { status: 'reused', family });
        assertEnded(await store.rotateRefresh(rotation(second.successorId, t0 + 3 * MIN + 1)), family, 'the live token after reuse');
      });

      it('answers expired (or missing) for a token of a revoked family, even within the grace window', async (t0) => {
        const { family, tokenId } = await issue(t0);
        const first = await rotate(tokenId, t0 + MIN, family);
        assert.equal(await store.revokeFamily(family.familyId, t0 + MIN + 1), true);
        assertEnded(await store.rotateRefresh(rotation(tokenId, t0 + MIN + 2)), family, 'the used token within grace');
        assertEnded(await store.rotateRefresh(rotation(first.successorId, t0 + MIN + 3)), family, 'the live token');
      });

      it('never forks under 20 parallel refreshes with one token: one rotated, 19 grace with its successor', async (t0) => {
        const { family, tokenId } = await issue(t0);
        const rotations = Array.from({ length: 20 }, () => rotation(tokenId, t0 + MIN));
        const results = await Promise.all(rotations.map((r) => store.rotateRefresh(r)));
        const winners = results.flatMap((result, i) => (result.status === 'rotated' ? [rotations[i]] : []));
        assert.equal(winners.length, 1, `exactly one rotation expected, got ${JSON.stringify(results.map((r) => r.status))}`);
        const [winner] = winners;
        for (const result of results) {
          if (result.status === 'rotated') continue;
          assert.deepEqual(result, { status: 'grace', family, successorId: winner.successorId, sealedSuccessor: winner.sealedSuccessor });
        }
        for (const loser of rotations.filter((r) => r !== winner)) {
          assert.deepEqual(
            await store.rotateRefresh(rotation(loser.successorId, t0 + 2 * MIN)),
            { status: 'missing' },
            'no forked successor',
          );
        }
        await rotate(winner.successorId, t0 + 2 * MIN, family);
      });

      it('never forks under 20 parallel refreshes after the grace window: every one is reuse', async (t0) => {
        const { family, tokenId } = await issue(t0);
        await rotate(tokenId, t0, family);
        const results = await Promise.all(Array.from({ length: 20 }, () => store.rotateRefresh(rotation(tokenId, t0 + GRACE))));
        const statuses = new Set(results.map((r) => r.status));
        assert.ok(!statuses.has('rotated') && !statuses.has('grace'), `no successor after the grace window: ${[...statuses].join(', ')}`);
        assert.ok(statuses.has('reused'), 'the first of them is reuse');
        assert.deepEqual(await store.listFamilies(family.userId, t0 + GRACE), []);
      });
    });

    describe('revocation of families', () => {
      it('revokeFamilyOfToken ends the family of a live or a used token, once', async (t0) => {
        const { family, tokenId } = await issue(t0);
        const first = await rotate(tokenId, t0 + MIN, family);
        assert.deepEqual(await store.revokeFamilyOfToken(tokenId, t0 + MIN + GRACE), family, 'by the used token');
        assertEnded(await store.rotateRefresh(rotation(first.successorId, t0 + MIN + GRACE)), family, 'the live token');
        assert.equal(await store.revokeFamilyOfToken(first.successorId, t0 + MIN + GRACE), null, 'already ended');
        assert.equal(await store.revokeFamilyOfToken(tokenIdOf(), t0), null, 'unknown token');
        const other = await issue(t0);
        assert.deepEqual(await store.revokeFamilyOfToken(other.tokenId, t0 + 1), other.family, 'by the first token');
      });

      it('revokeFamily ends one family by id, answers whether it was live, and leaves the others', async (t0) => {
        const a = await issue(t0);
        const b = await issue(t0 + 1, { userId: a.family.userId });
        assert.equal(await store.revokeFamily(a.family.familyId, t0 + 2), true);
        assert.equal(await store.revokeFamily(a.family.familyId, t0 + 3), false);
        assert.equal(await store.revokeFamily(familyIdOf(), t0 + 3), false, 'unknown family');
        assertEnded(await store.rotateRefresh(rotation(a.tokenId, t0 + 4)), a.family, 'the revoked family');
        assert.deepEqual(await store.listFamilies(a.family.userId, t0 + 4), [b.family]);
        await rotate(b.tokenId, t0 + 5, b.family);
      });

      it('does not revoke a family past its absolute deadline (already ended)', async (t0) => {
        const { family } = await issue(t0, { absoluteExpiresAt: t0 + MIN });
        assert.equal(await store.revokeFamily(family.familyId, t0 + MIN), false);
      });

      it("revokeAllForUser ends every live family of the user, counts them, and leaves other users' alone", async (t0) => {
        const userId = userIdOf();
        const a = await issue(t0, { userId });
        const b = await issue(t0 + 1, { userId });
        const revoked = await issue(t0 + 2, { userId });
        const old = await issue(t0 - ABSOLUTE + MIN, { userId }); // past its absolute deadline at t0 + MIN
        const stranger = await issue(t0);
        const used = await rotate(a.tokenId, t0 + 10, a.family);
        assert.equal(await store.revokeFamily(revoked.family.familyId, t0 + 20), true);
        assert.equal(await store.revokeAllForUser(userId, t0 + MIN, t0 + MIN + 15 * MIN, t0 + MIN), 2);
        assertEnded(await store.rotateRefresh(rotation(used.successorId, t0 + MIN)), a.family, 'family a');
        assertEnded(await store.rotateRefresh(rotation(b.tokenId, t0 + MIN)), b.family, 'family b');
        assertEnded(await store.rotateRefresh(rotation(old.tokenId, t0 + MIN)), old.family, 'the old family');
        assert.deepEqual(await store.listFamilies(userId, t0 + MIN), []);
        assert.equal(await store.revokeAllForUser(userId, t0 + MIN, t0 + 16 * MIN, t0 + MIN + 1), 0, 'nothing left to end');
        assert.deepEqual(await store.listFamilies(stranger.family.userId, t0 + MIN), [stranger.family]);
        await rotate(stranger.tokenId, t0 + MIN, stranger.family);
      });

      it('revokeAllForUser on a user with no family answers 0 and still sets the cut-off', async (t0) => {
        const userId = userIdOf();
        assert.equal(await store.revokeAllForUser(userId, t0, t0 + MIN, t0), 0);
        assert.equal(await store.checkAccess({ userId, jti: `iss ${tokenIdOf()}`, issuedAt: t0 - 1 }, t0), 'user');
      });
    });

    describe('listFamilies', () => {
      it('lists live families only, oldest first', async (t0) => {
        const userId = userIdOf();
        const second = await issue(t0, { userId, createdAt: t0 - 2 * MIN });
        const third = await issue(t0, { userId, createdAt: t0 - MIN });
        const first = await issue(t0, { userId, createdAt: t0 - 3 * MIN });
        const revoked = await issue(t0, { userId, createdAt: t0 - 4 * MIN });
        await issue(t0, { userId, createdAt: t0 - 5 * MIN, absoluteExpiresAt: t0 + MIN });
        await store.revokeFamily(revoked.family.familyId, t0);
        assert.deepEqual(await store.listFamilies(userId, t0 + MIN), [first.family, second.family, third.family]);
        assert.deepEqual(await store.listFamilies(userIdOf(), t0), [], 'a user with no family');
      });
    });

    describe('access-token revocation', () => {
      const check = (userId: string, jti: string, issuedAt: number, sid?: string) =>
        sid === undefined ? { userId, jti, issuedAt } : { userId, jti, issuedAt, sid };

      it('accepts a token that nothing revokes', async (t0) => {
        assert.equal(await store.checkAccess(check(userIdOf(), `iss ${tokenIdOf()}`, t0, 'sid-1'), t0), null);
        assert.equal(await store.checkAccess(check(userIdOf(), `iss ${tokenIdOf()}`, t0), t0), null);
      });

      it('denies a jti until `until` (exclusive), idempotently, and only that issuer-qualified jti', async (t0) => {
        const userId = userIdOf();
        const jti = `https://a.example ${tokenIdOf()}`;
        await store.denyAccessToken(jti, t0 + 5 * MIN, t0);
        await store.denyAccessToken(jti, t0 + 5 * MIN, t0 + 1);
        assert.equal(await store.checkAccess(check(userId, jti, t0 - MIN), t0 + 5 * MIN - 1), 'jti');
        assert.equal(await store.checkAccess(check(userId, jti, t0 - MIN), t0 + 5 * MIN), null, 'forgotten at until');
        const copy = jti.replace('https://a.example', 'https://b.example');
        assert.equal(await store.checkAccess(check(userId, copy, t0 - MIN), t0), null, 'same jti from another issuer');
      });

      it("refuses tokens issued before the user's cut-off, to the millisecond, until `until`", async (t0) => {
        const userId = userIdOf();
        const notBefore = t0 + 1234;
        await store.revokeAllForUser(userId, notBefore, notBefore + 15 * MIN, notBefore);
        const jti = () => `iss ${tokenIdOf()}`;
        assert.equal(await store.checkAccess(check(userId, jti(), notBefore - 1), notBefore), 'user');
        assert.equal(await store.checkAccess(check(userId, jti(), notBefore), notBefore), null, 'issued at the cut-off');
        assert.equal(await store.checkAccess(check(userId, jti(), notBefore + 1), notBefore + 1), null);
        assert.equal(await store.checkAccess(check(userId, jti(), notBefore - 1), notBefore + 15 * MIN - 1), 'user');
        assert.equal(await store.checkAccess(check(userId, jti(), notBefore - 1), notBefore + 15 * MIN), null, 'forgotten at until');
        assert.equal(await store.checkAccess(check(userIdOf(), jti(), notBefore - 1), notBefore), null, 'another user');
      });

      it('moves the cut-off forward only: a later one replaces it, an earlier one never does', async (t0) => {
        const userId = userIdOf();
        const jti = () => `iss ${tokenIdOf()}`;
        await store.revokeAllForUser(userId, t0 + 10 * SEC, t0 + 10 * MIN, t0 + 10 * SEC);
        assert.equal(await store.checkAccess(check(userId, jti(), t0 + 15 * SEC), t0 + 20 * SEC), null);
        await store.revokeAllForUser(userId, t0 + 20 * SEC, t0 + 10 * MIN, t0 + 20 * SEC);
        assert.equal(await store.checkAccess(check(userId, jti(), t0 + 15 * SEC), t0 + 20 * SEC), 'user', 'the later cut-off');
        await store.revokeAllForUser(userId, t0 + 5 * SEC, t0 + 10 * MIN, t0 + 30 * SEC);
        assert.equal(await store.checkAccess(check(userId, jti(), t0 + 15 * SEC), t0 + 30 * SEC), 'user', 'kept after an earlier one');
      });

      it('denies every token naming a session until `until`, and only tokens naming it', async (t0) => {
        const userId = userIdOf();
        const sid = `handle-${tokenIdOf()}`;
        await store.denySession(sid, t0 + MIN, t0);
        await store.denySession(sid, t0 + MIN, t0 + 1);
        assert.equal(await store.checkAccess(check(userId, `iss ${tokenIdOf()}`, t0, sid), t0 + MIN - 1), 'session');
        assert.equal(await store.checkAccess(check(userId, `iss ${tokenIdOf()}`, t0), t0), null, 'a token without sid');
        assert.equal(await store.checkAccess(check(userId, `iss ${tokenIdOf()}`, t0, `${sid}x`), t0), null, 'another session');
        assert.equal(await store.checkAccess(check(userId, `iss ${tokenIdOf()}`, t0, sid), t0 + MIN), null, 'forgotten at until');
      });

      it('answers the first match in the order jti, user, session', async (t0) => {
        const userId = userIdOf();
        const jti = `iss ${tokenIdOf()}`;
        const sid = `handle-${tokenIdOf()}`;
        await store.denySession(sid, t0 + MIN, t0);
        assert.equal(await store.checkAccess(check(userId, jti, t0 - 1, sid), t0), 'session');
        await store.revokeAllForUser(userId, t0, t0 + MIN, t0);
        assert.equal(await store.checkAccess(check(userId, jti, t0 - 1, sid), t0), 'user');
        await store.denyAccessToken(jti, t0 + MIN, t0);
        assert.equal(await store.checkAccess(check(userId, jti, t0 - 1, sid), t0), 'jti');
      });
    });

    describe('corrupted entries', () => {
      it('reads a corrupted token as missing (where the backend can hold one)', async (t0) => {
        if (!fixture?.corruptToken) return;
        const { family, tokenId } = await issue(t0);
        await fixture.corruptToken({ tokenId, familyId: family.familyId, userId: family.userId });
        assert.deepEqual(await store.rotateRefresh(rotation(tokenId, t0 + 1)), { status: 'missing' });
        assert.equal(await store.revokeFamilyOfToken(tokenId, t0 + 2), null);
      });

      it('reads a corrupted family as missing: not listed, its tokens missing', async (t0) => {
        if (!fixture?.corruptFamily) return;
        const { family, tokenId } = await issue(t0);
        await fixture.corruptFamily({ familyId: family.familyId, userId: family.userId });
        assert.deepEqual(await store.listFamilies(family.userId, t0 + 1), []);
        assert.deepEqual(await store.rotateRefresh(rotation(tokenId, t0 + 1)), { status: 'missing' });
        assert.equal(await store.revokeFamily(family.familyId, t0 + 2), false);
      });
    });

    it('answers ping while the backend is up', async () => {
      await store.ping();
    });
  });
}

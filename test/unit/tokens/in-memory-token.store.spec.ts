/**
 * InMemoryTokenStore against the contract's JSDoc (lib/tokens/token-store.ts): refresh families rotated atomically
 * (parallel uses never fork), reuse revoking the family, idle and absolute deadlines, revocation by token, family and
 * user (with the cut-off), the access denylists checked together, and the bound on memory.
 */
import { randomBytes } from 'node:crypto';
import { InMemoryTokenStore, RefreshFamily, RefreshRotation, TokenStoreUnavailableError } from '../../../lib';

const T0 = Date.parse('2026-11-30T10:00:00Z');
const IDLE = 60_000;
const GRACE = 10_000;
const id = (): string => randomBytes(32).toString('base64url');

function family(over: Partial<RefreshFamily> = {}): RefreshFamily {
  return {
    familyId: randomBytes(16).toString('base64url'),
    userId: 'u1',
    clientId: 'app',
    scope: 'read',
    aal: 1,
    authTime: T0,
    createdAt: T0,
    absoluteExpiresAt: T0 + 10 * IDLE,
    ...over,
  };
}

function rotation(tokenId: string, now: number, over: Partial<RefreshRotation> = {}): RefreshRotation {
  return { tokenId, successorId: id(), sealedSuccessor: `sealed-${id()}`, now, idleTimeoutMs: IDLE, graceMs: GRACE, ...over };
}

describe('InMemoryTokenStore', () => {
  let store: InMemoryTokenStore;
  beforeEach(() => {
    store = new InMemoryTokenStore();
  });

  it('rotates a live token once: the successor is live, the used token answers grace with the same successor, then reuse', async () => {
    const f = family();
    const first = id();
    await store.createFamily(f, first, T0, IDLE);
    const r1 = rotation(first, T0 + 1000);
    expect(await store.rotateRefresh(r1)).toEqual({ status: 'rotated', family: f });
    const again = await store.rotateRefresh(rotation(first, T0 + 1000 + GRACE - 1));
    expect(again).toEqual({ status: 'grace', family: f, successorId: r1.successorId, sealedSuccessor: r1.sealedSuccessor });
    expect((await store.rotateRefresh(rotation(r1.successorId, T0 + 2000))).status).toBe('rotated');
    // Outside grace: reuse, and the whole family is revoked in the same operation.
    expect(await store.rotateRefresh(rotation(first, T0 + 1000 + GRACE))).toEqual({ status: 'reused', family: f });
    expect(await store.listFamilies('u1', T0 + 20_000)).toEqual([]);
  });

  it('20 parallel rotations of one token: exactly one rotated, 19 grace with the same successorId', async () => {
    const first = id();
    await store.createFamily(family(), first, T0, IDLE);
    const results = await Promise.all(Array.from({ length: 20 }, () => store.rotateRefresh(rotation(first, T0 + 5))));
    const rotated = results.filter((r) => r.status === 'rotated');
    const grace = results.filter((r) => r.status === 'grace');
    expect(rotated).toHaveLength(1);
    expect(grace).toHaveLength(19);
    expect(new Set(grace.map((g) => (g.status === 'grace' ? g.successorId : '')))).toHaveProperty('size', 1);
  });

  it('enforces the idle deadline (capped at the absolute one) and the absolute deadline', async () => {
    const f = family({ absoluteExpiresAt: T0 + IDLE + 30_000 });
    const first = id();
    await store.createFamily(f, first, T0, IDLE);
    // A minute on, the write's sweep has already forgotten the idled-out family: `missing`, refused the same way.
    expect(['expired', 'missing']).toContain((await store.rotateRefresh(rotation(first, T0 + IDLE))).status);
    const other = family();
    const t = id();
    await store.createFamily(other, t, T0, IDLE);
    const r = rotation(t, T0 + IDLE - 1);
    expect((await store.rotateRefresh(r)).status).toBe('rotated');
    // The successor idles from its rotation, but never past the family's absolute deadline.
    expect((await store.rotateRefresh(rotation(r.successorId, T0 + 2 * IDLE - 2))).status).toBe('rotated');
    const capped = id();
    await store.createFamily(family({ absoluteExpiresAt: T0 + 5000 }), capped, T0, IDLE);
    expect((await store.rotateRefresh(rotation(capped, T0 + 5000))).status).toBe('expired');
    expect((await store.rotateRefresh(rotation(id(), T0))).status).toBe('missing');
  });

  it('revokes by token, by family and by user (families and the access cut-off in one call)', async () => {
    const a = family();
    const ta = id();
    await store.createFamily(a, ta, T0, IDLE);
    expect(await store.revokeFamilyOfToken(ta, T0)).toEqual(a);
    expect(await store.revokeFamilyOfToken(ta, T0)).toBeNull();
    expect((await store.rotateRefresh(rotation(ta, T0))).status).toBe('expired');
    const b = family();
    await store.createFamily(b, id(), T0, IDLE);
    expect(await store.revokeFamily(b.familyId, T0)).toBe(true);
    expect(await store.revokeFamily(b.familyId, T0)).toBe(false);
    const c = family({ createdAt: T0 + 2 });
    const d = family({ createdAt: T0 + 1 });
    await store.createFamily(c, id(), T0, IDLE);
    await store.createFamily(d, id(), T0, IDLE);
    expect((await store.listFamilies('u1', T0)).map((f) => f.familyId)).toEqual([d.familyId, c.familyId]);
    expect(await store.revokeAllForUser('u1', T0 + 100, T0 + 600_000, T0 + 100)).toBe(2);
    expect(await store.listFamilies('u1', T0 + 100)).toEqual([]);
    expect(await store.checkAccess({ userId: 'u1', jti: 'i j1', issuedAt: T0 + 99 }, T0 + 200)).toBe('user');
    expect(await store.checkAccess({ userId: 'u1', jti: 'i j2', issuedAt: T0 + 100 }, T0 + 200)).toBeNull();
    // An earlier cut-off never replaces a later one.
    await store.revokeAllForUser('u1', T0 + 50, T0 + 600_000, T0 + 200);
    expect(await store.checkAccess({ userId: 'u1', jti: 'i j3', issuedAt: T0 + 60 }, T0 + 200)).toBe('user');
    // Forgotten once no token it refuses can be live.
    expect(await store.checkAccess({ userId: 'u1', jti: 'i j4', issuedAt: T0 }, T0 + 600_000)).toBeNull();
  });

  it('checks the jti denylist, then the user cut-off, then the session denylist, until each ends', async () => {
    await store.denyAccessToken('iss jti-1', T0 + 1000, T0);
    await store.denySession('sid-1', T0 + 1000, T0);
    expect(await store.checkAccess({ userId: 'u', jti: 'iss jti-1', issuedAt: T0, sid: 'sid-1' }, T0)).toBe('jti');
    expect(await store.checkAccess({ userId: 'u', jti: 'iss jti-2', issuedAt: T0, sid: 'sid-1' }, T0)).toBe('session');
    expect(await store.checkAccess({ userId: 'u', jti: 'iss jti-2', issuedAt: T0 }, T0)).toBeNull();
    expect(await store.checkAccess({ userId: 'u', jti: 'iss jti-1', issuedAt: T0, sid: 'sid-1' }, T0 + 1000)).toBeNull();
    // Idempotent, and a later `until` extends.
    await store.denyAccessToken('iss jti-1', T0 + 5000, T0 + 2000);
    await store.denyAccessToken('iss jti-1', T0 + 3000, T0 + 2000);
    expect(await store.checkAccess({ userId: 'u', jti: 'iss jti-1', issuedAt: T0 }, T0 + 4000)).toBe('jti');
  });

  it('refuses a duplicate family or token id', async () => {
    const f = family();
    const t = id();
    await store.createFamily(f, t, T0, IDLE);
    await expect(store.createFamily(f, id(), T0, IDLE)).rejects.toThrow(/exists already/);
    await expect(store.createFamily(family(), t, T0, IDLE)).rejects.toThrow(/exists already/);
  });

  it('is bounded: the oldest refresh tokens go first; a denylist full of live entries fails closed', async () => {
    expect(() => new InMemoryTokenStore({ maxEntries: 0 })).toThrow(/maxEntries/);
    const small = new InMemoryTokenStore({ maxEntries: 3 });
    const tokens = [id(), id(), id(), id()];
    for (const t of tokens) await small.createFamily(family(), t, T0, IDLE);
    expect(small.size.tokens).toBe(3);
    expect(small.size.families).toBe(3);
    expect((await small.rotateRefresh(rotation(tokens[0], T0 + 1))).status).toBe('missing');
    expect((await small.rotateRefresh(rotation(tokens[3], T0 + 1))).status).toBe('rotated');
    for (const n of [1, 2, 3]) await small.denyAccessToken(`iss ${n}`, T0 + 1000, T0);
    await expect(small.denyAccessToken('iss 4', T0 + 1000, T0)).rejects.toBeInstanceOf(TokenStoreUnavailableError);
    // Expired entries are swept to make room.
    await small.denyAccessToken('iss 4', T0 + 3000, T0 + 1000);
    expect(small.size.deniedJtis).toBe(1);
  });

  it('holds steady under churn well below its caps: once a minute, a write forgets revoked, dead and expired entries', async () => {
    const MIN = 60_000;
    // An hour of clients: each minute 50 token pairs are issued, each refreshed 5 times, then revoked with a denied
    // access token and a user cut-off that end 5 minutes later; 20 more pairs are simply abandoned (they idle out).
    let now = T0;
    const sizes: number[] = [];
    for (let minute = 0; minute < 60; minute++) {
      for (let n = 0; n < 50; n++) {
        const f = family({ userId: `u${n}`, createdAt: now, absoluteExpiresAt: now + 24 * 60 * MIN });
        let current = id();
        await store.createFamily(f, current, now, IDLE);
        for (let r = 0; r < 5; r++) {
          const next = rotation(current, now);
          expect((await store.rotateRefresh(next)).status).toBe('rotated');
          current = next.successorId;
        }
        expect(await store.revokeFamilyOfToken(current, now)).not.toBeNull();
        await store.denyAccessToken(`jti-${minute}-${n}`, now + 5 * MIN, now);
        await store.revokeAllForUser(`u${n}`, now, now + 5 * MIN, now);
      }
      for (let n = 0; n < 20; n++)
        await store.createFamily(family({ createdAt: now, absoluteExpiresAt: now + 24 * 60 * MIN }), id(), now, IDLE);
      const { tokens, families, deniedJtis, cutoffs } = store.size;
      sizes.push(tokens + families + deniedJtis + cutoffs);
      now += MIN;
    }
    // Without the sweep every revoked family and its 6 tokens stay until their 24 hours are over: 60 x 50 x 7 and more.
    expect(Math.max(...sizes.slice(10))).toBeLessThanOrEqual(2 * sizes[9]);
    expect(Math.max(...sizes)).toBeLessThan(2_000);
    // What is live is kept: a pair issued now still rotates.
    const live = id();
    await store.createFamily(family({ createdAt: now, absoluteExpiresAt: now + MIN * 60 }), live, now, IDLE);
    expect((await store.rotateRefresh(rotation(live, now + 1000))).status).toBe('rotated');
  });

  it('the sweep keeps a family in grace and one whose used token may still be replayed (reuse is still detected)', async () => {
    const f = family({ absoluteExpiresAt: T0 + 60 * IDLE });
    const first = id();
    await store.createFamily(f, first, T0, IDLE);
    const r1 = rotation(first, T0 + 1000, { idleTimeoutMs: 10 * IDLE });
    await store.rotateRefresh(r1);
    // Two minutes later (a sweep runs on this write), the family is live through its successor.
    const other = id();
    await store.createFamily(family(), other, T0 + 2 * 60_000, IDLE);
    expect(await store.rotateRefresh(rotation(first, T0 + 2 * 60_000 + 1))).toEqual({ status: 'reused', family: f });
  });
});

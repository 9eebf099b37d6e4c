/**
 * Routed session tokens (lib/core/token.ts): a store that shards by user (`routingTagFor`, Redis Cluster) gets
 * `<tag>.<token>` and ids `<tag>.<SHA-256 of the token>`; every other store keeps the plain 43-character shape.
 * Checked on the real SessionManager over the in-memory store, given a routing tag the way the cluster store does.
 */
import { ManualClock } from '../../lib/core/clock';
import { SessionManager } from '../../lib/core/session-manager';
import { generateSessionToken, hashToken, isWellFormedSessionToken, routingTagOf, sessionIdOf, TOKEN_LENGTH } from '../../lib/core/token';
import { SecurityEventBus } from '../../lib/events/security-event-bus';
import { InMemorySessionStore } from '../../lib/stores/memory/in-memory-session.store';
import { userRoutingTag } from '../../lib/stores/redis/redis-topology';
import { testPolicy } from '../support/session-policy';

const MIN = 60_000;
const client = { ip: '198.51.100.4', userAgent: 'UnitTest/1.0' };

/** The in-memory store, routing like the cluster store. */
class RoutingStore extends InMemorySessionStore {
  override routingTagFor = userRoutingTag;
}

function managerOn(store: InMemorySessionStore) {
  const clock = new ManualClock(Date.parse('2026-11-30T08:00:00Z'));
  const manager = new SessionManager(store, clock, testPolicy({ maxConcurrentSessions: 0 }), new SecurityEventBus([]));
  return { clock, manager };
}

describe('routed session tokens', () => {
  it('keep 256 random bits after the tag, and put the tag in clear in the id, never the token', () => {
    const token = generateSessionToken('AbC');
    expect(token).toMatch(/^AbC\.[A-Za-z0-9_-]{43}$/);
    expect(token.length).toBe(4 + TOKEN_LENGTH);
    expect(sessionIdOf(token)).toBe(`AbC.${hashToken(token)}`);
    expect(routingTagOf(sessionIdOf(token))).toBe('AbC');
    expect(new Set(Array.from({ length: 100 }, () => generateSessionToken('AbC'))).size).toBe(100);
  });

  it('keep the plain shape without a tag', () => {
    const token = generateSessionToken(undefined);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(sessionIdOf(token)).toBe(hashToken(token));
    expect(routingTagOf(sessionIdOf(token))).toBeUndefined();
  });

  it('refuse a tag a cookie or a Redis hash tag could not carry', () => {
    for (const bad of ['', 'a}b', 'a.b', 'x'.repeat(17), 'é'])
      expect(() => generateSessionToken(bad)).toThrow(/routingTagFor\(\) must answer 1 to 16 base64url/);
  });

  it('are well formed only in the two shapes', () => {
    expect(isWellFormedSessionToken(generateSessionToken('q1_'))).toBe(true);
    expect(isWellFormedSessionToken(generateSessionToken())).toBe(true);
    for (const bad of [
      '.abc',
      `x.${'a'.repeat(42)}`,
      `${'t'.repeat(17)}.${'a'.repeat(43)}`,
      `a.b.${'a'.repeat(43)}`,
      `{a}.${'a'.repeat(43)}`,
    ]) {
      expect(isWellFormedSessionToken(bad)).toBe(false);
    }
  });

  it("are minted by the manager for a routing store, and a rotation keeps the user's tag", async () => {
    const store = new RoutingStore();
    const { manager, clock } = managerOn(store);
    const tag = userRoutingTag('alice');
    const { token, session } = await manager.create({ userId: 'alice', client });
    expect(token.startsWith(`${tag}.`)).toBe(true);
    expect(session.id).toBe(`${tag}.${hashToken(token)}`);
    expect((await manager.resolve(token, client)).kind).toBe('active');

    clock.advance(16 * MIN); // past the rotation interval: this request rotates
    const rotated = await manager.resolve(token, client);
    expect(rotated.kind).toBe('active');
    const issued = rotated.kind === 'active' ? rotated.issuedToken : undefined;
    expect(issued?.startsWith(`${tag}.`)).toBe(true);
    expect((await store.listByUser('alice', clock.now())).map((s) => routingTagOf(s.id))).toEqual([tag]);
  });

  it('are not minted for a store without routingTagFor', async () => {
    const { manager } = managerOn(new InMemorySessionStore());
    const { token, session } = await manager.create({ userId: 'alice', client });
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session.id).toBe(hashToken(token));
  });
});

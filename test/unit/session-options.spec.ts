import { ManualClock } from '../../lib/core/clock';
import { SessionOptionsError } from '../../lib/core/errors';
import { resolveSessionOptions } from '../../lib/session.options';
import { InMemorySessionStore } from '../../lib/stores/memory/in-memory-session.store';

function problemsOf(raw: Parameters<typeof resolveSessionOptions>[0]): string {
  try {
    resolveSessionOptions(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(SessionOptionsError);
    return (e as Error).message;
  }
  throw new Error('expected the options to be rejected');
}

describe('resolveSessionOptions', () => {
  it('fills the hardened defaults, in milliseconds', () => {
    const o = resolveSessionOptions();
    expect(o).toMatchObject({
      idleTimeoutMs: 1_800_000,
      absoluteTimeoutMs: 43_200_000,
      rotationIntervalMs: 900_000,
      rotationGraceMs: 10_000,
      touchIntervalMs: 60_000,
      maxConcurrentSessions: 10,
      closeStoreOnShutdown: true,
      checks: [],
      cookie: { name: '__Host-sid', secure: true, httpOnly: true, sameSite: 'lax', path: '/', domain: undefined, maxAgeMs: undefined },
    });
    expect(o.store).toBeInstanceOf(InMemorySessionStore);
  });

  it('parses duration strings and keeps a store passed in', () => {
    const store = new InMemorySessionStore();
    const clock = new ManualClock(0);
    const o = resolveSessionOptions({
      store,
      clock,
      idleTimeout: '5m',
      absoluteTimeout: '1h',
      rotationInterval: 0,
      cookie: { maxAge: '2h' },
    });
    expect(o.store).toBe(store);
    expect(o.clock).toBe(clock);
    expect(o.idleTimeoutMs).toBe(300_000);
    expect(o.touchIntervalMs).toBe(30_000);
    expect(o.rotationIntervalMs).toBe(Number.POSITIVE_INFINITY);
    expect(o.cookie.maxAgeMs).toBe(3_600_000); // capped at the absolute timeout
  });

  it('refuses an absolute timeout shorter than the idle one, naming both and the fix', () => {
    expect(problemsOf({ idleTimeout: '30m', absoluteTimeout: '10m' })).toMatch(
      /absoluteTimeout \(10m\) is shorter than idleTimeout \(30m\): set absoluteTimeout >= idleTimeout/,
    );
  });

  it('refuses negative or unparsable durations', () => {
    expect(problemsOf({ idleTimeout: -5 })).toMatch(/idleTimeout is -5: give milliseconds/);
    expect(problemsOf({ rotationGrace: 'soon' })).toMatch(/rotationGrace is "soon"/);
    expect(problemsOf({ idleTimeout: 10 })).toMatch(/idleTimeout is 10ms: it must be at least 1s/);
  });

  it('refuses an unknown store', () => {
    expect(problemsOf({ store: 'mongo' as never })).toMatch(/store "mongo" is unknown: pass 'memory' or an instance of a SessionStore/);
    expect(problemsOf({ store: {} as never })).toMatch(/store \(an object of class Object\) is unknown/);
  });

  it('refuses SameSite=None without Secure, and __Host- rule breaks', () => {
    expect(problemsOf({ cookie: { name: 'sid', sameSite: 'none', secure: false } })).toMatch(/sameSite 'none' needs cookie.secure true/);
    expect(problemsOf({ cookie: { secure: false } })).toMatch(/"__Host-", which needs cookie.secure true/);
    expect(problemsOf({ cookie: { domain: 'example.com' } })).toMatch(/forbids cookie.domain/);
    expect(problemsOf({ cookie: { path: '/app' } })).toMatch(/needs cookie.path "\/"/);
    expect(problemsOf({ cookie: { name: '__Secure-sid', secure: false } })).toMatch(/"__Secure-", which needs cookie.secure true/);
  });

  it('validates cookie attributes and counts with class-validator', () => {
    expect(problemsOf({ cookie: { name: 'bad name;' } })).toMatch(/cookie.name must be a valid cookie name/);
    expect(problemsOf({ cookie: { name: 'sid', sameSite: 'sometimes' as never } })).toMatch(
      /cookie.sameSite must be 'strict', 'lax' or 'none'/,
    );
    expect(problemsOf({ cookie: { name: 'sid', path: 'nope' } })).toMatch(/cookie.path must start with "\/"/);
    expect(problemsOf({ maxConcurrentSessions: -1 })).toMatch(/maxConcurrentSessions must be 0 \(unlimited\) or more/);
    expect(problemsOf({ maxConcurrentSessions: 1.5 })).toMatch(/maxConcurrentSessions must be a whole number/);
  });

  it('lists every problem at once', () => {
    const msg = problemsOf({ idleTimeout: 'x', store: 'nope' as never, cookie: { sameSite: 'none', secure: false, name: 'sid' } });
    expect(msg.split('\n  - ')).toHaveLength(4);
  });

  it('allows a non-prefixed cookie over plain HTTP for development', () => {
    const o = resolveSessionOptions({ cookie: { name: 'sid', secure: false, sameSite: 'lax', domain: 'app.example.com', path: '/app' } });
    expect(o.cookie).toMatchObject({ name: 'sid', secure: false, domain: 'app.example.com', path: '/app' });
  });

  it('resolves the authorization options: tiers, limits, roles and re-authentication', () => {
    const o = resolveSessionOptions();
    expect(o).toMatchObject({
      concurrentSessionPolicy: 'evict-oldest',
      rememberIdleTimeoutMs: 30 * 86_400_000,
      rememberAbsoluteTimeoutMs: 90 * 86_400_000,
      impersonationMaxAgeMs: 3_600_000,
      roles: { hierarchy: {}, permissions: {} },
      reauth: { maxAgeMs: 300_000, path: '/auth/reauth' },
      maxConcurrentSessionsFor: undefined,
    });
    const limit = () => 3;
    const custom = resolveSessionOptions({
      maxConcurrentSessions: limit,
      concurrentSessionPolicy: 'deny-new',
      rememberMe: { idleTimeout: '7d', absoluteTimeout: '30d' },
      impersonation: { maxAge: '15m' },
      roles: { hierarchy: { admin: ['user'] }, permissions: { user: ['cart:write'] } },
      reauth: { maxAge: '2m', path: '/account/confirm' },
    });
    expect(custom).toMatchObject({
      maxConcurrentSessionsFor: limit,
      concurrentSessionPolicy: 'deny-new',
      rememberIdleTimeoutMs: 7 * 86_400_000,
      rememberAbsoluteTimeoutMs: 30 * 86_400_000,
      impersonationMaxAgeMs: 900_000,
      roles: { hierarchy: { admin: ['user'] }, permissions: { user: ['cart:write'] } },
      reauth: { maxAgeMs: 120_000, path: '/account/confirm' },
    });
  });

  it('refuses bad authorization options, naming each', () => {
    const message = problemsOf({
      concurrentSessionPolicy: 'kick-everyone' as 'deny-new',
      rememberMe: { idleTimeout: '90d', absoluteTimeout: '30d' },
      roles: { hierarchy: { admin: 'user' as unknown as string[] }, permissions: [] as unknown as Record<string, string[]> },
      reauth: { maxAge: 'soon', path: 'auth/reauth' },
    });
    expect(message).toContain("concurrentSessionPolicy must be 'evict-oldest' or 'deny-new'");
    expect(message).toContain('rememberMe.absoluteTimeout (30d) is shorter than rememberMe.idleTimeout (90d)');
    expect(message).toContain("roles.hierarchy.admin must be a list of non-empty strings, e.g. { admin: ['user'] }");
    expect(message).toContain('roles.permissions must be an object mapping each role');
    expect(message).toContain('reauth.maxAge is "soon"');
    expect(message).toContain('reauth.path is "auth/reauth"');
  });
});

import { CookiePolicy } from '../../lib/http/cookie-policy';
import { resolveSessionOptions } from '../../lib/session.options';

function res() {
  const headers = new Map<string, unknown>();
  return {
    headers,
    getHeader: (n: string) => headers.get(n.toLowerCase()) as string[] | undefined,
    setHeader: (n: string, v: unknown) => headers.set(n.toLowerCase(), v),
  };
}
const req = (cookie?: string) => ({ headers: cookie === undefined ? {} : { cookie } });

describe('CookiePolicy', () => {
  const policy = new CookiePolicy(resolveSessionOptions().cookie);
  const token = 'A'.repeat(43);

  it('writes the hardened cookie: __Host-, Path=/, HttpOnly, Secure, SameSite=Lax, no Domain, no Max-Age', () => {
    const r = res();
    policy.set(r, token);
    expect(r.headers.get('set-cookie')).toEqual([`__Host-sid=${token}; Path=/; HttpOnly; Secure; SameSite=Lax`]);
    expect(`__Host-sid=${token}`.length).toBeLessThanOrEqual(4096);
  });

  it('clears with an expired cookie of the same attributes, replacing an earlier Set-Cookie of ours', () => {
    const r = res();
    r.setHeader('Set-Cookie', ['other=1; Path=/']);
    policy.set(r, token);
    policy.clear(r);
    expect(r.headers.get('set-cookie')).toEqual([
      'other=1; Path=/',
      '__Host-sid=; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
    ]);
  });

  it('honours configured attributes and caps Max-Age', () => {
    const p = new CookiePolicy(
      resolveSessionOptions({
        absoluteTimeout: '1h',
        cookie: { name: 'sid', secure: false, sameSite: 'strict', domain: 'example.com', path: '/app', maxAge: '2h' },
      }).cookie,
    );
    const r = res();
    p.set(r, token);
    expect(r.headers.get('set-cookie')).toEqual([`sid=${token}; Path=/app; Domain=example.com; HttpOnly; SameSite=Strict; Max-Age=3600`]);
  });

  describe('maxAgeFor: how long the cookie of a session lives', () => {
    const now = 1_800_000_000_000;
    const H = 3_600_000;

    it('a remembered session gets a persistent cookie for the rest of its absolute lifetime, in whole seconds', () => {
      const maxAge = policy.maxAgeFor({ tier: 'remember', absoluteExpiresAt: now + 90 * 24 * H - 1500 }, now);
      expect(maxAge).toBe(90 * 24 * H - 1500);
      const r = res();
      policy.set(r, token, maxAge);
      expect(r.headers.get('set-cookie')).toEqual([
        `__Host-sid=${token}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=${90 * 24 * 3600 - 2}`,
      ]);
      expect(policy.maxAgeFor({ tier: 'remember', absoluteExpiresAt: now - 1 }, now)).toBe(0);
    });

    it('a standard session keeps a session cookie, unless cookie.maxAge is set: then that, never past its absolute deadline', () => {
      expect(policy.maxAgeFor({ tier: 'standard', absoluteExpiresAt: now + 12 * H }, now)).toBeUndefined();
      const r = res();
      policy.set(r, token, policy.maxAgeFor({ tier: 'standard', absoluteExpiresAt: now + 12 * H }, now));
      expect(r.headers.get('set-cookie')).toEqual([`__Host-sid=${token}; Path=/; HttpOnly; Secure; SameSite=Lax`]);
      const persistent = new CookiePolicy(resolveSessionOptions({ absoluteTimeout: '12h', cookie: { maxAge: '8h' } }).cookie);
      expect(persistent.maxAgeFor({ tier: 'standard', absoluteExpiresAt: now + 12 * H }, now)).toBe(8 * H);
      // An impersonation session capped at one hour, or a session near its end, never gets a cookie that outlives it.
      expect(persistent.maxAgeFor({ tier: 'standard', absoluteExpiresAt: now + H }, now)).toBe(H);
    });
  });

  it('finds its cookie among others, and only its exact name', () => {
    expect(policy.read(req(`a=1; __Host-sid=${token}; b=2`))).toEqual({ kind: 'present', value: token });
    expect(policy.read(req(`__Host-sidx=${token}`))).toEqual({ kind: 'absent' });
    expect(policy.read(req(`x__Host-sid=${token}`))).toEqual({ kind: 'absent' });
    expect(policy.read(req(`__Host-sid="${token}"`))).toEqual({ kind: 'present', value: token });
    expect(policy.read(req())).toEqual({ kind: 'absent' });
    expect(policy.read(req(''))).toEqual({ kind: 'absent' });
  });

  it('trusts neither of two cookies with its name (tossing)', () => {
    expect(policy.read(req(`__Host-sid=${token}; __Host-sid=${'B'.repeat(43)}`))).toEqual({ kind: 'ambiguous' });
  });

  it('never reads the id from elsewhere than the Cookie header', () => {
    expect(policy.read({ headers: { authorization: `Bearer ${token}`, 'x-session-id': token } })).toEqual({ kind: 'absent' });
  });
});

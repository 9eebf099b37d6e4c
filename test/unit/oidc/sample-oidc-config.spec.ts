import { ConfigError, parseConfig } from '../../../sample/src/config';
import { reauthRouteOf, SESSION_REAUTH_ROUTE_KEY } from '../../../lib/reauth/reauth-route';

const OIDC = { OIDC_ISSUER: 'https://op.example.com', OIDC_CLIENT_ID: 'sample', OIDC_CLIENT_SECRET: 'a-secret-of-16-chars' };

describe('sample config: OIDC_*', () => {
  it('is off when unset, and derives the redirect URI from PUBLIC_ORIGIN or HOST:PORT', () => {
    expect(parseConfig({}).oidc).toBeUndefined();
    expect(parseConfig({ ...OIDC, PORT: '4000' }).oidc).toEqual({
      issuer: OIDC.OIDC_ISSUER,
      clientId: 'sample',
      clientSecret: OIDC.OIDC_CLIENT_SECRET,
      redirectUri: 'http://127.0.0.1:4000/auth/oidc/callback',
    });
    expect(parseConfig({ ...OIDC, PUBLIC_ORIGIN: 'https://app.example.com' }).oidc?.redirectUri).toBe(
      'https://app.example.com/auth/oidc/callback',
    );
    expect(parseConfig({ ...OIDC, OIDC_REDIRECT_URI: 'https://app.example.com/cb' }).oidc?.redirectUri).toBe('https://app.example.com/cb');
    expect(parseConfig({ ...OIDC, OIDC_ISSUER: 'http://127.0.0.1:9000' }).oidc?.issuer).toBe('http://127.0.0.1:9000');
  });

  it.each([
    [{ OIDC_ISSUER: OIDC.OIDC_ISSUER }, /OIDC_CLIENT_ID is unset.*OIDC_CLIENT_SECRET is unset/],
    [{ ...OIDC, OIDC_ISSUER: 'http://op.example.com' }, /OIDC_ISSUER .*loopback/],
    [{ ...OIDC, OIDC_ISSUER: 'op.example.com' }, /OIDC_ISSUER .*absolute https: URL/],
    [{ ...OIDC, OIDC_CLIENT_SECRET: 'short' }, /OIDC_CLIENT_SECRET is shorter than 16/],
    [{ ...OIDC, OIDC_REDIRECT_URI: 'http://app.example.com/cb' }, /OIDC_REDIRECT_URI/],
  ])('stops start-up naming the variable: %j', (env, message) => {
    expect(() => parseConfig(env)).toThrow(ConfigError);
    expect(() => parseConfig(env)).toThrow(message);
  });
});

describe('reauthRouteOf', () => {
  it('reads a session\u2019s own local re-authentication route, and nothing else', () => {
    expect(reauthRouteOf({})).toBeUndefined();
    expect(reauthRouteOf({ [SESSION_REAUTH_ROUTE_KEY]: { path: '/auth/oidc/login?reauth=1', method: 'GET' } })).toEqual({
      path: '/auth/oidc/login?reauth=1',
      method: 'GET',
    });
    for (const value of [
      { path: 'https://evil.example/', method: 'GET' },
      { path: '//evil.example/', method: 'GET' },
      { path: '/\\evil.example', method: 'GET' },
      { path: '/x', method: 'DELETE' },
      'x',
      null,
    ]) {
      expect(reauthRouteOf({ [SESSION_REAUTH_ROUTE_KEY]: value as never })).toBeUndefined();
    }
  });
});

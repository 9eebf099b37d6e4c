import { OIDC_DEFAULTS, OidcOptionsError, resolveOidcOptions } from '../../../lib/oidc/oidc.options';
import { flowKeyOf, openFlow, sealFlow } from '../../../lib/oidc/oidc-flow';
import { InMemoryOidcSessionLinkStore } from '../../../lib/oidc/oidc-session-link.store';

const GOOD = {
  issuer: 'https://op.example.com',
  clientId: 'client-1',
  clientSecret: 'a-secret-of-16-chars',
  redirectUri: 'https://app.example.com/auth/oidc/callback',
};

describe('resolveOidcOptions', () => {
  it('fills in the defaults', () => {
    const resolved = resolveOidcOptions(GOOD);
    expect(resolved).toMatchObject({
      scope: OIDC_DEFAULTS.scope,
      signingAlgorithm: 'RS256',
      flowTimeoutMs: 600_000,
      cookieName: '__Host-nsk-oidc',
      secureCookie: true,
      reauthPath: '/auth/oidc/login?reauth=1',
      logoutTokenMaxAgeMs: 120_000,
      issuerId: GOOD.issuer,
    });
    expect(resolveOidcOptions({ ...GOOD, secureCookie: false }).cookieName).toBe('nsk-oidc');
    const identity = { issuer: 'i', subject: 's', amr: ['pwd'], claims: {} };
    expect(resolved.assuranceLevelOf(identity)).toBe(1);
    expect(resolved.assuranceLevelOf({ ...identity, amr: ['pwd', 'mfa'] })).toBe(2);
    expect(resolveOidcOptions({ ...GOOD, aal2Acrs: ['urn:aal2'] }).assuranceLevelOf({ ...identity, acr: 'urn:aal2' })).toBe(2);
  });

  it('accepts http: only on a loopback address', () => {
    expect(() => resolveOidcOptions({ ...GOOD, issuer: 'http://127.0.0.1:4000', redirectUri: 'http://localhost:3000/cb' })).not.toThrow();
    expect(() => resolveOidcOptions({ ...GOOD, issuer: 'http://op.example.com' })).toThrow(/issuer .*http: is accepted only on a loopback/);
    expect(() => resolveOidcOptions({ ...GOOD, redirectUri: 'http://10.0.0.1/cb' })).toThrow(/redirectUri/);
  });

  it('lists every bad option at once, by name', () => {
    let error: unknown;
    try {
      resolveOidcOptions({
        issuer: 'not a url',
        clientId: '',
        clientSecret: 'short',
        redirectUri: 'https://app.example.com/cb',
        scope: 'email',
        signingAlgorithm: 'HS256',
        flowTimeout: 5,
        reauthPath: '//evil.example',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OidcOptionsError);
    const message = (error as Error).message;
    for (const name of ['issuer', 'clientId', 'clientSecret', 'scope', 'signingAlgorithm', 'flowTimeout', 'reauthPath'])
      expect(message).toContain(name);
    expect(() => resolveOidcOptions({ ...GOOD, signingAlgorithm: 'none' })).toThrow(/none and HS\* are refused/);
  });
});

describe('the pre-login flow cookie', () => {
  const flow = { state: 's', nonce: 'n', codeVerifier: 'v', reauth: false, startedAt: 1, expiresAt: 2, returnTo: '/x' };

  it('opens with the key that sealed it, and with no other', async () => {
    const key = flowKeyOf('a-secret-of-16-chars');
    const sealed = await sealFlow(flow, key);
    expect(sealed).not.toContain('"s"');
    await expect(openFlow(sealed, key)).resolves.toEqual(flow);
    await expect(openFlow(sealed, flowKeyOf('another-secret-of-16'))).resolves.toBeUndefined();
    await expect(openFlow(`${sealed.slice(0, -3)}AAA`, key)).resolves.toBeUndefined();
    await expect(openFlow('garbage', key)).resolves.toBeUndefined();
  });
});

describe('InMemoryOidcSessionLinkStore', () => {
  const link = (sid: string | null, subject: string, handle: string, issuer = 'i') => ({
    issuer,
    subject,
    sid,
    userId: `u-${subject}`,
    sessionHandle: handle,
    expiresAt: 100,
  });

  it('takes by sid (the sessions of that provider session) or by sub (all of that user from that issuer), once', async () => {
    const store = new InMemoryOidcSessionLinkStore();
    await store.add(link('sid-1', 'alice', 'h1'), 0);
    await store.add(link('sid-2', 'alice', 'h2'), 0);
    await store.add(link('sid-3', 'bob', 'h3'), 0);
    await store.add(link('sid-9', 'alice', 'h9', 'other-issuer'), 0);
    expect((await store.take('i', { sid: 'sid-1' }, 0)).map((l) => l.sessionHandle)).toEqual(['h1']);
    expect(await store.take('i', { sid: 'sid-1' }, 0)).toEqual([]);
    expect(await store.take('i', { sid: 'sid-3', subject: 'alice' }, 0)).toEqual([]);
    expect((await store.take('i', { subject: 'alice' }, 0)).map((l) => l.sessionHandle)).toEqual(['h2']);
    expect((await store.take('other-issuer', { subject: 'alice' }, 0)).map((l) => l.sessionHandle)).toEqual(['h9']);
    expect(await store.take('i', {}, 0)).toEqual([]);
    // Expired links name nothing.
    expect(await store.take('i', { subject: 'bob' }, 101)).toEqual([]);
  });
});

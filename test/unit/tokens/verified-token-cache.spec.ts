/**
 * ApiTokenService's verified-token cache (`verifiedTokenCacheSize`): a token presented again skips the signature
 * verification, and nothing else: revocation, expiry and key retirement still refuse it. The verification count is read
 * from a spy on WebCrypto's `subtle.verify` (jose's only way to check a signature), which still runs the real check.
 */
import type { HttpRequestLike } from '../../../lib/http/http-types';
import { generateKeyPairSync } from 'node:crypto';
import {
  AccessTokenJwk,
  ApiTokenModuleOptions,
  ApiTokenOptionsError,
  ApiTokenService,
  InMemoryTokenStore,
  InvalidAccessTokenException,
  ManualClock,
  SecurityEventBus,
} from '../../../lib';
import { resolveApiTokenOptions } from '../../../lib/tokens/api-token.options';

const REQ: HttpRequestLike = { headers: {} };

function service(
  options: Partial<ApiTokenModuleOptions> = {},
  clock = new ManualClock(Date.parse('2026-06-01T00:00:00Z')),
): { tokens: ApiTokenService; clock: ManualClock } {
  const resolved = resolveApiTokenOptions({
    issuer: 'https://api.test',
    audience: 'https://api.test/v1',
    store: new InMemoryTokenStore(),
    ...options,
  });
  return { tokens: new ApiTokenService(resolved, clock, new SecurityEventBus()), clock };
}

describe('verified access tokens', () => {
  let verify: jest.SpyInstance;
  beforeEach(() => {
    verify = jest.spyOn(globalThis.crypto.subtle, 'verify');
  });
  afterEach(() => verify.mockRestore());

  it('verify a token once and answer it again from the cache, by default', async () => {
    const { tokens } = service();
    const { access_token } = await tokens.issue({ userId: 'u1', roles: ['user'] });
    const first = await tokens.authenticate(access_token, REQ);
    const second = await tokens.authenticate(access_token, REQ);
    expect(verify).toHaveBeenCalledTimes(1);
    expect(second).toEqual(first);
    expect(second.userId).toBe('u1');
    expect(second.roles).toEqual(['user']);
  });

  it('drop expired tokens from the cache (at most once a minute, on a miss), so it holds the tokens still in use', async () => {
    const { tokens, clock } = service({ accessTokenTtl: 60_000 });
    const cached = (): number => (tokens as unknown as { verified: { size: number } }).verified.size;
    for (let i = 0; i < 5; i++) await tokens.authenticate((await tokens.issue({ userId: `u${i}` })).access_token, REQ);
    expect(cached()).toBe(5);
    clock.advance(61_000); // all five expired; the next miss sweeps them
    const fresh = (await tokens.issue({ userId: 'u9' })).access_token;
    await tokens.authenticate(fresh, REQ);
    expect(cached()).toBe(1);
    clock.advance(30_000); // within the minute: no sweep yet, the fresh token still counts
    await tokens.authenticate((await tokens.issue({ userId: 'u10' })).access_token, REQ);
    expect(cached()).toBe(2);
  });

  it('verify every request with verifiedTokenCacheSize 0', async () => {
    const { tokens } = service({ verifiedTokenCacheSize: 0 });
    const { access_token } = await tokens.issue({ userId: 'u1' });
    await tokens.authenticate(access_token, REQ);
    await tokens.authenticate(access_token, REQ);
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it('never let a cached token through once revoked', async () => {
    const { tokens } = service();
    const { access_token } = await tokens.issue({ userId: 'u1' });
    await tokens.authenticate(access_token, REQ);
    await tokens.revoke(access_token);
    await expect(tokens.authenticate(access_token, REQ)).rejects.toMatchObject({ reason: 'revoked' });
    // Logout everywhere (the user's cut-off) too.
    const other = await tokens.issue({ userId: 'u2' });
    await tokens.authenticate(other.access_token, REQ);
    await tokens.revokeAllForUser('u2', 'logout_everywhere');
    await expect(tokens.authenticate(other.access_token, REQ)).rejects.toMatchObject({ reason: 'revoked' });
  });

  it('refuse a cached token from its exp on, as jose does (whole seconds)', async () => {
    const { tokens, clock } = service({ accessTokenTtl: '1m' });
    const { access_token, expires_in } = await tokens.issue({ userId: 'u1' });
    await tokens.authenticate(access_token, REQ);
    clock.advance(expires_in * 1000 - 1);
    await expect(tokens.authenticate(access_token, REQ)).resolves.toMatchObject({ userId: 'u1' });
    clock.advance(1);
    const refusal = tokens.authenticate(access_token, REQ);
    await expect(refusal).rejects.toBeInstanceOf(InvalidAccessTokenException);
    await expect(refusal).rejects.toMatchObject({ reason: 'expired' });
  });

  it('refuse a cached token once the key that signed it is no longer trusted, before its exp', async () => {
    const jwk = (kid: string): AccessTokenJwk => ({
      ...(generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }) as AccessTokenJwk),
      kid,
    });
    const [a, aNext, b, bNext] = [jwk('a'), jwk('a-next'), jwk('b'), jwk('b-next')];
    // Instance B trusts A's key as retired from its start-up, for one token lifetime (1 min); A signs 30 s later.
    const { tokens: verifier, clock } = service({ accessTokenTtl: '1m', keys: [b, bNext, a] });
    clock.advance(30_000);
    const { tokens: signer } = service({ accessTokenTtl: '1m', keys: [a, aNext] }, clock);
    const { access_token } = await signer.issue({ userId: 'u1' });
    await verifier.authenticate(access_token, REQ);
    clock.advance(29_000);
    await expect(verifier.authenticate(access_token, REQ)).resolves.toMatchObject({ userId: 'u1' });
    expect(verify).toHaveBeenCalledTimes(1);
    // A's key is no longer trusted by B from 60 s on; the token itself lives until 90 s.
    clock.advance(1_000);
    await expect(verifier.authenticate(access_token, REQ)).rejects.toMatchObject({ reason: 'unknown_kid' });
    await expect(signer.authenticate(access_token, REQ)).resolves.toMatchObject({ userId: 'u1' });
  });

  it('refuse a bad verifiedTokenCacheSize at start-up, naming the fix', () => {
    for (const bad of [-1, 1.5, 2_000_000, '10' as unknown as number]) {
      expect(() => service({ verifiedTokenCacheSize: bad })).toThrow(ApiTokenOptionsError);
      expect(() => service({ verifiedTokenCacheSize: bad })).toThrow(/verifiedTokenCacheSize .*from 0 \(verify every request\) to 1000000/);
    }
  });
});

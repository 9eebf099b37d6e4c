import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { BACKCHANNEL_LOGOUT_EVENT, LogoutTokenError, verifyLogoutToken } from '../../../lib/oidc/logout-token';

const ISSUER = 'https://op.example.com';
const CLIENT = 'client-1';
const NOW = Date.parse('2026-11-30T10:00:00Z');
const S = Math.floor(NOW / 1000);

describe('verifyLogoutToken (Back-Channel Logout 1.0 §2.6)', () => {
  let key: CryptoKey;
  let other: CryptoKey;
  let keys: ReturnType<typeof createLocalJWKSet>;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    key = pair.privateKey;
    other = (await generateKeyPair('RS256')).privateKey;
    keys = createLocalJWKSet({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256' }] });
  });

  async function token(claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}, signer = key): Promise<string> {
    const payload = {
      iss: ISSUER,
      aud: CLIENT,
      iat: S,
      exp: S + 60,
      jti: 'j-1',
      sub: 'user-1',
      events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
      ...claims,
    };
    for (const [k, v] of Object.entries(payload)) if (v === undefined) delete (payload as Record<string, unknown>)[k];
    return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'logout+jwt', ...header } as never).sign(signer);
  }

  const expectations = { issuer: ISSUER, clientId: CLIENT, algorithm: 'RS256', now: NOW, maxAgeMs: 120_000, clockToleranceMs: 30_000 };

  it('accepts a well-formed token and answers what it names', async () => {
    await expect(verifyLogoutToken(await token({ sid: 'op-sid' }), keys, expectations)).resolves.toEqual({
      issuer: ISSUER,
      subject: 'user-1',
      sid: 'op-sid',
      jti: 'j-1',
      issuedAt: S * 1000,
      expiresAt: (S + 60) * 1000,
    });
    await expect(verifyLogoutToken(await token({ sub: undefined, sid: 'op-sid' }), keys, expectations)).resolves.toMatchObject({
      sid: 'op-sid',
    });
    // typ may carry the media type prefix (RFC 8725 §3.11).
    await expect(verifyLogoutToken(await token({}, { typ: 'application/logout+jwt' }), keys, expectations)).resolves.toBeDefined();
  });

  it.each<[string, () => Promise<string> | string, string]>([
    ['another key', () => token({}, {}, other), 'bad_signature'],
    ['typ JWT', () => token({}, { typ: 'JWT' }), 'claim_typ'],
    ['no typ', () => token({}, { typ: undefined }), 'claim_typ'],
    ['a nonce', () => token({ nonce: 'n' }), 'nonce_present'],
    ['no events', () => token({ events: undefined }), 'claim_events'],
    ['events without the back-channel member', () => token({ events: { 'http://other': {} } }), 'events_missing'],
    ['events as a list', () => token({ events: [BACKCHANNEL_LOGOUT_EVENT] }), 'events_missing'],
    ['neither sub nor sid', () => token({ sub: undefined }), 'no_target'],
    ['a wrong audience', () => token({ aud: 'other' }), 'claim_aud'],
    ['a wrong issuer', () => token({ iss: 'https://evil.example' }), 'claim_iss'],
    ['expired', () => token({ iat: S - 300, exp: S - 100 }), 'expired'],
    ['issued too long ago', () => token({ iat: S - 600, exp: S + 60 }), 'too_old'],
    ['living too long', () => token({ exp: S + 3600 }), 'exp_too_far'],
    ['no exp', () => token({ exp: undefined }), 'claim_exp'],
    ['no jti', () => token({ jti: undefined }), 'claim_jti'],
    ['a numeric sub', () => token({ sub: 5 }), 'sub_invalid'],
    ['not a JWT', () => 'abc', 'jws_invalid'],
    ['nothing', () => '', 'missing'],
    ['too long', () => 'a'.repeat(9000), 'too_long'],
  ])('refuses a token with %s', async (_label, make, reason) => {
    const error = await verifyLogoutToken(await make(), keys, expectations).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LogoutTokenError);
    expect((error as LogoutTokenError).reason).toBe(reason);
  });

  it('refuses an algorithm other than the pinned one (HS256 with the public key as secret, none)', async () => {
    const hs = await new SignJWT({
      iss: ISSUER,
      aud: CLIENT,
      iat: S,
      exp: S + 60,
      jti: 'j',
      sub: 'u',
      events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1', typ: 'logout+jwt' })
      .sign(new TextEncoder().encode('x'.repeat(32)));
    await expect(verifyLogoutToken(hs, keys, expectations)).rejects.toBeInstanceOf(LogoutTokenError);
    const none = `${Buffer.from('{"alg":"none","typ":"logout+jwt"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ iss: ISSUER, aud: CLIENT, iat: S, exp: S + 60, jti: 'j', sub: 'u', events: { [BACKCHANNEL_LOGOUT_EVENT]: {} } }),
    ).toString('base64url')}.`;
    await expect(verifyLogoutToken(none, keys, expectations)).rejects.toBeInstanceOf(LogoutTokenError);
  });

  it('lets a key-fetch failure through (503, the provider retries), not as a refused token', async () => {
    const failing = async () => {
      throw new TypeError('fetch failed');
    };
    const error = await verifyLogoutToken(await token(), failing as never, expectations).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
  });
});

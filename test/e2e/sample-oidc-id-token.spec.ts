/**
 * The ID token from the token endpoint is checked against the provider's JWKS (openid-client v6 skips that unless
 * told: `enableNonRepudiationChecks`), and its algorithm is pinned. A hand-made provider is used here, because a real
 * one never signs with a key it does not publish: it serves discovery and its JWKS honestly, and its token endpoint
 * answers an ID token signed with whatever key the test chooses (as a compromised or impersonated endpoint would).
 */
import { createServer, Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { freePort } from '../support/test-openid-provider';
import { SampleHarness, startSample } from './sample-helpers';

const CLIENT_ID = 'sample-app';
const CLIENT_SECRET = 'sample-app-secret-0123456789';

describe('sample OIDC: the ID token from the token endpoint', () => {
  let server: Server;
  let app: SampleHarness;
  let issuer: string;
  let published: CryptoKey;
  let rogue: CryptoKey;
  /** What the token endpoint signs the next ID token with, and the nonce it echoes. */
  const next = { key: undefined as CryptoKey | Uint8Array | undefined, alg: 'RS256', nonce: '' };

  beforeAll(async () => {
    const [opPort, appPort] = [await freePort(), await freePort()];
    issuer = `http://127.0.0.1:${opPort}`;
    const pair = await generateKeyPair('RS256');
    published = pair.privateKey;
    rogue = (await generateKeyPair('RS256')).privateKey;
    const jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] };
    server = createServer((req, res) => {
      const json = (body: unknown) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(body));
      };
      if (req.url === '/.well-known/openid-configuration') {
        return json({
          issuer,
          authorization_endpoint: `${issuer}/auth`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          code_challenge_methods_supported: ['S256'],
        });
      }
      if (req.url === '/jwks') return json(jwks);
      if (req.url === '/token' && req.method === 'POST') {
        req.resume();
        req.on('end', () => {
          const now = Math.floor(Date.now() / 1000);
          void new SignJWT({ nonce: next.nonce, auth_time: now })
            .setProtectedHeader({ alg: next.alg, kid: 'k1' })
            .setIssuer(issuer)
            .setAudience(CLIENT_ID)
            .setSubject('subject-1')
            .setIssuedAt(now)
            .setExpirationTime(now + 300)
            .sign(next.key!)
            .then((idToken) => json({ access_token: 'at', token_type: 'Bearer', expires_in: 300, id_token: idToken }));
        });
        return;
      }
      res.statusCode = 404;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(opPort, '127.0.0.1', resolve));
    app = await startSample(
      { PORT: String(appPort), OIDC_ISSUER: issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET },
      { listenOnConfiguredPort: true },
    );
  });

  afterAll(async () => {
    await app?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  /** Starts a sign-in and comes back with a code, as if the provider had authenticated the user. */
  async function callbackWith(key: CryptoKey | Uint8Array, alg = 'RS256'): Promise<{ status: number; code?: string }> {
    const client = app.client();
    const start = await client.get('/auth/oidc/login');
    expect(start.status).toBe(303);
    const url = new URL(start.headers.location);
    next.key = key;
    next.alg = alg;
    next.nonce = url.searchParams.get('nonce')!;
    const res = await client.get(`/auth/oidc/callback?code=c&state=${url.searchParams.get('state')}`);
    return { status: res.status, code: res.body?.code };
  }

  it('accepts one signed with the published key', async () => {
    expect(await callbackWith(published)).toEqual({ status: 303, code: undefined });
  });

  it('refuses one signed with a key the provider does not publish (same kid)', async () => {
    expect(await callbackWith(rogue)).toEqual({ status: 401, code: 'OIDC_TOKEN_REJECTED' });
  });

  it('refuses one with another algorithm than the pinned RS256 (HS256 keyed with the client secret)', async () => {
    expect(await callbackWith(new TextEncoder().encode(CLIENT_SECRET), 'HS256')).toEqual({ status: 401, code: 'OIDC_TOKEN_REJECTED' });
  });
});

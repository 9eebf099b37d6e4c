// The types of oidc-provider (it ships none), also for the examples/ type-check, which compiles only what is imported.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./oidc-provider.d.ts" />
/**
 * A real OpenID Provider for the OIDC tests: oidc-provider run in this process on 127.0.0.1 (not a mock), with one
 * confidential test client, known RS256 signing keys, PKCE required, back-channel logout on, and minimal interaction
 * handlers that sign in whoever the test queued (`nextLogin`), with the `auth_time`, `amr` and `acr` the test asks.
 *
 * {@link OpBrowser} plays the browser at the provider (its own cookie jar, redirects followed by hand until the
 * provider sends the browser back to the app).
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, createServer as createNetServer } from 'node:net';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, JWTPayload, SignJWT, type CryptoKey } from 'jose';
import Provider from 'oidc-provider';

/** A free TCP port on 127.0.0.1 (released at once; the caller binds it right after). */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Who the next interaction signs in, and how. */
export interface TestLogin {
  /** The provider's `sub`. */
  subject: string;
  email?: string;
  preferredUsername?: string;
  /** Seconds to set `auth_time` in the past (default 0: now). */
  authAgeSeconds?: number;
  amr?: string[];
  acr?: string;
}

export interface TestOpOptions {
  port: number;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  backchannelLogoutUri: string;
}

/** The signing key of a provider (or another key, for forgeries), as tests need it to sign tokens. */
export interface SigningKey {
  privateKey: CryptoKey;
  kid: string;
  alg: 'RS256';
}

/** Makes an RS256 key pair with `kid`. */
export async function makeSigningKey(
  kid: string,
): Promise<SigningKey & { publicJwk: Record<string, unknown>; privateJwk: Record<string, unknown> }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return {
    privateKey,
    kid,
    alg: 'RS256',
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' },
  };
}

export class TestOpenIdProvider {
  readonly issuer: string;
  /** Logins the interaction handler uses, first in first out; empty: it fails the interaction. */
  readonly logins: TestLogin[] = [];
  /** Claims of every subject that signed in (for `findAccount`). */
  private readonly accounts = new Map<string, TestLogin>();
  private server: Server | undefined;
  readonly provider: Provider;

  private constructor(
    readonly options: TestOpOptions,
    readonly key: SigningKey,
    privateJwk: Record<string, unknown>,
  ) {
    this.issuer = `http://127.0.0.1:${options.port}`;
    const accounts = this.accounts;
    this.provider = new Provider(this.issuer, {
      clients: [
        {
          client_id: options.clientId,
          client_secret: options.clientSecret,
          redirect_uris: [options.redirectUri],
          grant_types: ['authorization_code'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_basic',
          backchannel_logout_uri: options.backchannelLogoutUri,
          backchannel_logout_session_required: true,
          // auth_time in every ID token, not only when max_age is asked: the session records when the user signed in.
          require_auth_time: true,
        },
      ],
      jwks: { keys: [privateJwk as never] },
      cookies: { keys: ['test-op-cookie-key-0123456789abcdef'] },
      features: {
        devInteractions: { enabled: false },
        backchannelLogout: { enabled: true },
        // The confirmation page holds only the form the test submits (OpBrowser.endSession).
        rpInitiatedLogout: { enabled: true, logoutSource: async (ctx: { body: string }, form: string) => void (ctx.body = form) },
      },
      pkce: { required: () => true },
      // The profile claims in the ID token itself (the relying party reads only the verified ID token).
      conformIdTokenClaims: false,
      claims: { openid: ['sub', 'amr', 'acr'], email: ['email', 'email_verified'], profile: ['preferred_username'] },
      findAccount: async (_ctx, sub) => ({
        accountId: sub,
        claims: async () => {
          const account = accounts.get(sub);
          return { sub, email: account?.email, email_verified: true, preferred_username: account?.preferredUsername };
        },
      }),
      // Consent is not what these tests are about: every scope the test client asks is granted.
      loadExistingGrant: async (ctx) => {
        const oidc = ctx.oidc;
        const grantId = oidc.result?.consent?.grantId ?? oidc.session!.grantIdFor(oidc.client!.clientId);
        if (grantId) {
          const found = await oidc.provider.Grant.find(grantId);
          if (found) return found;
        }
        const grant = new oidc.provider.Grant({ clientId: oidc.client!.clientId, accountId: oidc.session!.accountId! });
        grant.addOIDCScope('openid email profile');
        await grant.save();
        return grant;
      },
      interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
      // Said explicitly (the defaults are fine) so oidc-provider does not print a notice for each in every test run.
      ttl: { Session: 3600, AccessToken: 600, IdToken: 600, Interaction: 600, Grant: 3600, AuthorizationCode: 60 },
    });
  }

  static async create(options: TestOpOptions): Promise<TestOpenIdProvider> {
    const key = await makeSigningKey(`op-key-${randomUUID().slice(0, 8)}`);
    return new TestOpenIdProvider(options, key, key.privateJwk);
  }

  /** Queues the next sign-in at the provider. */
  nextLogin(login: TestLogin): void {
    this.accounts.set(login.subject, login);
    this.logins.push(login);
  }

  /** Starts answering on its port (again, after {@link stop}). */
  async start(): Promise<void> {
    const callback = this.provider.callback();
    const server = createServer((req, res) => {
      if (req.url?.startsWith('/interaction/')) void this.interaction(req, res);
      else callback(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /** Stops answering (an outage): closes the port and every open connection. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Signs a logout token with `key` (default: the provider's own), from `claims` over sensible defaults. */
  async logoutToken(
    claims: JWTPayload & { sid?: string; nonce?: string },
    options: { key?: SigningKey; typ?: string | null; omit?: string[]; alg?: string } = {},
  ): Promise<string> {
    const key = options.key ?? this.key;
    const now = Math.floor(Date.now() / 1000);
    const payload: Record<string, unknown> = {
      iss: this.issuer,
      aud: this.options.clientId,
      iat: now,
      exp: now + 120,
      jti: randomUUID(),
      events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
      ...claims,
    };
    for (const name of options.omit ?? []) delete payload[name];
    const header: Record<string, string> = { alg: key.alg, kid: key.kid };
    if (options.typ !== null) header.typ = options.typ ?? 'logout+jwt';
    return new SignJWT(payload).setProtectedHeader(header as never).sign(key.privateKey);
  }

  /** Answers an interaction: signs in the queued user (fails it when none is queued). */
  private async interaction(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.provider.interactionDetails(req, res);
      const login = this.logins.shift();
      if (!login) {
        await this.provider.interactionFinished(
          req,
          res,
          { error: 'access_denied', error_description: 'no login queued' },
          { mergeWithLastSubmission: false },
        );
        return;
      }
      await this.provider.interactionFinished(
        req,
        res,
        {
          login: {
            accountId: login.subject,
            ts: Math.floor(Date.now() / 1000) - (login.authAgeSeconds ?? 0),
            ...(login.amr ? { amr: login.amr } : {}),
            ...(login.acr ? { acr: login.acr } : {}),
          },
        },
        { mergeWithLastSubmission: false },
      );
    } catch (error) {
      res.statusCode = 500;
      res.end(String(error));
    }
  }
}

/** A browser at the provider: its cookies, and redirects followed until the provider sends it back to the app. */
export class OpBrowser {
  private readonly cookies = new Map<string, string>();

  constructor(private readonly appOrigin: string) {}

  /**
   * Follows `url` (the authorization URL the app redirected to) through the provider's redirects and interaction;
   * answers the URL the provider sends the browser back to on the app (the callback, with `code` and `state`).
   */
  async authorize(url: string): Promise<URL> {
    let next = url;
    for (let hop = 0; hop < 15; hop++) {
      if (next.startsWith(this.appOrigin)) return new URL(next);
      const res = await this.fetch(next);
      const location = res.headers.get('location');
      if (!location) throw new Error(`provider answered ${res.status} at ${next}: ${(await res.text()).slice(0, 300)}`);
      next = new URL(location, next).href;
    }
    throw new Error('too many redirects at the provider');
  }

  /** Signs out at the provider (RP-initiated logout, confirmed): the provider then calls back-channel logout. */
  async endSession(issuer: string, clientId: string): Promise<void> {
    const page = await this.fetch(`${issuer}/session/end?client_id=${encodeURIComponent(clientId)}`);
    const body = await page.text();
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(body)?.[1];
    if (!xsrf) throw new Error(`no logout form at the provider: ${page.status} ${body.slice(0, 300)}`);
    const confirm = await this.fetch(`${issuer}/session/end/confirm`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
    });
    if (confirm.status >= 400) throw new Error(`logout confirmation failed: ${confirm.status} ${(await confirm.text()).slice(0, 300)}`);
  }

  private async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set('cookie', [...this.cookies.entries()].map(([n, v]) => `${n}=${v}`).join('; '));
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(';')[0];
      const name = pair.slice(0, pair.indexOf('='));
      const value = pair.slice(name.length + 1);
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }
}

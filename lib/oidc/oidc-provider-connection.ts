import { Logger } from '@nestjs/common';
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import * as client from 'openid-client';
import type { Clock } from '../core/clock';
import { OidcUnavailableException } from './oidc.exceptions';
import { isLoopbackHost, type ResolvedOidcOptions } from './oidc.options';

/**
 * The OpenID Provider as this app sees it: its metadata, discovered lazily and kept once found, and its signing keys.
 *
 * Discovery is not part of start-up: a provider that is down then does not stop the app (AV-07). Until it answers,
 * every call throws {@link OidcUnavailableException} (503): at most one discovery per `discoveryRetryInterval`, the
 * other calls fail at once rather than queueing on a dead host. Once it answers, the metadata is kept; later outages
 * of the token endpoint or keys surface per request as 503 and end with the outage.
 */
export class OidcProviderConnection {
  private readonly logger = new Logger('OidcModule');
  private config: client.Configuration | undefined;
  private pending: Promise<client.Configuration> | undefined;
  private failedAt: number | undefined;
  private jwks: JWTVerifyGetKey | undefined;

  constructor(
    private readonly options: ResolvedOidcOptions,
    private readonly clock: Clock,
  ) {}

  /** The discovered configuration (openid-client), discovering it now if needed. */
  configuration(): Promise<client.Configuration> {
    if (this.config) return Promise.resolve(this.config);
    if (this.pending) return this.pending;
    if (this.failedAt !== undefined && this.clock.now() - this.failedAt < this.options.discoveryRetryIntervalMs) {
      return Promise.reject(new OidcUnavailableException());
    }
    this.pending = this.discover().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** The provider's signing keys (its `jwks_uri`, fetched and cached by jose; refetched for an unknown `kid`). */
  async keys(): Promise<JWTVerifyGetKey> {
    const config = await this.configuration();
    if (!this.jwks) {
      this.jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!), {
        timeoutDuration: this.options.httpTimeoutMs,
        // A token with an unknown `kid` refetches the keys at most this often: forged tokens cannot make us hammer the provider.
        cooldownDuration: 30_000,
      });
    }
    return this.jwks;
  }

  private async discover(): Promise<client.Configuration> {
    const { issuer, clientId, clientSecret, signingAlgorithm, httpTimeoutMs } = this.options;
    const timeout = Math.ceil(httpTimeoutMs / 1000);
    try {
      const config = await client.discovery(
        issuer,
        clientId,
        // Pinned: an ID token signed with any other algorithm is refused.
        { client_secret: clientSecret, id_token_signed_response_alg: signingAlgorithm },
        client.ClientSecretBasic(clientSecret),
        // Plain http only reaches here for a loopback issuer (checked with the options): a test provider.
        { execute: issuer.protocol === 'http:' ? [client.allowInsecureRequests] : [], timeout },
      );
      const jwksUri = config.serverMetadata().jwks_uri;
      if (!jwksUri) throw new Error('the provider metadata has no jwks_uri');
      const keysAt = new URL(jwksUri);
      if (keysAt.protocol !== 'https:' && !(keysAt.protocol === 'http:' && isLoopbackHost(keysAt.hostname))) {
        throw new Error(`the provider's jwks_uri ${jwksUri} is not https:`);
      }
      // openid-client v6 does not check the signature of an ID token that came straight from the token endpoint
      // (TLS vouches for it); we do, against the provider's JWKS, so a compromised channel cannot forge an identity.
      client.enableNonRepudiationChecks(config);
      config.timeout = timeout;
      this.config = config;
      if (this.failedAt !== undefined) this.logger.log(`OpenID Provider ${issuer.href} answers again`);
      this.failedAt = undefined;
      return config;
    } catch (error) {
      this.failedAt = this.clock.now();
      this.logger.warn(
        `OpenID Provider discovery at ${issuer.href} failed (OIDC routes answer 503 until it succeeds; check OIDC issuer and network): ${describe(error)}`,
      );
      throw new OidcUnavailableException();
    }
  }
}

/** One line about an error and its cause. */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}

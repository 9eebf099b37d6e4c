/**
 * The few parts of oidc-provider 9 (which ships no types) that the OIDC tests use. Written here rather than adding
 * @types/oidc-provider: the tests need only these, and a dev dependency for them is not worth its upkeep.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  interface GrantLike {
    addOIDCScope(scope: string): void;
    save(): Promise<string>;
  }

  interface OidcContext {
    oidc: {
      provider: Provider;
      client?: { clientId: string };
      session?: { accountId?: string; grantIdFor(clientId: string): string | undefined };
      result?: { consent?: { grantId?: string } };
    };
  }

  interface ProviderConfiguration {
    clients?: Record<string, unknown>[];
    jwks?: { keys: Record<string, unknown>[] };
    cookies?: { keys?: string[] };
    features?: Record<string, { enabled: boolean; logoutSource?: (ctx: { body: string }, form: string) => Promise<void> }>;
    pkce?: { required?: () => boolean };
    conformIdTokenClaims?: boolean;
    ttl?: Record<string, number>;
    claims?: Record<string, string[] | null>;
    findAccount?: (
      ctx: OidcContext,
      sub: string,
    ) => Promise<{ accountId: string; claims: () => Promise<Record<string, unknown>> } | undefined>;
    loadExistingGrant?: (ctx: OidcContext) => Promise<GrantLike | undefined>;
    interactions?: { url?: (ctx: OidcContext, interaction: { uid: string }) => string };
  }

  export default class Provider {
    constructor(issuer: string, configuration?: ProviderConfiguration);
    Grant: {
      new (properties: { clientId: string; accountId: string }): GrantLike;
      find(id: string): Promise<GrantLike | undefined>;
    };
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<{ uid: string; prompt: { name: string } }>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: Record<string, unknown>,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
  }
}

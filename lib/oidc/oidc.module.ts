import { Module } from '@nestjs/common';
import { ConfigurableOidcModule } from './oidc.module-definition';
import { OidcService } from './oidc.service';

/**
 * Sign-in with an OpenID Provider (authorization code + PKCE, strict ID token checks) and OpenID Connect Back-Channel
 * Logout, on top of `SessionModule` (make that global, `isGlobal: true`: this module uses its `SessionService` and
 * `Clock`). The app
 * writes the three routes and calls {@link OidcService}; the options are checked at start-up, the provider is
 * discovered at the first use.
 *
 * @example
 * OidcModule.forRoot({
 *   issuer: 'https://login.example.com',
 *   clientId: 'my-app',
 *   clientSecret: process.env.OIDC_CLIENT_SECRET!,
 *   redirectUri: 'https://app.example.com/auth/oidc/callback',
 * })
 */
@Module({ providers: [OidcService], exports: [OidcService] })
export class OidcModule extends ConfigurableOidcModule {}

/**
 * `nest-session-kit/oidc`: sign-in with an OpenID Provider and OpenID Connect Back-Channel Logout, on top of the
 * session module. A sub-path of its own so that apps without OIDC never load openid-client (an optional peer).
 */
export { OidcModule } from './oidc.module';
export { OIDC_MODULE_OPTIONS } from './oidc.module-definition';
export {
  OidcService,
  OidcReauthNotApplicableException,
  SESSION_OIDC_KEY,
  type OidcLoginResult,
  type OidcSessionIdentity,
} from './oidc.service';
export {
  OIDC_DEFAULTS,
  OidcOptionsError,
  isLoopbackHost,
  resolveOidcOptions,
  type BackchannelLogoutTarget,
  type OidcIdentity,
  type OidcModuleOptions,
  type ResolvedOidcOptions,
} from './oidc.options';
export { InMemoryOidcSessionLinkStore, OidcSessionLinkStore, matchesLogoutTarget, type OidcSessionLink } from './oidc-session-link.store';
export { LogoutTokenRejectedException, OidcCallbackException, OidcUnavailableException, type OidcCallbackFailure } from './oidc.exceptions';
export {
  BACKCHANNEL_LOGOUT_EVENT,
  LogoutTokenError,
  MAX_LOGOUT_TOKEN_LENGTH,
  verifyLogoutToken,
  type LogoutTokenClaims,
  type LogoutTokenExpectations,
  type LogoutTokenKeys,
} from './logout-token';

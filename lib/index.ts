/**
 * nest-session-kit public API: what an application or a store author calls, and nothing else. Backends with
 * optional peer dependencies are sub-path entries (`nest-session-kit/redis`, `nest-session-kit/typeorm`), and
 * the store conformance suite is `nest-session-kit/testing`.
 */

// The module and its options
export { SessionModule } from './session.module';
export { SESSION_MODULE_OPTIONS, SessionModuleAsyncOptions, SessionOptionsFactory } from './session.module-definition';
export {
  SessionModuleOptions,
  SessionCookieOptions,
  SessionRolesOptions,
  SessionReAuthOptions,
  SessionRememberOptions,
  SessionLimitSubject,
  SessionCircuitBreakerOptions,
  Duration,
  SESSION_DEFAULTS,
} from './session.options';
export { parseDuration, formatDuration } from './core/duration';
export { Clock, SystemClock, ManualClock } from './core/clock';

// Using sessions
export { SessionService, SessionView, SessionListing, CreateSessionOptions } from './session.service';
export { SessionAuthGuard, SessionRoutePolicy } from './guards/session-auth.guard';
export { Public } from './decorators/public.decorator';
export { AllowPendingSession, RequireAal } from './decorators/session-stage.decorator';
export { CurrentSession, CurrentUser } from './decorators/current-session.decorator';

// Authorization: roles, permissions and re-authentication
export { Roles, Permissions, ROLES_KEY, PERMISSIONS_KEY } from './rbac/roles.decorator';
export { RolesGuard, RoleRequirement } from './rbac/roles.guard';
export { RolePolicy } from './rbac/role-policy';
export { InsufficientRoleException } from './rbac/rbac.exceptions';
export { ReAuth, ReAuthOptions, ReAuthRequirement, REAUTH_KEY } from './reauth/reauth.decorator';
export { ReAuthGuard } from './reauth/reauth.guard';
export { ReAuthPolicy } from './reauth/reauth-policy';
export { ReAuthRequiredException, ReAuthRequiredBody } from './reauth/reauth.exceptions';
export type { ResolveOutcome } from './core/session-manager';
export type { ClientInfo } from './core/client-info';
export type { FastifyReplyLike, HttpRequestLike, HttpResponseLike, NodeResponseLike } from './http/http-types';
export {
  SessionHttpException,
  SessionErrorBody,
  SessionRequiredException,
  SessionExpiredException,
  SessionRotatedException,
  SessionPendingException,
  InsufficientAssuranceException,
  SessionStoreUnavailableException,
  TooManySessionsException,
  TooManySessionsErrorBody,
  SessionDeviceSummary,
} from './errors/session.exceptions';
export { SessionOptionsError, SessionInputError, SessionStoreConnectionError, isStoreConnectionError } from './core/errors';
export type { CircuitState } from './core/circuit-breaker';

// Request-time checks and security events
export { SessionCheck, SessionCheckContext, SessionCheckVerdict, SessionCheckEvent } from './core/session-check';
export { SecurityEvent, SecurityEventType, SecurityEventLevel, SecurityEventSink } from './events/security-event';
export { SecurityEventBus } from './events/security-event-bus';
export { JsonLinesEventSink } from './events/json-lines.sink';

// Writing a store
export * from './stores/session-store';
export {
  SessionRecord,
  SessionData,
  SessionStage,
  SessionTier,
  SessionChanges,
  isSessionRecord,
  legacyRecordFields,
  LegacyRecordFields,
} from './core/session-record';
export * as lifecycle from './core/lifecycle';
export { InMemorySessionStore, InMemorySessionStoreOptions } from './stores/memory/in-memory-session.store';

// Sealed-cookie sessions (the `sealed` option)
export type { SealedCookieOptions } from './sealed/sealed-cookie.options';
export type { SealingKey } from './sealed/sealed-key-ring';
export { SealedCookieTooLargeError, SealedSessionsUnlistedError, MAX_COOKIE_BYTES } from './sealed/sealed-session.errors';

// Session binding and anomaly detection, and the device view
export { SessionAnomalyDetector, SessionAnomalySignal } from './anomaly/session-anomaly.detector';
export { SessionAnomalyInterceptor } from './anomaly/session-anomaly.interceptor';
export { SessionAnomalyOptions, SessionBindingPolicy, SessionAnomalyOptionsError, ANOMALY_DEFAULTS } from './anomaly/anomaly.options';
export { IpLocation, IpLocationResolver, StaticIpLocationResolver, distanceKm } from './anomaly/ip-location';
export { networkPrefix, NetworkPrefixLengths } from './anomaly/network-prefix';
export { describeDevice, DeviceDescription, relativeTime } from './anomaly/device';
export { AUTHENTICATION_VOIDED } from './core/session-check';

// Audit trail and log safety (the TypeORM audit table is the sub-path entry nest-session-kit/events/typeorm)
export { SECURITY_EVENT_TYPES } from './events/security-event';
export { neutralizeLogText, neutralizeEvent } from './events/neutralize';

// CSRF: the guard, its decorators and tokens
export { CsrfGuard, CsrfRequest } from './csrf/csrf.guard';
export { CsrfService } from './csrf/csrf.service';
export { SkipCsrf, CsrfFormRoute } from './csrf/csrf.decorators';
export { CsrfRejectedException, UnsupportedContentTypeException } from './csrf/csrf.exceptions';
export { SessionCsrfOptions, CsrfMissingOriginPolicy, CSRF_DEFAULTS } from './csrf/csrf.options';
export type { CsrfRefusalReason } from './csrf/request-origin';

// Brute-force defence and CAPTCHA: attempt counters (their own storage), the limiter, the Nest service and module
export {
  AttemptCounterStore,
  AttemptCount,
  AttemptIncrement,
  AttemptCounterStoreUnavailableError,
  AttemptHit,
  HitCount,
  checkAttemptHit,
  nextHitWindowEnd,
} from './brute-force/attempt-counter.store';
export {
  InMemoryAttemptCounterStore,
  InMemoryAttemptCounterStoreOptions,
  DEFAULT_MAX_ATTEMPT_COUNTERS,
} from './brute-force/in-memory-attempt-counter.store';
export {
  AttemptLimiter,
  AttemptLimiterOptions,
  AttemptSubject,
  AttemptState,
  AttemptDecision,
  FailureOutcome,
  ATTEMPT_LIMITER_DEFAULTS,
} from './brute-force/attempt-limiter';
export { BruteForceModule } from './brute-force/brute-force.module';
export { BRUTE_FORCE_MODULE_OPTIONS, BruteForceModuleOptions, AttemptPolicy } from './brute-force/brute-force.module-definition';
export { BruteForceService, AttemptTicket, BeginAttemptInput } from './brute-force/brute-force.service';
export {
  TooManyAttemptsException,
  CaptchaRequiredException,
  AttemptLimiterUnavailableException,
} from './brute-force/brute-force.exceptions';
export { CaptchaVerifier, CaptchaChallenge } from './captcha/captcha-verifier';
export { AltchaCaptchaVerifier, AltchaCaptchaVerifierOptions, ALTCHA_DEFAULTS } from './captcha/altcha-captcha.verifier';
export { SessionGuessingDetector, SESSION_GUESSING_DEFAULTS } from './brute-force/session-guessing.detector';

// API tokens: access tokens (JWT), rotating refresh tokens, revocation, the bearer guard and the token store
export { ApiTokenModule } from './tokens/api-token.module';
export {
  API_TOKEN_MODULE_OPTIONS,
  ApiTokenModuleAsyncOptions,
  ApiTokenModuleExtras,
  ApiTokenOptionsFactory,
} from './tokens/api-token.module-definition';
export { ApiTokenModuleOptions, AccessTokenAlgorithm, API_TOKEN_DEFAULTS, ApiTokenOptionsError } from './tokens/api-token.options';
export { ApiTokenService, TokenResponse, SessionTokenResponse, IssueTokensInput, RefreshOptions } from './tokens/api-token.service';
export { BearerAuthGuard } from './tokens/bearer-auth.guard';
export { BearerAuth, CurrentPrincipal } from './tokens/bearer-auth.decorator';
export { Principal, BearerPrincipal } from './guards/principal';
export { KeyRing, SigningKey, AccessTokenJwk } from './tokens/key-ring';
export { JwksController, JWKS_MAX_AGE_SECONDS } from './tokens/jwks.controller';
export {
  InvalidAccessTokenException,
  InvalidRefreshTokenException,
  RefreshTokenReusedException,
  InvalidScopeException,
  TokenStoreUnavailableException,
} from './tokens/token.exceptions';
export * from './tokens/token-store';
export { InMemoryTokenStore, InMemoryTokenStoreOptions, DEFAULT_MAX_TOKEN_ENTRIES } from './tokens/in-memory-token.store';
export { REFRESH_TOKEN_PREFIX } from './tokens/refresh-token';
export type { SessionsEnded, SessionEndListener } from './core/session-manager';

// Operating it: Prometheus metrics (optional peer prom-client) and OpenTelemetry spans (optional peer @opentelemetry/api)
export { SessionMetricsOptions, PrometheusRegistry, METRICS_DEFAULTS } from './telemetry/metrics.options';
export type { SessionMetrics, InstrumentedStoreKind } from './telemetry/session-metrics';
export { SessionTelemetry } from './telemetry/session-telemetry';
export { TRACER_NAME } from './telemetry/tracing';

import * as api from '../../lib';

/**
 * The root entry exports what an application or a store author calls, and nothing they would not miss: a new
 * export is a decision (add it here), and internals (the manager, the cookie policy, token helpers) stay out.
 */
describe('nest-session-kit public API', () => {
  it('exports exactly the runtime values users call', () => {
    // swc (the test transform) keeps type-only re-exports as undefined keys; tsc drops them. Count values only.
    const values = Object.entries(api)
      .filter(([, value]) => value !== undefined)
      .map(([name]) => name);
    expect(values.sort()).toEqual(
      [
        'AllowPendingSession',
        'checkAttemptHit',
        'nextHitWindowEnd',
        'CSRF_DEFAULTS',
        'Clock',
        'CsrfFormRoute',
        'CsrfGuard',
        'CsrfRejectedException',
        'CsrfService',
        'CurrentSession',
        'CurrentUser',
        'InMemorySessionStore',
        'InsufficientAssuranceException',
        'InsufficientRoleException',
        'PERMISSIONS_KEY',
        'Permissions',
        'REAUTH_KEY',
        'ROLES_KEY',
        'ReAuth',
        'ReAuthGuard',
        'ReAuthPolicy',
        'ReAuthRequiredException',
        'RolePolicy',
        'Roles',
        'RolesGuard',
        'JsonLinesEventSink',
        'ManualClock',
        'Public',
        'RequireAal',
        'SECURITY_EVENT_TYPES',
        'SESSION_DEFAULTS',
        'SESSION_MODULE_OPTIONS',
        'SecurityEventBus',
        'SessionAuthGuard',
        'SessionExpiredException',
        'SessionHttpException',
        'SessionInputError',
        'SessionModule',
        'SessionOptionsError',
        'SessionPendingException',
        'SessionRequiredException',
        'SessionRotatedException',
        'SessionService',
        'SessionStore',
        'SessionStoreConnectionError',
        'SessionStoreUnavailableException',
        'SkipCsrf',
        'SystemClock',
        'TooManySessionsException',
        'UnsupportedContentTypeException',
        'formatDuration',
        'isSessionRecord',
        'isStoreConnectionError',
        'legacyRecordFields',
        'lifecycle',
        'neutralizeEvent',
        'neutralizeLogText',
        'parseDuration',
        // Session binding and anomaly detection, and the device view
        'ANOMALY_DEFAULTS',
        'AUTHENTICATION_VOIDED',
        'SessionAnomalyDetector',
        'SessionAnomalyInterceptor',
        'SessionAnomalyOptionsError',
        'StaticIpLocationResolver',
        'describeDevice',
        'distanceKm',
        'networkPrefix',
        'relativeTime',
        // Brute-force defence and CAPTCHA
        'ALTCHA_DEFAULTS',
        'ATTEMPT_LIMITER_DEFAULTS',
        'AltchaCaptchaVerifier',
        'AttemptCounterStore',
        'AttemptCounterStoreUnavailableError',
        'AttemptLimiter',
        'AttemptLimiterUnavailableException',
        'BRUTE_FORCE_MODULE_OPTIONS',
        'BruteForceModule',
        'BruteForceService',
        'CaptchaRequiredException',
        'CaptchaVerifier',
        'DEFAULT_MAX_ATTEMPT_COUNTERS',
        'InMemoryAttemptCounterStore',
        'SESSION_GUESSING_DEFAULTS',
        'SessionGuessingDetector',
        'TooManyAttemptsException',
      ].sort(),
    );
  });

  it('keeps internals out of the root entry', () => {
    for (const internal of [
      'SessionManager',
      'CookiePolicy',
      'hashToken',
      'generateToken',
      'clientInfoOf',
      'resolveSessionOptions',
      'peekSession',
      'CsrfTokens',
      'resolveCsrfOptions',
    ]) {
      expect(api).not.toHaveProperty(internal);
    }
  });
});

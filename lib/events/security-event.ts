/**
 * Security event names, from the OWASP Logging Vocabulary where it has one.
 * See https://cheatsheetseries.owasp.org/cheatsheets/Logging_Vocabulary_Cheat_Sheet.html
 */
export type SecurityEventType =
  | 'session_created'
  | 'session_renewed'
  | 'session_expired'
  | 'session_use_after_expire'
  | 'session_logout'
  | 'session_revoked'
  | 'session_store_unavailable'
  /** CRITICAL: the session store's circuit breaker opened (`detail.failures` in a row); requests needing it get 503 at once. */
  | 'session_store_circuit_open'
  /** INFO: the circuit breaker closed again: the store answered (`detail.openForMs`: how long it was open, ms). */
  | 'session_store_circuit_closed'
  | 'excess_sessions_exceeded'
  | 'authn_login_success'
  | 'authn_login_successafterfail'
  | 'authn_login_fail'
  | 'authn_login_fail_max'
  | 'authn_login_lock'
  | 'authn_password_change'
  | 'authn_password_change_fail'
  | 'authn_token_created'
  | 'authn_token_revoked'
  | 'authn_token_reuse'
  | 'authn_impossible_travel'
  | 'authz_fail'
  | 'authz_change'
  | 'authz_admin'
  | 'malicious_csrf'
  | 'excess_rate_limit_exceeded'
  // Second factors. The OWASP vocabulary has no MFA events; these follow its `area_action[_fail]` style. A sign-in or
  // re-authentication that a second factor completes stays `authn_login_success` (with the method in `detail`): a
  // second success event for the same moment would count every MFA sign-in twice.
  /** INFO: a second-factor enrolment began (TOTP secret issued, passkey ceremony opened); nothing is active yet. */
  | 'mfa_enrollment_started'
  /** WARN: an enrolment was not completed (wrong confirmation code, unverifiable or duplicate passkey, no ceremony). */
  | 'mfa_enrollment_fail'
  /** INFO: a second factor became active on the account (RA-05: the notification hook). */
  | 'mfa_enrolled'
  /** WARN: a second factor was removed from the account (RA-05: the notification hook). */
  | 'mfa_removed'
  /** WARN: a wrong second factor at sign-in or re-authentication (bad code, unverified passkey answer, no challenge). */
  | 'mfa_challenge_fail'
  /**
   * CRITICAL: a second-factor proof that was already used came back: a TOTP code of a step already accepted (RA-04),
   * a recovery code already spent, or a passkey answer whose signature counter did not advance (replayed or cloned).
   */
  | 'mfa_reuse'
  /** WARN: a single-use recovery code completed a sign-in or re-authentication (`detail.remaining` tells how many are left). */
  | 'mfa_recovery_code_used'
  /** CRITICAL: too many wrong second factors in a row: checks for the account pause (`detail.retryAfterMs`). */
  | 'mfa_lockout'
  // Session anomalies (SessionAnomalyDetector). The OWASP vocabulary has only `authn_impossible_travel` for these;
  // the others follow its `session_*` names. `detail.signals` lists every signal of the request, `detail.action`
  // what was done (`recorded`, `challenged`, `ended`).
  /** WARN: a session was used from a network (IP prefix) or a device (browser family and OS) it was not bound to. */
  | 'session_binding_mismatch'
  /** WARN: a session hopped across many networks in a short window (`detail.networks` in `detail.windowMs`). */
  | 'session_ip_churn'
  /** WARN: a session alternated between two networks within a short window: two clients are likely using it at once. */
  | 'session_concurrent_networks'
  /**
   * INFO: a sign-in from a device (browser family and OS) the account did not sign in with before (as far as this
   * instance remembers): the hook to tell the user "a new device signed in".
   */
  | 'authn_login_new_device'
  /** WARN: an OpenID Connect back-channel logout token was refused (forged, expired, replayed, malformed); `reason` says why. */
  | 'oidc_logout_token_rejected';

/**
 * Every {@link SecurityEventType}, for validating a type that comes from outside (an admin filter, a query string).
 * A type added to the union must be added here too: the compiler refuses the list until it is complete.
 *
 * @example SECURITY_EVENT_TYPES.includes(req.query.type as SecurityEventType)
 */
export const SECURITY_EVENT_TYPES = Object.freeze([
  'session_created',
  'session_renewed',
  'session_expired',
  'session_use_after_expire',
  'session_logout',
  'session_revoked',
  'session_store_unavailable',
  'session_store_circuit_open',
  'session_store_circuit_closed',
  'excess_sessions_exceeded',
  'authn_login_success',
  'authn_login_successafterfail',
  'authn_login_fail',
  'authn_login_fail_max',
  'authn_login_lock',
  'authn_password_change',
  'authn_password_change_fail',
  'authn_token_created',
  'authn_token_revoked',
  'authn_token_reuse',
  'authn_impossible_travel',
  'authz_fail',
  'authz_change',
  'authz_admin',
  'malicious_csrf',
  'excess_rate_limit_exceeded',
  'mfa_enrollment_started',
  'mfa_enrollment_fail',
  'mfa_enrolled',
  'mfa_removed',
  'mfa_challenge_fail',
  'mfa_reuse',
  'mfa_recovery_code_used',
  'mfa_lockout',
  'session_binding_mismatch',
  'session_ip_churn',
  'session_concurrent_networks',
  'authn_login_new_device',
  'oidc_logout_token_rejected',
] as const satisfies readonly SecurityEventType[]);

/** Compile-time proof that {@link SECURITY_EVENT_TYPES} names every type of the union (the error names the missing ones). */
type MissingEventTypes = Exclude<SecurityEventType, (typeof SECURITY_EVENT_TYPES)[number]>;
const everyTypeListed: [MissingEventTypes] extends [never] ? true : MissingEventTypes = true;
void everyTypeListed;

/** Severity, as the OWASP vocabulary uses it. */
export type SecurityEventLevel = 'INFO' | 'WARN' | 'CRITICAL';

/**
 * One security event. Carries the session handle, never the token or its hash, so logs cannot be replayed.
 */
export interface SecurityEvent {
  /** Event name (OWASP Logging Vocabulary). */
  type: SecurityEventType;
  /** When it happened, ms since the epoch (from the module's clock). */
  time: number;
  level: SecurityEventLevel;
  /** `success` or `failure` of the action the event describes. */
  outcome: 'success' | 'failure';
  userId?: string;
  /** Non-secret session handle. */
  sessionHandle?: string;
  ip?: string;
  userAgent?: string;
  /** Why (e.g. `idle_timeout`, `absolute_timeout`, `logout`, `privilege_change`). */
  reason?: string;
  /** Extra facts. Values are scalars so every sink can store them. */
  detail?: Record<string, string | number | boolean>;
}

/** A subscriber to security events (log file, audit table, metrics). */
export interface SecurityEventSink {
  /** Receives one event. May be async; a failure is reported and never fails the request. */
  handle(event: SecurityEvent): void | Promise<void>;
}

import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { SecurityEventLevel, SecurityEventType, SessionView } from '../../../lib';
import { EventRecorder } from './event-recorder';

/** A second factor as the events name it (`detail.method`). */
export type MfaEventMethod = 'totp' | 'recovery_code' | 'passkey';

/** What the second factor was for (`detail.action`). */
export type MfaAction = 'login' | 'reauthentication';

/**
 * Why a second-factor answer was refused (the event's `reason`): `invalid` (no such code), `locked` (asked while the
 * account's checks are paused), `not_enrolled` (a code for an account without TOTP), and for passkeys `no_challenge`, `challenge_expired`, `unknown_credential`,
 * `unverified`; the reuse signals `replayed` (a TOTP step or recovery code already accepted, or a passkey counter
 * value another request just recorded) and `counter_regression` (a passkey's counter went back: a cloned authenticator).
 */
export type MfaFailure =
  | 'invalid'
  | 'locked'
  | 'not_enrolled'
  | 'no_challenge'
  | 'challenge_expired'
  | 'unknown_credential'
  | 'unverified'
  | 'replayed'
  | 'counter_regression';

/** The failures that mean "this proof was used before": `mfa_reuse` at CRITICAL rather than `mfa_challenge_fail`. */
const REUSE: ReadonlySet<MfaFailure> = new Set(['replayed', 'counter_regression']);

type Extra = Record<string, string | number | boolean>;

/**
 * The security events of second factors, for TOTP, recovery codes and passkeys alike: one place decides which event
 * type and level each outcome gets, so the TOTP and passkey paths cannot drift apart (they used to log MFA changes as
 * `authz_change` and wrong answers as `authn_login_fail`, indistinguishable from password failures). The sign-in or
 * re-authentication a second factor completes is still `authn_login_success`, recorded by its caller.
 */
@Injectable()
export class MfaEvents {
  constructor(private readonly events: EventRecorder) {}

  /** `mfa_enrollment_started`: a TOTP secret was issued or a passkey ceremony opened; nothing is active yet. */
  enrollmentStarted(req: Request, session: SessionView, method: MfaEventMethod): void {
    this.record(req, session, 'mfa_enrollment_started', 'INFO', 'success', { method });
  }

  /** `mfa_enrollment_fail`: the enrolment did not complete; `reason` says why (`invalid`, `no_challenge`, ...). */
  enrollmentFailed(req: Request, session: SessionView, method: MfaEventMethod, reason: string): void {
    this.record(req, session, 'mfa_enrollment_fail', 'WARN', 'failure', { method }, reason);
  }

  /** `mfa_enrolled`: the factor is active. `handle` is the session's new handle (enrolment renews the session). */
  enrolled(req: Request, session: SessionView, method: MfaEventMethod, handle: string, extra: Extra = {}): void {
    this.record(req, session, 'mfa_enrolled', 'INFO', 'success', { method, ...extra }, undefined, handle);
  }

  /** `mfa_removed`: the factor is gone. `handle` is the session's new handle (removal rotates it). */
  removed(req: Request, session: SessionView, method: MfaEventMethod, handle: string, extra: Extra = {}): void {
    this.record(req, session, 'mfa_removed', 'WARN', 'success', { method, ...extra }, undefined, handle);
  }

  /**
   * A refused second-factor answer: `mfa_reuse` (CRITICAL) for a proof used before (RA-04: reuse is logged), else
   * `mfa_challenge_fail` (WARN).
   */
  challengeFailed(
    req: Request,
    session: SessionView,
    why: MfaFailure,
    context: { action: MfaAction; method?: MfaEventMethod } & Extra,
  ): void {
    const reuse = REUSE.has(why);
    this.record(req, session, reuse ? 'mfa_reuse' : 'mfa_challenge_fail', reuse ? 'CRITICAL' : 'WARN', 'failure', context, why);
  }

  /** `mfa_lockout` (CRITICAL): too many wrong second factors in a row; the account's checks pause for `retryAfterMs`. */
  lockout(req: Request, session: SessionView, context: { action: MfaAction; method?: MfaEventMethod; retryAfterMs: number }): void {
    this.record(req, session, 'mfa_lockout', 'CRITICAL', 'failure', context, 'too_many_failures');
  }

  /**
   * `mfa_recovery_code_used` (WARN): a single-use recovery code was spent. Worth its own event beside the sign-in's:
   * the user may have lost their authenticator, or someone else holds their codes (RA-05: the notification hook).
   */
  recoveryCodeUsed(req: Request, session: SessionView, handle: string, action: MfaAction, remaining: number): void {
    this.record(
      req,
      session,
      'mfa_recovery_code_used',
      'WARN',
      'success',
      { method: 'recovery_code', action, remaining },
      undefined,
      handle,
    );
  }

  private record(
    req: Request,
    session: SessionView,
    type: SecurityEventType,
    level: SecurityEventLevel,
    outcome: 'success' | 'failure',
    detail: Extra,
    reason?: string,
    handle = session.handle,
  ): void {
    this.events.record(req, { type, level, outcome, userId: session.userId, sessionHandle: handle, reason, detail });
  }
}

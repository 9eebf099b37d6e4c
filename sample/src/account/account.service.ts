import { Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApiTokenService, BruteForceService, SessionService, SessionView } from '../../../lib';
import type { TotpEnrolment } from '../../../lib/mfa';
import { EventRecorder } from '../audit/event-recorder';
import { MfaEvents } from '../audit/mfa-events';
import { AuthService, SecondFactorMethod } from '../auth/auth.service';
import { toSessionSummary, SessionSummary } from '../auth/session-summary';
import { ApiException } from '../common/api-exception';
import { SecondFactorService } from '../mfa/second-factor.service';
import { UsersService } from '../users/users.service';
import { MIN_PASSWORD_LENGTH } from './account.dto';
import { isCommonPassword } from './common-passwords';

/** Answer of `POST /account/mfa/totp/confirm`: the recovery codes, shown this once. */
export interface TotpConfirmation {
  recoveryCodes: string[];
  session: SessionSummary;
}

/** Answer of `GET /account/security`. */
export interface AccountSecurity {
  totpEnabled: boolean;
  recoveryCodesLeft: number;
  /** True when the account has any second factor (TOTP, recovery codes, passkeys). */
  mfaEnabled: boolean;
  mfaMethods: SecondFactorMethod[];
}

/** The account's credentials: password and TOTP. Every route using it is `@ReAuth()`. */
@Injectable()
export class AccountService {
  constructor(
    private readonly auth: AuthService,
    private readonly users: UsersService,
    private readonly sessions: SessionService,
    private readonly factors: SecondFactorService,
    private readonly events: EventRecorder,
    private readonly mfaEvents: MfaEvents,
    private readonly bruteForce: BruteForceService,
    private readonly tokens: ApiTokenService,
  ) {}

  /**
   * Changes the password: the current one must be right (RA-01) and the new one at least
   * {@link MIN_PASSWORD_LENGTH} characters, not a common password, not the username, not the current one. The
   * session gets a new id (RO-01); the account's other sessions end when asked (TE-05).
   */
  async changePassword(
    req: Request,
    res: Response,
    session: SessionView,
    input: { currentPassword: string; newPassword: string; signOutOthers: boolean },
  ): Promise<void> {
    const user = await this.auth.requireUser(req, res, session);
    if (!(await this.users.verifyPassword(user, input.currentPassword))) {
      this.events.record(req, {
        type: 'authn_password_change_fail',
        level: 'WARN',
        outcome: 'failure',
        userId: user.id,
        sessionHandle: session.handle,
        reason: 'wrong_current_password',
      });
      throw ApiException.validationFailed({ currentPassword: ['currentPassword is not your current password'] });
    }
    const problems = passwordProblems(input.newPassword, user.username);
    if (problems.length === 0 && (await this.users.verifyPassword(user, input.newPassword))) {
      problems.push('newPassword must differ from your current password');
    }
    if (problems.length > 0) {
      this.events.record(req, {
        type: 'authn_password_change_fail',
        level: 'INFO',
        outcome: 'failure',
        userId: user.id,
        sessionHandle: session.handle,
        reason: 'weak_password',
      });
      throw ApiException.validationFailed({ newPassword: problems });
    }
    await this.users.setPassword(user.id, input.newPassword);
    const rotated = await this.sessions.rotate(req, res, 'password_change');
    const ended = input.signOutOthers
      ? await this.sessions.destroyAllForUser(user.id, { exceptCurrentOf: req, reason: 'password_change' })
      : 0;
    // API tokens got with the old password end either way (ending the other sessions already ended them, TE-05).
    if (!input.signOutOthers) await this.tokens.revokeAllForUser(user.id, 'password_change');
    this.events.record(req, {
      type: 'authn_password_change',
      level: 'INFO',
      outcome: 'success',
      userId: user.id,
      sessionHandle: rotated.handle,
      detail: { signOutOthers: input.signOutOthers, sessionsEnded: ended },
    });
  }

  /**
   * Starts a TOTP enrolment: a new secret, its `otpauth://` URI and QR code. Not active until confirmed. Refused
   * (409) while TOTP is active: remove it first, so a stolen session cannot silently replace the factor.
   */
  async startTotp(req: Request, res: Response, session: SessionView): Promise<TotpEnrolment> {
    const user = await this.auth.requireUser(req, res, session);
    if (user.totpSecret !== null) throw ApiException.conflict('TOTP_ALREADY_ENABLED', 'TOTP is already active. Remove it first.');
    const enrolment = await this.factors.enrol(user);
    this.mfaEvents.enrollmentStarted(req, session, 'totp');
    return enrolment;
  }

  /**
   * Confirms the enrolment with a code from the app: TOTP becomes active, ten recovery codes are returned (this
   * once), and the session is re-authenticated at `aal: 2` under a new id: the user has just proven a password
   * (the route needs a recent one) and the new factor.
   */
  async confirmTotp(req: Request, res: Response, session: SessionView, code: string, signOutOthers: boolean): Promise<TotpConfirmation> {
    const user = await this.auth.requireUser(req, res, session);
    const attempt = await this.bruteForce.begin(req, res, { scope: 'mfa-enrol', account: user.id });
    const result = await this.factors.confirm(user, code);
    if ('error' in result) {
      if (result.error !== 'no_enrolment') await this.bruteForce.failed(attempt, user.id);
      this.mfaEvents.enrollmentFailed(req, session, 'totp', result.error);
      if (result.error === 'no_enrolment') throw ApiException.conflict('NO_TOTP_ENROLMENT', 'Start a TOTP enrolment first.');
      throw ApiException.unauthorized('INVALID_MFA_CODE', 'That code is not valid.');
    }
    await this.bruteForce.succeeded(attempt);
    const renewed = await this.sessions.reauthenticate(req, res, { aal: 2 });
    const ended = signOutOthers ? await this.sessions.destroyAllForUser(user.id, { exceptCurrentOf: req, reason: 'mfa_change' }) : 0;
    // RA-05 "send notifications": the sample has no mail; the event is the notification hook.
    this.mfaEvents.enrolled(req, session, 'totp', renewed.handle, { sessionsEnded: ended });
    return { recoveryCodes: result.recoveryCodes, session: toSessionSummary(renewed) };
  }

  /** Removes TOTP and the recovery codes; the session gets a new id, other sessions end when asked. */
  async removeTotp(req: Request, res: Response, session: SessionView, signOutOthers: boolean): Promise<void> {
    const user = await this.auth.requireUser(req, res, session);
    if (!this.factors.isEnrolled(user)) throw ApiException.notFound('TOTP_NOT_ENABLED', 'TOTP is not active on this account.');
    await this.users.removeTotp(user.id);
    const rotated = await this.sessions.rotate(req, res, 'mfa_change');
    const ended = signOutOthers ? await this.sessions.destroyAllForUser(user.id, { exceptCurrentOf: req, reason: 'mfa_change' }) : 0;
    this.mfaEvents.removed(req, session, 'totp', rotated.handle, { sessionsEnded: ended });
  }

  /**
   * What `/account/security` shows (an `aal: 2` route): the TOTP state, and every enrolled second factor by the same
   * rule sign-in uses (a passkey counts as one).
   */
  async security(req: Request, res: Response, session: SessionView): Promise<AccountSecurity> {
    const user = await this.auth.requireUser(req, res, session);
    const mfaMethods = await this.auth.secondFactorsOf(user);
    return {
      totpEnabled: user.totpSecret !== null,
      recoveryCodesLeft: user.recoveryCodeHashes?.length ?? 0,
      mfaEnabled: mfaMethods.length > 0,
      mfaMethods,
    };
  }
}

/** What is wrong with a new password (empty when nothing). */
export function passwordProblems(password: string, username: string): string[] {
  const problems: string[] = [];
  if ([...password].length < MIN_PASSWORD_LENGTH) problems.push(`newPassword must be at least ${MIN_PASSWORD_LENGTH} characters long`);
  else if (isCommonPassword(password)) problems.push('newPassword is too common: it is on a list of passwords attackers try first');
  if (username.length > 0 && password.toLowerCase().includes(username.toLowerCase())) {
    problems.push('newPassword must not contain your username');
  }
  return problems;
}

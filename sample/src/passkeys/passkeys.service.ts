import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { BruteForceService, Clock, SessionService, SessionView } from '../../../lib';
import {
  PasskeyService,
  PasskeyVerificationError,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from './webauthn-types';
import { EventRecorder } from '../audit/event-recorder';
import { MfaAction, MfaEvents } from '../audit/mfa-events';
import { AuthService, PENDING_SESSION_MFA_ATTEMPTS, AccountView, REAUTH_ATTEMPTS } from '../auth/auth.service';
import { SESSION_KEYS, SessionSummary, toSessionSummary } from '../auth/session-summary';
import { ApiException } from '../common/api-exception';
import type { SampleConfig } from '../config';
import { ACCOUNT_MFA_FAILURE_LIMIT, ACCOUNT_MFA_LOCK_MS, TOTP_ISSUER } from '../mfa/second-factor.service';
import { SAMPLE_CONFIG } from '../sample-config.token';
import { toPublicUser, User } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import { RelyingParty, relyingPartyFor } from './passkey-config';
import { MAX_CREDENTIAL_ID_LENGTH, PasskeyCredential, PasskeyListing, toPasskeyListing } from './passkey.entity';
import { PasskeyStore, toStoredPasskey } from './passkey.store';

/** Session data key of the ceremony in progress: one at a time per session, taken out when its answer arrives. */
export const PASSKEY_CHALLENGE_KEY = 'passkeyChallenge';

/** What the session keeps of a ceremony: the challenge, when it stops being good, and what it is for. */
interface KeptChallenge {
  purpose: 'register' | 'login' | 'reauth';
  challenge: string;
  expiresAt: number;
}

/** Answer of `POST /account/mfa/passkeys`. */
export interface PasskeyEnrolment {
  passkey: PasskeyListing;
  session: SessionSummary;
}

/** Why a passkey answer was refused, as logged (the `reason` of `mfa_challenge_fail`, or of `mfa_reuse` for the last two). */
type PasskeyFailure = 'no_challenge' | 'challenge_expired' | 'unknown_credential' | 'unverified' | 'counter_regression' | 'replayed';

/**
 * Passkeys as a second factor of the sample: enrolment from the account (re-authenticated), sign-in completion from a
 * pending session, listing and removal. The WebAuthn checks are the library's `PasskeyService`; this service keeps
 * each ceremony's challenge in the session (single use, with expiry), stores passkeys and counters, counts wrong
 * answers with the same limits as wrong TOTP codes, and records the same events (`MfaEvents`) as the TOTP code does.
 */
@Injectable()
export class PasskeysService {
  constructor(
    private readonly passkeys: PasskeyService,
    private readonly store: PasskeyStore,
    private readonly auth: AuthService,
    private readonly users: UsersService,
    private readonly sessions: SessionService,
    private readonly events: EventRecorder,
    private readonly mfaEvents: MfaEvents,
    private readonly clock: Clock,
    @Inject(SAMPLE_CONFIG) private readonly config: SampleConfig,
    private readonly bruteForce: BruteForceService,
  ) {}

  /** The user's passkeys, without key material. */
  async list(session: SessionView): Promise<PasskeyListing[]> {
    return (await this.store.listFor(session.userId)).map(toPasskeyListing);
  }

  /** Enrolment, step 1: creation options for the browser; the challenge waits in the session. */
  async registrationOptions(req: Request, res: Response, session: SessionView): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const rp = this.relyingParty(req);
    const user = await this.auth.requireUser(req, res, session);
    const existing = (await this.store.listFor(user.id)).map(toStoredPasskey);
    const ceremony = await this.passkeys.registrationOptions({
      rpName: TOTP_ISSUER,
      rpId: rp.rpId,
      user: { id: user.id, name: user.username },
      existing,
    });
    await this.keep(req, { purpose: 'register', challenge: ceremony.challenge, expiresAt: ceremony.expiresAt });
    this.mfaEvents.enrollmentStarted(req, session, 'passkey');
    return ceremony.options;
  }

  /**
   * Enrolment, step 2: verifies the browser's answer against the kept challenge (used up whatever the outcome),
   * stores the passkey, and re-authenticates the session at `aal: 2` under a new id: the user has just proven a
   * recent password (the route is `@ReAuth`) and possession of the new authenticator, as TOTP confirmation does.
   */
  async register(
    req: Request,
    res: Response,
    session: SessionView,
    response: RegistrationResponseJSON,
    name?: string,
  ): Promise<PasskeyEnrolment> {
    const rp = this.relyingParty(req);
    const user = await this.auth.requireUser(req, res, session);
    const kept = await this.take(req, 'register');
    if (!kept) {
      this.mfaEvents.enrollmentFailed(req, session, 'passkey', 'no_challenge');
      throw ApiException.conflict('NO_PASSKEY_CEREMONY', 'Start a passkey registration first (POST /account/mfa/passkeys/options).');
    }
    let verified;
    try {
      verified = await this.passkeys.verifyRegistration({
        response,
        name: name?.trim() || undefined,
        expectedChallenge: kept.challenge,
        challengeExpiresAt: kept.expiresAt,
        expectedOrigin: rp.origin,
        expectedRpId: rp.rpId,
      });
    } catch (error) {
      if (!(error instanceof PasskeyVerificationError)) throw error;
      this.mfaEvents.enrollmentFailed(req, session, 'passkey', 'unverified');
      throw new ApiException({
        statusCode: HttpStatus.BAD_REQUEST,
        code: 'PASSKEY_NOT_VERIFIED',
        message: 'The passkey could not be verified. Try again.',
      });
    }
    if (verified.credentialId.length > MAX_CREDENTIAL_ID_LENGTH) {
      throw new ApiException({
        statusCode: HttpStatus.BAD_REQUEST,
        code: 'PASSKEY_NOT_SUPPORTED',
        message: 'This authenticator is not supported.',
      });
    }
    const stored = await this.store.add(user.id, verified);
    if (!stored) {
      this.mfaEvents.enrollmentFailed(req, session, 'passkey', 'duplicate');
      throw ApiException.conflict('PASSKEY_ALREADY_REGISTERED', 'This passkey is already registered.');
    }
    const renewed = await this.sessions.reauthenticate(req, res, { aal: 2 });
    // RA-05 "send notifications": the sample has no mail; the event is the notification hook (as for TOTP).
    this.mfaEvents.enrolled(req, session, 'passkey', renewed.handle, { passkeyId: stored.id });
    return { passkey: toPasskeyListing(stored), session: toSessionSummary(renewed) };
  }

  /** Removes one of the user's passkeys (404 for any other id); the session gets a new id, as TOTP removal does. */
  async remove(req: Request, res: Response, session: SessionView, id: string): Promise<void> {
    const user = await this.auth.requireUser(req, res, session);
    if (!(await this.store.remove(user.id, id))) {
      throw ApiException.notFound('PASSKEY_NOT_FOUND', 'You have no passkey with this id.');
    }
    const rotated = await this.sessions.rotate(req, res, 'mfa_change');
    this.mfaEvents.removed(req, session, 'passkey', rotated.handle, { passkeyId: id });
  }

  /** Sign-in, second step with a passkey, part 1: request options naming the account's passkeys. */
  async loginOptions(req: Request, res: Response, session: SessionView): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const rp = this.relyingParty(req);
    const user = await this.pendingUser(req, res, session);
    this.refuseWhileLocked(res, user);
    const passkeys = (await this.store.listFor(user.id)).map(toStoredPasskey);
    if (passkeys.length === 0) throw ApiException.conflict('MFA_NOT_ENROLLED', 'This account has no passkey.');
    const ceremony = await this.passkeys.authenticationOptions({ rpId: rp.rpId, allow: passkeys });
    await this.keep(req, { purpose: 'login', challenge: ceremony.challenge, expiresAt: ceremony.expiresAt });
    return ceremony.options;
  }

  /**
   * Sign-in, second step with a passkey, part 2: the signed answer. Success completes the session at `aal: 2`
   * under a new id, exactly as `POST /auth/mfa` does (a remembered sign-in gets a new session of the long tier).
   * A wrong answer counts against this pending session and the account like a wrong TOTP code.
   */
  async login(req: Request, res: Response, session: SessionView, response: AuthenticationResponseJSON): Promise<AccountView> {
    const rp = this.relyingParty(req);
    const user = await this.pendingUser(req, res, session);
    this.refuseWhileLocked(res, user);
    const attempts = await this.countAttempt(req, res, session, user);
    const check = await this.checkAssertion(req, rp, user, 'login', response);
    if (!check.ok) return this.loginFailed(req, res, session, user, attempts, check.why, check.passkey);
    const completed = await this.auth.completeSecondFactor(req, res, session, user, 'passkey', { userVerified: check.userVerified });
    return { user: toPublicUser(user), session: toSessionSummary(completed) };
  }

  /**
   * Re-authentication with the password and a passkey, part 1: request options naming the account's passkeys (a
   * complete session; never an impersonation session, which cannot prove to be the user).
   */
  async reauthOptions(req: Request, res: Response, session: SessionView): Promise<PublicKeyCredentialRequestOptionsJSON> {
    refuseImpersonation(session);
    const rp = this.relyingParty(req);
    const user = await this.auth.requireUser(req, res, session);
    this.refuseWhileLocked(res, user);
    const passkeys = (await this.store.listFor(user.id)).map(toStoredPasskey);
    if (passkeys.length === 0) throw ApiException.conflict('MFA_NOT_ENROLLED', 'This account has no passkey.');
    const ceremony = await this.passkeys.authenticationOptions({ rpId: rp.rpId, allow: passkeys });
    await this.keep(req, { purpose: 'reauth', challenge: ceremony.challenge, expiresAt: ceremony.expiresAt });
    return ceremony.options;
  }

  /**
   * Re-authentication with the password and a passkey, part 2: a full re-authentication (RA-01) for an account whose
   * second factor is a passkey: new id, new `authenticatedAt`, `aal: 2`. Attempts count as those of
   * `POST /auth/reauth` do (in the session, before the check, {@link REAUTH_ATTEMPTS} at most), and a wrong passkey
   * answer also counts against the account's second-factor limit.
   */
  async reauthenticate(
    req: Request,
    res: Response,
    session: SessionView,
    password: string,
    response: AuthenticationResponseJSON,
  ): Promise<AccountView> {
    refuseImpersonation(session);
    const rp = this.relyingParty(req);
    const user = await this.auth.requireUser(req, res, session);
    const counted = await this.sessions.update(req, (data) => {
      const stored = data[SESSION_KEYS.reauthFailures];
      data[SESSION_KEYS.reauthFailures] = (typeof stored === 'number' ? stored : 0) + 1;
    });
    const attempt = counted.data[SESSION_KEYS.reauthFailures] as number;
    const tooMany = async (): Promise<never> => {
      await this.sessions.destroy(req, res);
      throw ApiException.unauthorized('REAUTH_ATTEMPTS_EXCEEDED', 'Too many failed attempts. Sign in again.');
    };
    if (attempt > REAUTH_ATTEMPTS) return tooMany();
    // The password is counted per user and per (user, IP) with POST /auth/reauth's: one limit for both routes.
    const limited = await this.bruteForce.begin(req, res, { scope: 'reauth', account: user.id });
    if (!(await this.users.verifyPassword(user, password))) {
      await this.bruteForce.failed(limited, user.id);
      this.events.record(req, {
        type: 'authn_login_fail',
        level: 'WARN',
        outcome: 'failure',
        userId: user.id,
        sessionHandle: session.handle,
        reason: 'wrong_password',
        detail: { action: 'reauthentication' },
      });
      if (attempt >= REAUTH_ATTEMPTS) return tooMany();
      throw ApiException.invalidCredentials();
    }
    await this.bruteForce.succeeded(limited);
    this.refuseWhileLocked(res, user);
    const account = await this.users.countMfaAttempt(user.id);
    const check = account > ACCOUNT_MFA_FAILURE_LIMIT ? undefined : await this.checkAssertion(req, rp, user, 'reauth', response);
    if (!check?.ok) {
      // No check at all when the account was already past its limit: only the lockout is logged then.
      if (check) this.recordFailure(req, session, check.why, 'reauthentication', check.passkey);
      if (account >= ACCOUNT_MFA_FAILURE_LIMIT) {
        await this.users.lockMfa(user.id, this.clock.now() + ACCOUNT_MFA_LOCK_MS);
        this.recordLockout(req, session, 'reauthentication');
        throw this.tooMany(res);
      }
      if (attempt >= REAUTH_ATTEMPTS) return tooMany();
      throw ApiException.unauthorized('INVALID_PASSKEY', 'That passkey answer is not valid. Try again.');
    }
    await this.sessions.update(req, (data) => {
      delete data[SESSION_KEYS.reauthFailures];
    });
    const renewed = await this.sessions.reauthenticate(req, res, { aal: 2 });
    this.events.record(req, {
      type: 'authn_login_success',
      level: 'INFO',
      outcome: 'success',
      userId: user.id,
      sessionHandle: renewed.handle,
      reason: 'reauthentication',
      detail: { aal: 2, method: 'passkey' },
    });
    return { user: toPublicUser(user), session: toSessionSummary(renewed) };
  }

  /**
   * Checks a passkey answer for `purpose`: takes the kept challenge out (used up whatever the outcome), finds the
   * user's passkey it names, verifies it, and records the new counter by compare-and-set.
   */
  private async checkAssertion(
    req: Request,
    rp: RelyingParty,
    user: User,
    purpose: 'login' | 'reauth',
    response: AuthenticationResponseJSON,
  ): Promise<{ ok: true; userVerified: boolean } | { ok: false; why: PasskeyFailure; passkey?: PasskeyCredential }> {
    const kept = await this.take(req, purpose);
    if (!kept) return { ok: false, why: 'no_challenge' };
    const passkey = (await this.store.listFor(user.id)).find((p) => p.credentialId === response.id);
    if (!passkey) return { ok: false, why: 'unknown_credential' };
    const result = await this.passkeys.verifyAuthentication({
      response,
      passkey: toStoredPasskey(passkey),
      expectedChallenge: kept.challenge,
      challengeExpiresAt: kept.expiresAt,
      expectedOrigin: rp.origin,
      expectedRpId: rp.rpId,
    });
    if (!result.ok) {
      const why: PasskeyFailure =
        result.reason === 'counter-regression'
          ? 'counter_regression'
          : result.reason === 'challenge-expired'
            ? 'challenge_expired'
            : result.reason === 'credential-mismatch'
              ? 'unknown_credential'
              : 'unverified';
      return { ok: false, why, passkey };
    }
    // Compare-and-set: of two requests carrying the same assertion, only one records its counter.
    if (!(await this.store.advanceCounter(passkey.id, passkey.counter, result.newCounter, user.id))) {
      return { ok: false, why: 'replayed', passkey };
    }
    return { ok: true, userVerified: result.userVerified };
  }

  /**
   * Counts this answer before it is checked, in the pending session and for the account, exactly as `POST /auth/mfa`
   * counts a code (the two share both counters): parallel guesses are all counted before any is checked. Ends the
   * sign-in when either limit is already past.
   */
  private async countAttempt(req: Request, res: Response, session: SessionView, user: User): Promise<{ pending: number; account: number }> {
    const counted = await this.sessions.update(req, (data) => {
      const pending = (data[SESSION_KEYS.pendingLogin] ?? {}) as { failures?: unknown };
      const failures = typeof pending.failures === 'number' ? pending.failures : 0;
      data[SESSION_KEYS.pendingLogin] = { ...pending, failures: failures + 1 };
    });
    const pending = (counted.data[SESSION_KEYS.pendingLogin] as { failures: number }).failures;
    if (pending > PENDING_SESSION_MFA_ATTEMPTS) {
      await this.sessions.destroy(req, res);
      throw ApiException.unauthorized('MFA_ATTEMPTS_EXCEEDED', 'Too many wrong answers. Sign in again.');
    }
    const account = await this.users.countMfaAttempt(user.id);
    if (account > ACCOUNT_MFA_FAILURE_LIMIT) {
      await this.users.lockMfa(user.id, this.clock.now() + ACCOUNT_MFA_LOCK_MS);
      this.recordLockout(req, session, 'login');
      await this.sessions.destroy(req, res);
      throw this.tooMany(res);
    }
    return { pending, account };
  }

  /** Logs a failed passkey answer and answers as a wrong TOTP code would; the last allowed one ends the sign-in. */
  private async loginFailed(
    req: Request,
    res: Response,
    session: SessionView,
    user: User,
    attempts: { pending: number; account: number },
    why: PasskeyFailure,
    passkey?: PasskeyCredential,
  ): Promise<never> {
    this.recordFailure(req, session, why, 'login', passkey);
    if (attempts.account >= ACCOUNT_MFA_FAILURE_LIMIT) {
      await this.users.lockMfa(user.id, this.clock.now() + ACCOUNT_MFA_LOCK_MS);
      this.recordLockout(req, session, 'login');
      await this.sessions.destroy(req, res);
      throw this.tooMany(res);
    }
    if (attempts.pending >= PENDING_SESSION_MFA_ATTEMPTS) {
      await this.sessions.destroy(req, res);
      throw ApiException.unauthorized('MFA_ATTEMPTS_EXCEEDED', 'Too many wrong answers. Sign in again.');
    }
    throw ApiException.unauthorized('INVALID_PASSKEY', 'That passkey answer is not valid. Try again.');
  }

  /** A refused answer; a clone signal or a replayed assertion is `mfa_reuse`, as a replayed TOTP code is. */
  private recordFailure(req: Request, session: SessionView, why: PasskeyFailure, action: MfaAction, passkey?: PasskeyCredential): void {
    this.mfaEvents.challengeFailed(req, session, why, { action, method: 'passkey', ...(passkey ? { passkeyId: passkey.id } : {}) });
  }

  private recordLockout(req: Request, session: SessionView, action: MfaAction): void {
    this.mfaEvents.lockout(req, session, { action, method: 'passkey', retryAfterMs: ACCOUNT_MFA_LOCK_MS });
  }

  private tooMany(res: Response): ApiException {
    res.setHeader('Retry-After', String(Math.ceil(ACCOUNT_MFA_LOCK_MS / 1000)));
    return ApiException.tooManyAttempts('Too many wrong answers for this account. Try again later.');
  }

  /** The account of a pending sign-in (one past `pendingTimeout` never gets here: the session module ended it). */
  private async pendingUser(req: Request, res: Response, session: SessionView): Promise<User> {
    if (session.stage !== 'pending') {
      throw ApiException.conflict('MFA_NOT_PENDING', 'This session has no sign-in waiting for a second factor.');
    }
    return this.auth.requireUser(req, res, session);
  }

  /** The account-wide pause after too many wrong second factors applies to passkeys too. */
  private refuseWhileLocked(res: Response, user: User): void {
    const now = this.clock.now();
    if (user.mfaLockedUntil !== null && user.mfaLockedUntil > now) {
      res.setHeader('Retry-After', String(Math.ceil((user.mfaLockedUntil - now) / 1000)));
      throw ApiException.tooManyAttempts('Too many wrong answers for this account. Try again later.');
    }
  }

  private relyingParty(req: Request): RelyingParty {
    const rp = relyingPartyFor(this.config.publicOrigin, req);
    if (rp) return rp;
    throw new ApiException({
      statusCode: HttpStatus.SERVICE_UNAVAILABLE,
      code: 'PASSKEYS_NOT_CONFIGURED',
      message: 'Passkeys need PUBLIC_ORIGIN (the origin people load this app from) outside localhost.',
    });
  }

  /** Keeps a ceremony's challenge in the session, replacing any earlier one (one ceremony at a time). */
  private async keep(req: Request, challenge: KeptChallenge): Promise<void> {
    await this.sessions.update(req, (data) => {
      data[PASSKEY_CHALLENGE_KEY] = { ...challenge };
    });
  }

  /**
   * Takes the kept challenge out of the session (atomically: of two parallel answers, one gets it), whatever its
   * purpose; returns it only if it is for `purpose`. Expiry is checked by `PasskeyService`.
   */
  private async take(req: Request, purpose: KeptChallenge['purpose']): Promise<KeptChallenge | undefined> {
    let taken: unknown;
    await this.sessions.update(req, (data) => {
      taken = data[PASSKEY_CHALLENGE_KEY];
      delete data[PASSKEY_CHALLENGE_KEY];
    });
    const kept = taken as Partial<KeptChallenge> | undefined;
    if (kept?.purpose !== purpose || typeof kept.challenge !== 'string' || typeof kept.expiresAt !== 'number') return undefined;
    return { purpose, challenge: kept.challenge, expiresAt: kept.expiresAt };
  }
}

/** An impersonation session cannot prove to be the user (as `POST /auth/reauth` refuses it). */
function refuseImpersonation(session: SessionView): void {
  if (session.impersonatedBy !== null) {
    throw ApiException.forbidden('IMPERSONATION_FORBIDDEN', 'An impersonation session cannot re-authenticate as the user.');
  }
}

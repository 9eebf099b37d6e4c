import { HttpStatus, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { BruteForceService, Clock, SessionRequiredException, SessionService, SessionView } from '../../../lib';
import { EventRecorder } from '../audit/event-recorder';
import { MfaAction, MfaEvents } from '../audit/mfa-events';
import { ApiException } from '../common/api-exception';
import { FactorCheck, isLocked, SecondFactorService } from '../mfa/second-factor.service';
import { PasskeyStore } from '../passkeys/passkey.store';
import { PublicUser, toPublicUser, User } from '../users/user.entity';
import { CredentialCheck, UsersService } from '../users/users.service';
import { SESSION_KEYS, SessionSummary, toSessionSummary } from './session-summary';

/** Answer of `POST /auth/login`. */
export interface LoginResponse {
  user: PublicUser;
  /** True when a second factor must follow (`POST /auth/mfa`) before the session is complete. */
  mfaRequired: boolean;
  /** With `mfaRequired`: the second factors the account can use (`POST /auth/mfa` for `totp`, `/auth/mfa/passkey` for `passkey`). */
  mfaMethods?: SecondFactorMethod[];
}

/** A second factor that can complete a sign-in. */
export type SecondFactorMethod = 'totp' | 'passkey';

/** The signed-in user and their session, as `/me`, `/auth/mfa` and `/auth/reauth` answer. */
export interface AccountView {
  user: PublicUser;
  session: SessionSummary;
  /** After a recovery code: how many are left. */
  recoveryCodesLeft?: number;
}

/** Codes one pending (pre-MFA) session may try; after the last wrong one it is ended. */
export const PENDING_SESSION_MFA_ATTEMPTS = 5;
/** Failed re-authentications (password or code) one session may make; after the last one it is ended. */
export const REAUTH_ATTEMPTS = 5;
/**
 * How long a pending (pre-MFA) session may wait for its second factor: the session module's `pendingTimeout` (the
 * library ends it then, 401 `SESSION_EXPIRED`, before any route sees it).
 */
export const PENDING_SESSION_MAX_AGE_MS = 5 * 60_000;

/** What a pending session keeps in its data (key `pendingLogin`). */
interface PendingLogin {
  failures: number;
  remember: boolean;
}

/**
 * Signing in and proving it again: checks credentials and second factors, starts or refreshes the session
 * through the session module, and records each attempt in the security log (OWASP `authn_*` events).
 *
 * The session carries what requests need to know about the user (roles snapshot, username in its data), so no
 * request after sign-in reads the users table for identity; account changes reach live sessions through the
 * session module (`setRoles`, `destroyAllForUser`).
 */
@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionService,
    private readonly factors: SecondFactorService,
    private readonly events: EventRecorder,
    private readonly mfaEvents: MfaEvents,
    private readonly clock: Clock,
    private readonly passkeys: PasskeyStore,
    private readonly bruteForce: BruteForceService,
  ) {}

  /**
   * Signs a user in: a brand-new session (any session the request came with is destroyed first, so a planted
   * session id can never become an authenticated one). Wrong password, unknown user and disabled account all
   * answer 401 `INVALID_CREDENTIALS`, identically.
   *
   * An account with a second factor gets a distinct, low-privilege `pending` session that reaches only
   * `POST /auth/mfa` (RA-03); the remember-me choice waits in it until the factor is proven.
   *
   * Before the password is checked, the brute-force counters of the typed username, the client IP and the pair are
   * read (one store round trip): a locked or too-early attempt gets 429 `TOO_MANY_ATTEMPTS` with `Retry-After`, and
   * after `CAPTCHA_AFTER_FAILURES` failures one without a valid `captcha` gets 401 `CAPTCHA_REQUIRED`. An unknown
   * username is counted exactly like an existing one, so the counters do not reveal which accounts exist either.
   */
  async login(
    req: Request,
    res: Response,
    input: { username: string; password: string; captcha?: string; remember?: boolean },
  ): Promise<LoginResponse> {
    const attempt = await this.bruteForce.begin(req, res, { scope: 'login', account: input.username, captcha: input.captcha });
    const check = await this.users.verifyCredentials(input.username, input.password);
    if (!check.ok) {
      this.recordFailure(req, check, 'login');
      await this.bruteForce.failed(attempt, check.reason === 'unknown_user' ? undefined : check.userId);
      throw ApiException.invalidCredentials();
    }
    await this.bruteForce.succeeded(attempt);
    const user = check.user;
    const remember = input.remember === true;
    const methods = await this.secondFactorsOf(user);
    if (methods.length > 0) {
      const pending: PendingLogin = { failures: 0, remember };
      await this.sessions.create(req, res, {
        userId: user.id,
        roles: user.roles,
        aal: 1,
        stage: 'pending',
        data: { [SESSION_KEYS.username]: user.username, [SESSION_KEYS.pendingLogin]: { ...pending } },
      });
      return { user: toPublicUser(user), mfaRequired: true, mfaMethods: methods };
    }
    const session = await this.sessions.create(req, res, {
      userId: user.id,
      roles: user.roles,
      remember,
      data: { [SESSION_KEYS.username]: user.username },
    });
    this.events.record(req, {
      type: 'authn_login_success',
      level: 'INFO',
      outcome: 'success',
      userId: user.id,
      sessionHandle: session.handle,
      detail: { aal: 1, tier: session.tier },
    });
    return { user: toPublicUser(user), mfaRequired: false };
  }

  /**
   * Second step of a sign-in: a TOTP code (each accepted once) or a recovery code (used up). Success completes the
   * session with `aal: 2` under a new id. A wrong code counts against this pending session
   * ({@link PENDING_SESSION_MFA_ATTEMPTS}, then it ends) and against the account (a pause after ten in a row).
   */
  async completeMfa(req: Request, res: Response, session: SessionView, code: string): Promise<AccountView> {
    if (session.stage !== 'pending')
      throw ApiException.conflict('MFA_NOT_PENDING', 'This session has no sign-in waiting for a second factor.');
    const user = await this.requireUser(req, res, session);
    // The attempt is counted in the session before the code is checked, from the data as stored (the update re-runs
    // on a parallel write): parallel guesses on one pending session are all counted.
    const counted = await this.sessions.update(req, (data) => {
      const pending = readPending(data[SESSION_KEYS.pendingLogin]);
      data[SESSION_KEYS.pendingLogin] = { ...pending, failures: pending.failures + 1 };
    });
    const attempt = pendingOf(counted).failures;
    if (attempt > PENDING_SESSION_MFA_ATTEMPTS) {
      await this.sessions.destroy(req, res);
      throw ApiException.unauthorized('MFA_ATTEMPTS_EXCEEDED', 'Too many wrong codes. Sign in again.');
    }
    const check = await this.factors.verify(user, code);
    if (!check.ok) {
      this.recordFactorFailure(req, session, check, 'login');
      if (isLocked(check)) {
        await this.sessions.destroy(req, res);
        throw this.locked(res, check);
      }
      if (attempt >= PENDING_SESSION_MFA_ATTEMPTS) {
        await this.sessions.destroy(req, res);
        throw ApiException.unauthorized('MFA_ATTEMPTS_EXCEEDED', 'Too many wrong codes. Sign in again.');
      }
      throw wrongCode(check);
    }
    const completed = await this.completeSecondFactor(req, res, session, user, check.method, {
      ...(check.method === 'recovery_code' ? { remaining: check.remaining } : {}),
    });
    if (check.method === 'recovery_code') this.mfaEvents.recoveryCodeUsed(req, session, completed.handle, 'login', check.remaining);
    return {
      user: toPublicUser(user),
      session: toSessionSummary(completed),
      ...(check.method === 'recovery_code' ? { recoveryCodesLeft: check.remaining } : {}),
    };
  }

  /**
   * Re-authentication of the signed-in user: the password, and the second factor when the account has one (a
   * full re-authentication, RA-01/RA-02). A new session id, a new `authenticatedAt`, both timeouts restarted.
   * Refused on an impersonation session: the admin cannot prove to be the user.
   */
  async reauthenticate(req: Request, res: Response, session: SessionView, password: string, code?: string): Promise<AccountView> {
    if (session.impersonatedBy !== null) {
      throw ApiException.forbidden('IMPERSONATION_FORBIDDEN', 'An impersonation session cannot re-authenticate as the user.');
    }
    const user = await this.requireUser(req, res, session);
    // Counted in the session before the password is checked (as second-factor codes are), so that whoever holds a
    // stolen session cannot use this route to guess the password: the session ends after a few wrong ones.
    const counted = await this.sessions.update(req, (data) => {
      const stored = data[SESSION_KEYS.reauthFailures];
      data[SESSION_KEYS.reauthFailures] = (typeof stored === 'number' ? stored : 0) + 1;
    });
    const attempt = counted.data[SESSION_KEYS.reauthFailures] as number;
    if (attempt > REAUTH_ATTEMPTS) {
      await this.sessions.destroy(req, res);
      throw ApiException.unauthorized('REAUTH_ATTEMPTS_EXCEEDED', 'Too many failed attempts. Sign in again.');
    }
    // Also counted per user and per (user, IP) beyond this session: signing in again does not buy new guesses.
    const limited = await this.bruteForce.begin(req, res, { scope: 'reauth', account: user.id });
    if (!(await this.users.verifyPassword(user, password))) {
      await this.bruteForce.failed(limited, user.id);
      this.recordFailure(req, { ok: false, reason: 'wrong_password', userId: user.id }, 'reauthentication', session.handle);
      if (attempt >= REAUTH_ATTEMPTS) {
        await this.sessions.destroy(req, res);
        throw ApiException.unauthorized('REAUTH_ATTEMPTS_EXCEEDED', 'Too many failed attempts. Sign in again.');
      }
      throw ApiException.invalidCredentials();
    }
    const enrolled = this.factors.isEnrolled(user);
    // A passkey is proven with its own ceremony: without TOTP, a password alone is not a full re-authentication.
    if (!enrolled && (await this.passkeys.hasAny(user.id))) {
      throw ApiException.unauthorized('PASSKEY_REQUIRED', 'Confirm with your passkey as well (POST /auth/reauth/passkey).');
    }
    let method: FactorCheck | undefined;
    if (enrolled) {
      if (code === undefined) {
        throw ApiException.unauthorized('MFA_CODE_REQUIRED', 'Enter a code from your authenticator app (or a recovery code) as well.');
      }
      method = await this.factors.verify(user, code);
      if (!method.ok) {
        await this.bruteForce.failed(limited, user.id);
        this.recordFactorFailure(req, session, method, 'reauthentication');
        if (isLocked(method)) throw this.locked(res, method);
        throw wrongCode(method);
      }
    }
    await this.bruteForce.succeeded(limited);
    await this.sessions.update(req, (data) => {
      delete data[SESSION_KEYS.reauthFailures];
    });
    const renewed = await this.sessions.reauthenticate(req, res, { aal: enrolled ? 2 : 1 });
    this.events.record(req, {
      type: 'authn_login_success',
      level: 'INFO',
      outcome: 'success',
      userId: user.id,
      sessionHandle: renewed.handle,
      reason: 'reauthentication',
      detail: { aal: renewed.aal, ...(method?.ok ? { method: method.method } : {}) },
    });
    if (method?.ok && method.method === 'recovery_code') {
      this.mfaEvents.recoveryCodeUsed(req, session, renewed.handle, 'reauthentication', method.remaining);
    }
    return {
      user: toPublicUser(user),
      session: toSessionSummary(renewed),
      ...(method?.ok && method.method === 'recovery_code' ? { recoveryCodesLeft: method.remaining } : {}),
    };
  }

  /**
   * The account behind a session, for the routes that need more than the session knows (password, second
   * factor). If it was deleted or disabled meanwhile, the session is ended and the request gets 401
   * `SESSION_REQUIRED`: a session never outlives the right to have it.
   */
  async requireUser(req: Request, res: Response, session: SessionView): Promise<User> {
    const user = await this.users.findActiveById(session.userId);
    if (user) return user;
    await this.sessions.destroy(req, res);
    throw new SessionRequiredException('Your account is no longer available. Sign in again.');
  }

  /** The second factors the account has enrolled: TOTP (or only recovery codes left) and passkeys. */
  async secondFactorsOf(user: User): Promise<SecondFactorMethod[]> {
    return this.methodsOf(user, await this.passkeys.hasAny(user.id));
  }

  /** {@link secondFactorsOf} of many accounts (by user id), with one query for all their passkeys. */
  async secondFactorsOfEach(users: readonly User[]): Promise<Map<string, SecondFactorMethod[]>> {
    const holders = await this.passkeys.holdersAmong(users.map((user) => user.id));
    return new Map(users.map((user) => [user.id, this.methodsOf(user, holders.has(user.id))]));
  }

  /** The one rule of what counts as an enrolled second factor: sign-in, the account and the admin list all use it. */
  private methodsOf(user: User, hasPasskey: boolean): SecondFactorMethod[] {
    const methods: SecondFactorMethod[] = [];
    if (this.factors.isEnrolled(user)) methods.push('totp');
    if (hasPasskey) methods.push('passkey');
    return methods;
  }

  /**
   * Ends a pending sign-in once its second factor (TOTP, recovery code or passkey) is proven. `complete` rotates the
   * pending session into the full one (new id, aal 2). A remembered sign-in needs the longer tier, which only a new
   * session can have: it is created in its place (also a new id, the pending one destroyed), so the pending session
   * itself never had the long lifetime. Records the sign-in (`authn_login_success`, reason `mfa_<method>`, with the
   * tier and `detail`): one place for every second factor.
   *
   * @param method the factor that was proven: `totp`, `recovery_code` or `passkey`
   * @param detail what the factor adds to the event (recovery codes left, user verification)
   */
  async completeSecondFactor(
    req: Request,
    res: Response,
    session: SessionView,
    user: User,
    method: string,
    detail: Record<string, string | number | boolean> = {},
  ): Promise<SessionView> {
    let completed: SessionView;
    if (pendingOf(session).remember) {
      completed = await this.sessions.create(req, res, {
        userId: user.id,
        roles: user.roles,
        aal: 2,
        remember: true,
        data: { [SESSION_KEYS.username]: user.username },
      });
    } else {
      await this.sessions.update(req, (data) => {
        delete data[SESSION_KEYS.pendingLogin];
      });
      completed = await this.sessions.complete(req, res, { aal: 2 });
    }
    this.events.record(req, {
      type: 'authn_login_success',
      level: 'INFO',
      outcome: 'success',
      userId: user.id,
      sessionHandle: completed.handle,
      reason: `mfa_${method}`,
      detail: { aal: 2, method, tier: completed.tier, ...detail },
    });
    return completed;
  }

  private locked(res: Response, check: FactorCheck & { ok: false }): ApiException {
    res.setHeader('Retry-After', String(Math.ceil((check.retryAfterMs ?? 60_000) / 1000)));
    return ApiException.tooManyAttempts('Too many wrong codes for this account. Try again later.');
  }

  /**
   * A refused code: `mfa_challenge_fail`, or `mfa_reuse` for a replayed one (RA-04: reuse is logged), and
   * `mfa_lockout` when it started the account's pause. An attempt past the limit that was never checked logs the
   * lockout alone.
   */
  private recordFactorFailure(req: Request, session: SessionView, check: FactorCheck & { ok: false }, action: MfaAction): void {
    const context = { action, ...(check.method ? { method: check.method } : {}) };
    if (!(check.reason === 'locked' && check.lockedNow)) this.mfaEvents.challengeFailed(req, session, check.reason, context);
    if (check.lockedNow) this.mfaEvents.lockout(req, session, { ...context, retryAfterMs: check.retryAfterMs ?? 0 });
  }

  private recordFailure(
    req: Request,
    check: Exclude<CredentialCheck, { ok: true }>,
    action: 'login' | 'reauthentication',
    sessionHandle?: string,
  ): void {
    this.events.record(req, {
      type: 'authn_login_fail',
      level: 'WARN',
      outcome: 'failure',
      // The typed username is deliberately not logged: people sometimes type their password into that field.
      userId: check.reason === 'unknown_user' ? undefined : check.userId,
      sessionHandle,
      reason: check.reason,
      detail: { action },
    });
  }
}

/** The pending-login state of a session's data, read defensively. */
function pendingOf(session: SessionView): PendingLogin {
  return readPending(session.data[SESSION_KEYS.pendingLogin]);
}

function readPending(value: unknown): PendingLogin {
  const stored = value as Partial<PendingLogin> | undefined;
  return {
    failures: typeof stored?.failures === 'number' ? stored.failures : 0,
    remember: stored?.remember === true,
  };
}

function wrongCode(check: FactorCheck & { ok: false }): ApiException {
  if (check.reason === 'not_enrolled') {
    return ApiException.conflict('MFA_NOT_ENROLLED', 'This account has no second factor.');
  }
  // Replayed and wrong codes answer alike: the difference is logged, not told.
  return new ApiException({ statusCode: HttpStatus.UNAUTHORIZED, code: 'INVALID_MFA_CODE', message: 'That code is not valid.' });
}

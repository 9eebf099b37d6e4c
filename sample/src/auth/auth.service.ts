import { Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Clock, SecurityEvent, SecurityEventBus, SessionRequiredException, SessionService, SessionView } from '../../../lib';
import { ApiException } from '../common/api-exception';
import { PublicUser, toPublicUser, User } from '../users/user.entity';
import { CredentialCheck, UsersService } from '../users/users.service';
import { SessionSummary, toSessionSummary } from './session-summary';

/** Answer of `POST /auth/login`. */
export interface LoginResponse {
  user: PublicUser;
  /** True when a second factor must follow before the session is complete. */
  mfaRequired: boolean;
}

/** The signed-in user and their session, as `/me` and `/auth/reauth` answer. */
export interface AccountView {
  user: PublicUser;
  session: SessionSummary;
}

/**
 * Signing in and proving it again: checks credentials, starts or refreshes the session through the session
 * module, and records each attempt in the security log (OWASP `authn_login_*` events).
 */
@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionService,
    private readonly events: SecurityEventBus,
    private readonly clock: Clock,
  ) {}

  /**
   * Signs a user in: a brand-new session (any session the request came with is destroyed first, so a
   * planted session id can never become an authenticated one). Wrong password, unknown user and disabled
   * account all answer 401 `INVALID_CREDENTIALS`, identically.
   */
  async login(req: Request, res: Response, username: string, password: string): Promise<LoginResponse> {
    const check = await this.users.verifyCredentials(username, password);
    if (!check.ok) {
      this.recordFailure(req, check, 'login');
      throw ApiException.invalidCredentials();
    }
    const session = await this.sessions.create(req, res, { userId: check.user.id });
    this.record(req, {
      type: 'authn_login_success',
      level: 'INFO',
      outcome: 'success',
      userId: check.user.id,
      sessionHandle: session.handle,
    });
    return { user: toPublicUser(check.user), mfaRequired: false };
  }

  /**
   * Re-authentication of the signed-in user by password: a new session id, a new `authenticatedAt`, and both
   * timeouts restarted. A wrong password is 401 `INVALID_CREDENTIALS` and leaves the session as it was.
   */
  async reauthenticate(req: Request, res: Response, session: SessionView, password: string): Promise<AccountView> {
    const user = await this.requireUser(req, res, session);
    if (!(await this.users.verifyPassword(user, password))) {
      this.recordFailure(req, { ok: false, reason: 'wrong_password', userId: user.id }, 'reauthentication', session.handle);
      throw ApiException.invalidCredentials();
    }
    const renewed = await this.sessions.reauthenticate(req, res);
    this.record(req, {
      type: 'authn_login_success',
      level: 'INFO',
      outcome: 'success',
      userId: user.id,
      sessionHandle: renewed.handle,
      reason: 'reauthentication',
    });
    return { user: toPublicUser(user), session: toSessionSummary(renewed) };
  }

  /**
   * The account behind a session. If it was deleted or disabled meanwhile, the session is ended and the
   * request gets 401 `SESSION_REQUIRED`: a session never outlives the right to have it.
   */
  async requireUser(req: Request, res: Response, session: SessionView): Promise<User> {
    const user = await this.users.findActiveById(session.userId);
    if (user) return user;
    await this.sessions.destroy(req, res);
    throw new SessionRequiredException('Your account is no longer available. Sign in again.');
  }

  private recordFailure(
    req: Request,
    check: Exclude<CredentialCheck, { ok: true }>,
    action: 'login' | 'reauthentication',
    sessionHandle?: string,
  ): void {
    this.record(req, {
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

  private record(req: Request, event: Omit<SecurityEvent, 'time' | 'ip' | 'userAgent'>): void {
    const client = this.sessions.client(req);
    this.events.emit({ ...event, time: this.clock.now(), ip: client.ip, userAgent: client.userAgent });
  }
}

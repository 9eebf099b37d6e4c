import { Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApiTokenService, BruteForceService, Clock, TokenResponse } from '../../../lib';
import { EventRecorder } from '../audit/event-recorder';
import { ApiException } from '../common/api-exception';
import { isLocked, SecondFactorService } from '../mfa/second-factor.service';
import { PasskeyStore } from '../passkeys/passkey.store';
import { UsersService } from '../users/users.service';

/**
 * API sign-in: username and password (and the TOTP code, `otp`, when the account has TOTP) for a token pair. Counted
 * by the brute-force defence exactly like `POST /auth/login` (same scope, same counters), so the API is no side door
 * for password guessing. An account whose only second factor is a passkey cannot sign in here (a passkey needs a
 * browser ceremony): it gets 401 `MFA_REQUIRED` and uses `POST /api/auth/token-exchange` from a browser session.
 */
@Injectable()
export class ApiAuthService {
  constructor(
    private readonly users: UsersService,
    private readonly factors: SecondFactorService,
    private readonly passkeys: PasskeyStore,
    private readonly bruteForce: BruteForceService,
    private readonly tokens: ApiTokenService,
    private readonly events: EventRecorder,
    private readonly clock: Clock,
  ) {}

  async token(
    req: Request,
    res: Response,
    input: { username: string; password: string; otp?: string; captcha?: string },
  ): Promise<TokenResponse> {
    const attempt = await this.bruteForce.begin(req, res, { scope: 'login', account: input.username, captcha: input.captcha });
    const check = await this.users.verifyCredentials(input.username, input.password);
    if (!check.ok) {
      this.events.record(req, {
        type: 'authn_login_fail',
        level: 'WARN',
        outcome: 'failure',
        userId: check.reason === 'unknown_user' ? undefined : check.userId,
        reason: check.reason,
        detail: { action: 'api_token' },
      });
      await this.bruteForce.failed(attempt, check.reason === 'unknown_user' ? undefined : check.userId);
      throw ApiException.invalidCredentials();
    }
    const user = check.user;
    let aal = 1;
    if (this.factors.isEnrolled(user)) {
      if (input.otp === undefined) {
        // The password was right: not a failure, but no success either (the attempt is not reset).
        throw ApiException.unauthorized(
          'MFA_REQUIRED',
          'This account has a second factor: send the code from your authenticator app as otp.',
        );
      }
      const factor = await this.factors.verify(user, input.otp);
      if (!factor.ok) {
        this.events.record(req, {
          type: factor.reason === 'replayed' ? 'mfa_reuse' : 'mfa_challenge_fail',
          level: factor.reason === 'replayed' ? 'CRITICAL' : 'WARN',
          outcome: 'failure',
          userId: user.id,
          reason: factor.reason,
          detail: { action: 'api_token' },
        });
        await this.bruteForce.failed(attempt, user.id);
        if (isLocked(factor)) {
          res.setHeader('Retry-After', String(Math.ceil((factor.retryAfterMs ?? 60_000) / 1000)));
          throw ApiException.tooManyAttempts('Too many wrong codes for this account. Try again later.');
        }
        throw ApiException.unauthorized('INVALID_MFA_CODE', 'That code is not valid.');
      }
      aal = 2;
    } else if (await this.passkeys.hasAny(user.id)) {
      throw ApiException.unauthorized(
        'MFA_REQUIRED',
        'This account signs in with a passkey, which needs a browser: sign in there and use POST /api/auth/token-exchange.',
      );
    }
    await this.bruteForce.succeeded(attempt);
    const now = this.clock.now();
    const pair = await this.tokens.issue({ userId: user.id, roles: user.roles, aal, authTime: now }, req);
    this.events.record(req, {
      type: 'authn_login_success',
      level: 'INFO',
      outcome: 'success',
      userId: user.id,
      reason: 'api_token',
      detail: { aal },
    });
    return pair;
  }

  /** A new pair for a refresh token; the roles come from the users table now (a disabled account gets none: 401). */
  refresh(req: Request, refreshToken: string): Promise<TokenResponse> {
    return this.tokens.refresh(refreshToken, { roles: async (userId) => (await this.users.findActiveById(userId))?.roles ?? null }, req);
  }
}

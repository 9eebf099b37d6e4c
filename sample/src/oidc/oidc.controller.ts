import { Body, Controller, Get, HttpCode, HttpStatus, Post, Query, Req, Res } from '@nestjs/common';
import { Throttle } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { Public, SkipCsrf } from '../../../lib';
import { LogoutTokenRejectedException, OidcCallbackException, OidcService } from '../../../lib/oidc';
import { EventRecorder } from '../audit/event-recorder';
import { ApiException } from '../common/api-exception';
import { SESSION_KEYS } from '../auth/session-summary';
import { RateLimited, SENSITIVE_THROTTLER } from '../rate-limit/rate-limit.module';
import { OidcUsersService } from './oidc-users.service';

/** Back-channel logouts accepted per minute from one provider address (each ends sessions, and costs a JWKS check). */
const BACKCHANNEL_LOGOUTS_PER_MINUTE = 600;

/** Where the browser lands after signing in (or confirming it is them) at the provider. */
const AFTER_SIGN_IN = '/account';

/**
 * "Sign in with" an OpenID Provider (`OIDC_ISSUER`), and its back-channel logout. Registered only when OIDC is
 * configured: otherwise the three routes do not exist (404).
 *
 * None of them is checked with the synchronizer CSRF token, on purpose: the callback is a top-level GET from the
 * provider, protected by `state` (bound to this browser's encrypted pre-login cookie, single-use) and PKCE; the
 * back-channel logout is a server-to-server POST without cookies, protected by the logout token's signature.
 */
@Controller('auth/oidc')
export class OidcController {
  constructor(
    private readonly oidc: OidcService,
    private readonly users: OidcUsersService,
    private readonly events: EventRecorder,
  ) {}

  /**
   * Redirects (303) to the provider. `?reauth=1`: re-authenticate the signed-in (OIDC) user there (`prompt=login`),
   * the route `REAUTH_REQUIRED` names for such a session.
   */
  @Public()
  @Get('login')
  async login(@Query('reauth') reauth: string | undefined, @Req() req: Request, @Res() res: Response): Promise<void> {
    const again = reauth === '1';
    const url = await this.oidc.startLogin(req, res, again ? { reauth: true, returnTo: AFTER_SIGN_IN } : {});
    res.redirect(HttpStatus.SEE_OTHER, url.href);
  }

  /**
   * The provider's answer: a new session for the account keyed by (issuer, subject), or the re-authentication of the
   * current one; then 303 to `/account`. Refusals are 400/401 JSON with a code (`OIDC_*`), and logged.
   */
  @Public()
  @RateLimited()
  @Get('callback')
  async callback(@Req() req: Request, @Res() res: Response): Promise<void> {
    let result;
    try {
      result = await this.oidc.completeLogin(req, res);
    } catch (error) {
      if (error instanceof OidcCallbackException) this.recordFailure(req, error.failure, error.detail);
      throw error;
    }
    const { identity } = result;
    const detail = { method: 'oidc', issuer: identity.issuer, aal: result.aal, action: result.reauth ? 'reauthentication' : 'login' };
    if (result.reauth) {
      let view;
      try {
        view = await this.oidc.reauthenticate(req, res, result);
      } catch (error) {
        if (error instanceof OidcCallbackException) this.recordFailure(req, error.failure, error.detail);
        throw error;
      }
      this.events.record(req, {
        type: 'authn_login_success',
        level: 'INFO',
        outcome: 'success',
        userId: view.userId,
        sessionHandle: view.handle,
        reason: 'oidc',
        detail,
      });
      res.redirect(HttpStatus.SEE_OTHER, result.returnTo ?? AFTER_SIGN_IN);
      return;
    }
    const { user, created } = await this.users.findOrCreate(identity);
    if (user.disabled) {
      this.recordFailure(req, 'account_disabled', 'the linked account is disabled', user.id);
      throw ApiException.unauthorized('ACCOUNT_DISABLED', 'This account is disabled.');
    }
    const session = await this.oidc.signIn(req, res, result, {
      userId: user.id,
      roles: user.roles,
      data: { [SESSION_KEYS.username]: user.username },
    });
    this.events.record(req, {
      type: 'authn_login_success',
      level: 'INFO',
      outcome: 'success',
      userId: user.id,
      sessionHandle: session.handle,
      reason: 'oidc',
      detail: { ...detail, tier: session.tier, newAccount: created ? 1 : 0 },
    });
    res.redirect(HttpStatus.SEE_OTHER, AFTER_SIGN_IN);
  }

  /**
   * OpenID Connect Back-Channel Logout 1.0: 200 after ending the sessions the logout token names, 400 for any refused
   * token (nothing ends), both with `Cache-Control: no-store`; 503 while the provider's keys cannot be fetched.
   */
  @Public()
  @SkipCsrf()
  // Every call comes from the provider's few addresses: a budget for a provider, not for one person (BF-07).
  @RateLimited()
  @Throttle({ [SENSITIVE_THROTTLER]: { limit: BACKCHANNEL_LOGOUTS_PER_MINUTE, ttl: 60_000 } })
  @Post('backchannel-logout')
  @HttpCode(HttpStatus.OK)
  async backchannelLogout(@Body() body: unknown, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<void> {
    res.setHeader('Cache-Control', 'no-store');
    const token = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).logout_token : undefined;
    try {
      const ended = await this.oidc.backchannelLogout(token);
      for (const userId of ended.userIds) {
        this.events.record(req, {
          type: 'session_logout',
          level: 'INFO',
          outcome: 'success',
          userId,
          reason: 'oidc_backchannel_logout',
          detail: { issuer: ended.issuer, sessions: ended.sessionHandles.length },
        });
      }
    } catch (error) {
      if (error instanceof LogoutTokenRejectedException) {
        this.events.record(req, { type: 'oidc_logout_token_rejected', level: 'WARN', outcome: 'failure', reason: error.reason });
      }
      throw error;
    }
  }

  private recordFailure(req: Request, reason: string, detail: string, userId?: string): void {
    this.events.record(req, {
      type: 'authn_login_fail',
      level: 'WARN',
      outcome: 'failure',
      ...(userId ? { userId } : {}),
      reason: reason.toLowerCase(),
      detail: { method: 'oidc', why: detail.slice(0, 200) },
    });
  }
}

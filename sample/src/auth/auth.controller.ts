import { Body, Controller, Get, HttpCode, HttpStatus, Inject, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AllowPendingSession, CsrfFormRoute, CsrfService, CurrentSession, Public, ReAuth, SessionService, SessionView } from '../../../lib';
import { ImpersonationCookie } from '../admin/impersonation-cookie';
import type { SampleConfig } from '../config';
import { SAMPLE_CONFIG } from '../sample-config.token';
import { LoginDto, MfaCodeDto, ReauthDto } from './auth.dto';
import { AccountView, AuthService, LoginResponse } from './auth.service';
import { SESSION_KEYS } from './session-summary';
import { RateLimited } from '../rate-limit/rate-limit.module';

/** Sign-in (password, then second factor), re-authentication, sign-out and the CSRF token the pages send back. */
@Controller('auth')
export class AuthController {
  private readonly impersonationCookie: ImpersonationCookie;

  constructor(
    private readonly auth: AuthService,
    private readonly csrf: CsrfService,
    private readonly sessions: SessionService,
    @Inject(SAMPLE_CONFIG) config: SampleConfig,
  ) {
    this.impersonationCookie = new ImpersonationCookie(config.cookie.name, config.cookie.secure);
  }

  /**
   * `{ token }` for this context: the session once signed in, a pre-login nonce (HttpOnly cookie) before. The
   * library's CsrfGuard checks it on every unsafe request; a new one is due after login and privilege changes.
   */
  @Public()
  @Get('csrf')
  async csrfToken(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<{ token: string }> {
    return { token: await this.csrf.token(req, res) };
  }

  @Public()
  @Post('login')
  @HttpCode(HttpStatus.OK)
  login(@Body() body: LoginDto, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<LoginResponse> {
    return this.auth.login(req, res, body);
  }

  /** Completes a sign-in that answered `mfaRequired: true`. The only route a pending session reaches. */
  @AllowPendingSession()
  @RateLimited()
  @Post('mfa')
  @HttpCode(HttpStatus.OK)
  mfa(
    @Body() body: MfaCodeDto,
    @CurrentSession() session: SessionView,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<AccountView> {
    return this.auth.completeMfa(req, res, session, body.code);
  }

  @RateLimited()
  @Post('reauth')
  @HttpCode(HttpStatus.OK)
  reauth(
    @Body() body: ReauthDto,
    @CurrentSession() session: SessionView,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<AccountView> {
    return this.auth.reauthenticate(req, res, session, body.password, body.code);
  }

  /**
   * Ends this session server-side, clears the cookie and asks the browser to drop cached pages and storage. A
   * pending (pre-MFA) session may use it too, to abandon the sign-in. Signing out of an impersonation ends the
   * admin's own session too (kept aside for `/auth/impersonation/stop`): the next person at this browser must not
   * get it back.
   */
  @AllowPendingSession()
  // The pages' sign-out is an HTML form with `_csrf` (it also works without script); script sends the header.
  @CsrfFormRoute()
  @Post('logout')
  @HttpCode(HttpStatus.NO_CONTENT)
  async logout(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<void> {
    const session = await this.sessions.current(req, res);
    const adminSession = session?.impersonatedBy ? session.data[SESSION_KEYS.impersonatorSession] : undefined;
    if (session?.impersonatedBy && typeof adminSession === 'string') {
      await this.sessions.revoke(session.impersonatedBy, adminSession, req);
      this.impersonationCookie.clear(res);
    }
    await this.sessions.destroy(req, res);
  }

  /**
   * Ends every session of this user: the others first, then this one (so that it is logged as a logout and
   * its cookie is cleared). Sensitive: needs a recent authentication.
   */
  @ReAuth()
  @RateLimited()
  @Post('logout-all')
  @HttpCode(HttpStatus.NO_CONTENT)
  async logoutAll(@CurrentSession() session: SessionView, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<void> {
    await this.sessions.destroyAllForUser(session.userId, { exceptCurrentOf: req, reason: 'logout_everywhere' });
    await this.sessions.destroy(req, res);
  }
}

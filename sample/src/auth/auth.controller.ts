import { Body, Controller, Get, HttpCode, HttpStatus, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { CurrentSession, Public, SessionService, SessionView } from '../../../lib';
import { LoginDto, ReauthDto } from './auth.dto';
import { AccountView, AuthService, LoginResponse } from './auth.service';
import { CsrfService } from './csrf.service';

/** Sign-in, re-authentication, sign-out and the CSRF token the pages send back. */
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly csrf: CsrfService,
    private readonly sessions: SessionService,
  ) {}

  /** `{ token }` for this context: the session once signed in, a pre-session nonce before. */
  @Public()
  @Get('csrf')
  async csrfToken(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<{ token: string }> {
    return { token: await this.csrf.tokenFor(req, res) };
  }

  @Public()
  @Post('login')
  @HttpCode(HttpStatus.OK)
  login(@Body() body: LoginDto, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<LoginResponse> {
    return this.auth.login(req, res, body.username, body.password);
  }

  @Post('reauth')
  @HttpCode(HttpStatus.OK)
  reauth(
    @Body() body: ReauthDto,
    @CurrentSession() session: SessionView,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<AccountView> {
    return this.auth.reauthenticate(req, res, session, body.password);
  }

  /** Ends this session server-side, clears the cookie and asks the browser to drop cached pages and storage. */
  @Post('logout')
  @HttpCode(HttpStatus.NO_CONTENT)
  async logout(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<void> {
    await this.sessions.destroy(req, res);
  }

  /**
   * Ends every session of this user: the others first, then this one (so that it is logged as a logout and
   * its cookie is cleared).
   */
  @Post('logout-all')
  @HttpCode(HttpStatus.NO_CONTENT)
  async logoutAll(@CurrentSession() session: SessionView, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<void> {
    await this.sessions.destroyAllForUser(session.userId, { exceptCurrentOf: req, reason: 'logout_everywhere' });
    await this.sessions.destroy(req, res);
  }
}

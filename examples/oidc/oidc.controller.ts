// examples/oidc/oidc.controller.ts
import { Body, Controller, Get, HttpCode, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Public, SkipCsrf } from 'nest-session-kit';
import { OidcService } from 'nest-session-kit/oidc';
import { UsersService } from './users.service';

@Controller('auth/oidc')
export class OidcController {
  constructor(
    private readonly oidc: OidcService,
    private readonly users: UsersService,
  ) {}

  /** `?reauth=1` is where `REAUTH_REQUIRED` sends a user who signed in here (prompt=login at the provider). */
  @Public()
  @Get('login')
  async login(@Query('reauth') reauth: string | undefined, @Req() req: Request, @Res() res: Response) {
    const url = await this.oidc.startLogin(req, res, { reauth: reauth === '1' });
    res.redirect(303, url.href);
  }

  /** No CSRF token here: `state` (bound to this browser, single-use) and PKCE protect the callback. */
  @Public()
  @Get('callback')
  async callback(@Req() req: Request, @Res() res: Response) {
    const result = await this.oidc.completeLogin(req, res); // 400/401 with a code, or 503
    if (result.reauth) {
      await this.oidc.reauthenticate(req, res, result); // authenticatedAt = the provider's auth_time
    } else {
      const user = this.users.findOrCreate(result.identity.issuer, result.identity.subject); // never by e-mail
      await this.oidc.signIn(req, res, result, { userId: user.id, roles: user.roles });
    }
    res.redirect(303, '/me');
  }

  /** Server to server, no cookies: the logout token's signature protects it, not a CSRF token. */
  @Public()
  @SkipCsrf()
  @Post('backchannel-logout')
  @HttpCode(200)
  async backchannelLogout(@Body() body: { logout_token?: string }, @Res({ passthrough: true }) res: Response) {
    res.setHeader('Cache-Control', 'no-store');
    await this.oidc.backchannelLogout(body.logout_token); // 400 for a bad token: nothing ends
  }
}

// examples/oidc/account.controller.ts
import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { CurrentSession, ReAuth, SessionView } from 'nest-session-kit';

@Controller()
export class AccountController {
  @Get('me')
  me(@CurrentSession() session: SessionView) {
    return { userId: session.userId, authenticatedAt: session.authenticatedAt };
  }

  /** For a user who signed in at the provider, 401 REAUTH_REQUIRED names `GET /auth/oidc/login?reauth=1`. */
  @ReAuth({ maxAge: '5m' })
  @Post('danger')
  @HttpCode(204)
  danger() {}
}

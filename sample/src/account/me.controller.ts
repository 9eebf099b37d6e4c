import { Controller, Get, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { CurrentSession, SessionView } from '../../../lib';
import { AccountView, AuthService } from '../auth/auth.service';
import { toSessionSummary } from '../auth/session-summary';
import { toPublicUser } from '../users/user.entity';

/** `GET /me`: who is signed in, and the state of their session. */
@Controller('me')
export class MeController {
  constructor(private readonly auth: AuthService) {}

  @Get()
  async me(@CurrentSession() session: SessionView, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<AccountView> {
    const user = await this.auth.requireUser(req, res, session);
    return { user: toPublicUser(user), session: toSessionSummary(session) };
  }
}

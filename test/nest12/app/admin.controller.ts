import { Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { CurrentSession, Roles, SessionService, type SessionView } from 'nest-session-kit';
// The package's request and response shapes: Express's and Fastify's both fit, so one source serves both platforms.
import type { HttpRequestLike as Request, HttpResponseLike as Response } from 'nest-session-kit';

/** `@Roles` on the class: every route here needs the admin role (403 `INSUFFICIENT_ROLE` below it). */
@Roles('admin')
@Controller('admin')
export class AdminController {
  @Get('report')
  report(@CurrentSession() session: SessionView) {
    return { report: 'ok', for: session.userId };
  }
}

@Controller('account')
export class AccountController {
  constructor(private readonly sessions: SessionService) {}

  /** A privilege change the app makes itself (here: the user becomes an admin); the session gets a new id. */
  @Post('promote')
  @HttpCode(200)
  async promote(@CurrentSession() session: SessionView, @Req() req: Request) {
    return { changed: await this.sessions.setRoles(session.userId, [...session.roles, 'admin'], req) };
  }

  /** An explicit rotation (e.g. after a sensitive change): the old id dies at once. */
  @Post('rotate')
  @HttpCode(200)
  async rotate(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const session = await this.sessions.rotate(req, res);
    return { handle: session.handle };
  }
}

import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { CurrentSession, Public, SessionService, type SessionListing, type SessionView } from 'nest-session-kit';
// The package's request and response shapes: Express's and Fastify's both fit, so one source serves both platforms.
import type { HttpRequestLike as Request, HttpResponseLike as Response } from 'nest-session-kit';
import { UsersService, type LoginDto } from './users.service.js';

@Controller()
export class AuthController {
  constructor(
    private readonly sessions: SessionService,
    private readonly users: UsersService,
  ) {}

  @Public()
  @Post('auth/login')
  @HttpCode(200)
  async login(@Body() body: LoginDto, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const user = this.users.verify(body?.username, body?.password);
    const session = await this.sessions.create(req, res, { userId: user.id, roles: user.roles });
    return { userId: session.userId, roles: session.roles };
  }

  @Post('auth/logout')
  @HttpCode(204)
  logout(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<void> {
    return this.sessions.destroy(req, res);
  }

  @Get('me')
  me(@CurrentSession() session: SessionView) {
    return { userId: session.userId, roles: session.roles, handle: session.handle };
  }

  @Get('me/sessions')
  list(@CurrentSession() session: SessionView, @Req() req: Request): Promise<SessionListing[]> {
    return this.sessions.list(session.userId, req);
  }
}

// examples/quick-start/auth.controller.ts
import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Public, SessionService } from 'nest-session-kit';
import { UsersService, type LoginDto } from './users.service';

@Controller('auth')
export class AuthController {
  constructor(
    private readonly sessions: SessionService,
    private readonly users: UsersService,
  ) {}

  @Public()
  @Post('login')
  @HttpCode(200)
  async login(@Body() body: LoginDto, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const user = await this.users.verify(body.username, body.password); // throws 401 on failure
    await this.sessions.create(req, res, { userId: user.id }); // new id, old session destroyed
    return { user };
  }

  @Post('logout')
  @HttpCode(204)
  logout(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    return this.sessions.destroy(req, res);
  }
}

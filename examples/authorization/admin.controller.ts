// examples/authorization/admin.controller.ts
import { Body, Controller, Get, Param, Post, Put, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Permissions, Public, ReAuth, Roles, SessionService } from 'nest-session-kit';

@Roles('admin')
@Controller('admin')
export class AdminController {
  constructor(private readonly sessions: SessionService) {}

  // Roles are a snapshot in the session, set at login: guarded requests need no database lookup.
  @Public()
  @Post('login')
  login(@Req() req: Request, @Res({ passthrough: true }) res: Response, @Body() body: { user: string; roles: string[] }) {
    return this.sessions.create(req, res, { userId: body.user, roles: body.roles });
  }

  @Get('users')
  users() {
    return [{ id: 'alice', roles: ['user'] }];
  }

  // Sensitive: needs an authentication at most 5 minutes old (401 REAUTH_REQUIRED otherwise).
  @ReAuth()
  @Permissions('users:manage')
  @Put('users/:id/roles')
  async setRoles(@Param('id') id: string, @Body() body: { roles: string[] }) {
    // Reaches every live session of the user at its next request; an elevation also rotates their ids.
    return { sessions: await this.sessions.setRoles(id, body.roles) };
  }
}

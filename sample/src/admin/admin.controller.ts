import { Body, Controller, Get, HttpCode, HttpStatus, Param, ParseUUIDPipe, Post, Put, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { CurrentSession, Public, ReAuth, Roles, SessionView } from '../../../lib';
import type { AccountView } from '../auth/auth.service';
import { ApiException } from '../common/api-exception';
import type { Role } from '../users/user.entity';
import { EventsQueryDto, SetRolesDto } from './admin.dto';
import { AdminEventView, AdminService, AdminUserView } from './admin.service';
import { ImpersonationService, StopImpersonationResult } from './impersonation.service';
import { RateLimited } from '../rate-limit/rate-limit.module';

/** A user id in the path: a UUID, else 400 before anything is looked up. */
const UserId = new ParseUUIDPipe({
  exceptionFactory: () => ApiException.validationFailed({ id: ['id must be a UUID'] }),
});

/** `/admin/...`: every route needs the `admin` role (403 `INSUFFICIENT_ROLE`); changes need a recent authentication. */
@Roles('admin')
@Controller('admin')
export class AdminController {
  constructor(
    private readonly admin: AdminService,
    private readonly impersonation: ImpersonationService,
  ) {}

  /** Users with their roles. */
  @Get('users')
  users(): Promise<AdminUserView[]> {
    return this.admin.listUsers();
  }

  @ReAuth()
  @Put('users/:id/roles')
  setRoles(@Param('id', UserId) id: string, @Body() body: SetRolesDto, @CurrentSession() session: SessionView, @Req() req: Request) {
    return this.admin.setRoles(req, session, id, body.roles as Role[]);
  }

  @RateLimited()
  @Post('users/:id/sessions/revoke')
  @HttpCode(HttpStatus.OK)
  revoke(@Param('id', UserId) id: string, @CurrentSession() session: SessionView, @Req() req: Request) {
    return this.admin.revokeSessions(req, session, id);
  }

  @ReAuth()
  @Post('users/:id/disable')
  @HttpCode(HttpStatus.OK)
  disable(@Param('id', UserId) id: string, @CurrentSession() session: SessionView, @Req() req: Request) {
    return this.admin.disable(req, session, id);
  }

  @ReAuth()
  @Post('users/:id/enable')
  @HttpCode(HttpStatus.OK)
  enable(@Param('id', UserId) id: string, @CurrentSession() session: SessionView, @Req() req: Request) {
    return this.admin.enable(req, session, id);
  }

  @ReAuth()
  @Post('users/:id/impersonate')
  @HttpCode(HttpStatus.OK)
  impersonate(
    @Param('id', UserId) id: string,
    @CurrentSession() session: SessionView,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<AccountView> {
    return this.impersonation.start(req, res, session, id);
  }

  @Get('events')
  events(@Query() query: EventsQueryDto): Promise<AdminEventView[]> {
    return this.admin.listEvents(query);
  }
}

/** `POST /auth/impersonation/stop`. */
@Controller('auth/impersonation')
export class ImpersonationController {
  constructor(private readonly impersonation: ImpersonationService) {}

  /**
   * Public at the guard so an admin whose impersonation session already expired can still get their own session
   * back; the service itself requires an impersonation session or the stashed admin cookie (401 otherwise), and
   * refuses an ordinary session (409 `NOT_IMPERSONATING`).
   */
  @Public()
  @Post('stop')
  @HttpCode(HttpStatus.OK)
  stop(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<StopImpersonationResult> {
    return this.impersonation.stop(req, res);
  }
}

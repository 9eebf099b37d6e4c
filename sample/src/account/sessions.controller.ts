import { Controller, Delete, Get, HttpCode, HttpStatus, Param, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { BruteForceService, CurrentSession, ReAuth, SessionService, SessionView } from '../../../lib';
import { ApiException } from '../common/api-exception';
import { DeviceList, DeviceListing } from '../devices/device-list.service';
import { AlsoAPage } from '../pages/also-a-page.decorator';
import { RateLimited } from '../rate-limit/rate-limit.module';

/** `GET /sessions`, `DELETE /sessions/:handle`: the user's active devices. A browser visiting `/sessions` gets the page. */
@Controller('sessions')
export class SessionsController {
  constructor(
    private readonly sessions: SessionService,
    private readonly devices: DeviceList,
    private readonly bruteForce: BruteForceService,
  ) {}

  /**
   * This user's live sessions, oldest first; `current` marks the one making the request. Besides the library's
   * fields, each says what a person reads: `device` (`Chrome on Linux`), `place` (or null) and `lastActive`
   * (`3 minutes ago`).
   */
  @AlsoAPage('sessions')
  @Get()
  list(@CurrentSession() session: SessionView, @Req() req: Request): Promise<DeviceListing[]> {
    return this.devices.list(session.userId, req);
  }

  /**
   * Ends one of this user's sessions. A handle that is not one of theirs (another user's included) is 404
   * `SESSION_NOT_FOUND`, the same as one that never existed, so handles cannot be probed. Revoking the current
   * session is a logout: its cookie is cleared too. Needs a recent authentication (TE-04). Unknown handles count as
   * failures per user and per (user, IP) (BF-07): after `LOCKOUT_THRESHOLD` (at most 10) the route answers 429.
   */
  @ReAuth()
  @RateLimited()
  @Delete(':handle')
  @HttpCode(HttpStatus.NO_CONTENT)
  async revoke(
    @Param('handle') handle: string,
    @CurrentSession() session: SessionView,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<void> {
    if (handle === session.handle) {
      await this.sessions.destroy(req, res);
      return;
    }
    const attempt = await this.bruteForce.begin(req, res, { scope: 'revoke', account: session.userId });
    if (!(await this.sessions.revoke(session.userId, handle, req))) {
      await this.bruteForce.failed(attempt, session.userId);
      throw ApiException.notFound('SESSION_NOT_FOUND', 'You have no session with this handle.');
    }
    await this.bruteForce.succeeded(attempt);
  }
}

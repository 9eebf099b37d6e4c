import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { CurrentSession, ReAuth, RequireAal, SessionView } from '../../../lib';
import type { TotpEnrolment } from '../../../lib/mfa';
import { ChangePasswordDto, ConfirmTotpDto, RemoveTotpDto } from './account.dto';
import { AccountService, TotpConfirmation } from './account.service';
import { RateLimited } from '../rate-limit/rate-limit.module';

/** The account's credentials: `/account/password`, `/account/mfa/totp`, `/account/security`. */
@Controller('account')
export class AccountController {
  constructor(private readonly account: AccountService) {}

  @ReAuth()
  @RateLimited()
  @Post('password')
  @HttpCode(HttpStatus.NO_CONTENT)
  changePassword(
    @Body() body: ChangePasswordDto,
    @CurrentSession() session: SessionView,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<void> {
    return this.account.changePassword(req, res, session, body);
  }

  /** A new TOTP secret to scan (`{ secret, otpauthUrl, qrDataUrl }`), not active until confirmed. */
  @ReAuth()
  @RateLimited()
  @Post('mfa/totp')
  @HttpCode(HttpStatus.OK)
  startTotp(
    @CurrentSession() session: SessionView,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TotpEnrolment> {
    return this.account.startTotp(req, res, session);
  }

  @ReAuth()
  @RateLimited()
  @Post('mfa/totp/confirm')
  @HttpCode(HttpStatus.OK)
  confirmTotp(
    @Body() body: ConfirmTotpDto,
    @CurrentSession() session: SessionView,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TotpConfirmation> {
    return this.account.confirmTotp(req, res, session, body.code, body.signOutOthers === true);
  }

  @ReAuth()
  @RateLimited()
  @Delete('mfa/totp')
  @HttpCode(HttpStatus.NO_CONTENT)
  removeTotp(
    @Body() body: RemoveTotpDto,
    @CurrentSession() session: SessionView,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<void> {
    return this.account.removeTotp(req, res, session, body?.signOutOthers === true);
  }

  /** Only for a multi-factor session: 403 `MFA_REQUIRED` below `aal: 2`. */
  @RequireAal(2)
  @Get('security')
  security(@CurrentSession() session: SessionView, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    return this.account.security(req, res, session);
  }
}

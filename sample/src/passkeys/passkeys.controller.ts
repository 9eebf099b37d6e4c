import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AllowPendingSession, CurrentSession, ReAuth, SessionView } from '../../../lib';
import type { AccountView } from '../auth/auth.service';
import type { PasskeyListing } from './passkey.entity';
import { PasskeyAssertionDto, PasskeyReauthDto, RegisterPasskeyDto } from './passkeys.dto';
import { PasskeyEnrolment, PasskeysService } from './passkeys.service';
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from './webauthn-types';
import { RateLimited } from '../rate-limit/rate-limit.module';

/** The account's passkeys: enrolment and removal need a recent authentication (RA-01), listing a session. */
@Controller('account/mfa/passkeys')
export class AccountPasskeysController {
  constructor(private readonly passkeys: PasskeysService) {}

  @Get()
  list(@CurrentSession() session: SessionView): Promise<PasskeyListing[]> {
    return this.passkeys.list(session);
  }

  /** Creation options for `navigator.credentials.create()`; the challenge is kept in the session, good once. */
  @ReAuth()
  @RateLimited()
  @Post('options')
  @HttpCode(HttpStatus.OK)
  options(
    @CurrentSession() session: SessionView,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<PublicKeyCredentialCreationOptionsJSON> {
    return this.passkeys.registrationOptions(req, res, session);
  }

  @ReAuth()
  @RateLimited()
  @Post()
  @HttpCode(HttpStatus.CREATED)
  register(
    @Body() body: RegisterPasskeyDto,
    @CurrentSession() session: SessionView,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<PasskeyEnrolment> {
    return this.passkeys.register(req, res, session, body.response, body.name);
  }

  @ReAuth()
  @RateLimited()
  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  remove(
    @Param('id') id: string,
    @CurrentSession() session: SessionView,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<void> {
    return this.passkeys.remove(req, res, session, id);
  }
}

/** The passkey second step of a sign-in that answered `mfaRequired: true`: pending sessions only. */
@RateLimited()
@Controller('auth/mfa/passkey')
export class PasskeyLoginController {
  constructor(private readonly passkeys: PasskeysService) {}

  @AllowPendingSession()
  @Post('options')
  @HttpCode(HttpStatus.OK)
  options(
    @CurrentSession() session: SessionView,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<PublicKeyCredentialRequestOptionsJSON> {
    return this.passkeys.loginOptions(req, res, session);
  }

  @AllowPendingSession()
  @Post()
  @HttpCode(HttpStatus.OK)
  verify(
    @Body() body: PasskeyAssertionDto,
    @CurrentSession() session: SessionView,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<AccountView> {
    return this.passkeys.login(req, res, session, body.response);
  }
}

/**
 * Re-authentication with the password and a passkey, for accounts whose second factor is a passkey (`POST /auth/reauth`
 * takes a TOTP code): 200 with the rotated session at `aal: 2` and a new `authenticatedAt`.
 */
@RateLimited()
@Controller('auth/reauth/passkey')
export class PasskeyReauthController {
  constructor(private readonly passkeys: PasskeysService) {}

  @Post('options')
  @HttpCode(HttpStatus.OK)
  options(
    @CurrentSession() session: SessionView,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<PublicKeyCredentialRequestOptionsJSON> {
    return this.passkeys.reauthOptions(req, res, session);
  }

  @Post()
  @HttpCode(HttpStatus.OK)
  reauth(
    @Body() body: PasskeyReauthDto,
    @CurrentSession() session: SessionView,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<AccountView> {
    return this.passkeys.reauthenticate(req, res, session, body.password, body.response);
  }
}

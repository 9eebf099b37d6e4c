import { Body, Controller, Get, Header, HttpCode, HttpStatus, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import {
  ApiTokenService,
  BearerAuth,
  BearerPrincipal,
  CurrentPrincipal,
  Public,
  SessionTokenResponse,
  SkipCsrf,
  TokenResponse,
} from '../../../lib';
import { ApiException } from '../common/api-exception';
import { RateLimited } from '../rate-limit/rate-limit.module';
import { PublicUser, toPublicUser } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import { ApiAuthService } from './api-auth.service';
import { RefreshRequestDto, RevokeRequestDto, TokenRequestDto } from './api-tokens.dto';

/**
 * The API's token routes. Token answers are never cached (`Cache-Control: no-store`, TK-03). The public ones take no
 * cookie and need no CSRF token (`@SkipCsrf`): nothing a browser sends by itself authenticates them.
 */
@Controller('api/auth')
export class ApiAuthController {
  constructor(
    private readonly auth: ApiAuthService,
    private readonly tokens: ApiTokenService,
  ) {}

  /** `{username, password, otp?}` → a token pair. Counted by the brute-force defence like `POST /auth/login`. */
  @Public()
  @SkipCsrf()
  @Post('token')
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  token(@Body() body: TokenRequestDto, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<TokenResponse> {
    return this.auth.token(req, res, body);
  }

  /** `{refresh_token}` → a new pair; the used token dies, reusing it revokes the family (401 `REFRESH_TOKEN_REUSED`). */
  @Public()
  @SkipCsrf()
  @RateLimited()
  @Post('refresh')
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  refresh(@Body() body: RefreshRequestDto, @Req() req: Request): Promise<TokenResponse> {
    return this.auth.refresh(req, body.refresh_token);
  }

  /** RFC 7009: revokes an access or refresh token; 200 for unknown tokens too. */
  @Public()
  @SkipCsrf()
  @RateLimited()
  @Post('revoke')
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  async revoke(@Body() body: RevokeRequestDto, @Req() req: Request): Promise<Record<string, never>> {
    await this.tokens.revoke(body.token, req);
    return {};
  }

  /**
   * The signed-in browser session (CSRF-checked) → a short-lived access token naming it (`sid`), bound to a
   * fingerprint cookie (TK-09), dying with the session.
   */
  @Post('token-exchange')
  @HttpCode(HttpStatus.OK)
  exchange(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<SessionTokenResponse> {
    return this.tokens.exchangeSession(req, res);
  }
}

/** `GET /api/me` with a bearer token: `{ user }` as `GET /me` answers it. */
@BearerAuth()
@Controller('api/me')
export class ApiMeController {
  constructor(private readonly users: UsersService) {}

  @Get()
  async me(@CurrentPrincipal() principal: BearerPrincipal): Promise<{ user: PublicUser }> {
    // The token proves who; the account as it is now says the rest (a deleted account answers 401).
    const user = await this.users.findActiveById(principal.userId);
    if (!user) throw ApiException.unauthorized('INVALID_TOKEN', 'This account is no longer available. Sign in again.');
    return { user: toPublicUser(user) };
  }
}

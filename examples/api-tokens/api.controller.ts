// examples/api-tokens/api.controller.ts
import { Body, Controller, Get, Header, HttpCode, Post, Req, UnauthorizedException } from '@nestjs/common';
import type { Request } from 'express';
import { ApiTokenService, BearerAuth, BearerPrincipal, CurrentPrincipal, Public, Roles, SkipCsrf } from 'nest-session-kit';

const USERS: Record<string, { password: string; roles: string[] }> = { alice: { password: 'correct horse', roles: ['user'] } };

@Public() // no session: these routes take credentials or tokens in the body, never a cookie...
@SkipCsrf() // ...so no browser can be made to send them by another site.
@Controller('oauth')
export class TokenController {
  constructor(private readonly tokens: ApiTokenService) {}

  @Post('token')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  token(@Body() body: { username: string; password: string }, @Req() req: Request) {
    const user = USERS[body.username];
    // Check passwords with a slow hash and a brute-force defence in a real app (see BruteForceService).
    if (!user || user.password !== body.password) throw new UnauthorizedException();
    return this.tokens.issue({ userId: body.username, roles: user.roles, aal: 1 }, req);
  }

  @Post('refresh')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  refresh(@Body() body: { refresh_token: string }, @Req() req: Request) {
    // The user's roles now, looked up again: a role removed since the sign-in does not linger.
    return this.tokens.refresh(body.refresh_token, { roles: async (userId) => USERS[userId]?.roles ?? null }, req);
  }

  @Post('revoke')
  @HttpCode(200)
  async revoke(@Body() body: { token: string }, @Req() req: Request) {
    await this.tokens.revoke(body.token, req); // RFC 7009: unknown tokens are fine
    return {};
  }
}

@BearerAuth() // Authorization: Bearer <access token>; @Roles, @ReAuth and @RequireAal work as with sessions
@Controller('api')
export class ApiController {
  @Get('me')
  me(@CurrentPrincipal() principal: BearerPrincipal) {
    return { user: principal.userId, roles: principal.roles };
  }

  @Roles('admin')
  @Get('admin')
  admin() {
    return { ok: true };
  }
}

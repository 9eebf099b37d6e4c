// examples/csrf/shop.controller.ts
import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { CsrfService, Public, SessionService, SkipCsrf } from 'nest-session-kit';

@Controller()
export class ShopController {
  constructor(
    private readonly sessions: SessionService,
    private readonly csrf: CsrfService,
  ) {}

  // Pages fetch their token here and send it back in `x-csrf-token`. Before sign-in it is bound to a pre-login
  // nonce cookie, so the login below is protected too; after sign-in, to the session.
  @Public()
  @Get('auth/csrf')
  async token(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    return { token: await this.csrf.token(req, res) };
  }

  // @Public() does not exempt a route from the CSRF check: a forged login is refused (login CSRF).
  @Public()
  @Post('auth/login')
  @HttpCode(200)
  async login(@Req() req: Request, @Res({ passthrough: true }) res: Response, @Body() body: { user: string }) {
    await this.sessions.create(req, res, { userId: body.user });
    return { ok: true };
  }

  @Post('cart/items')
  @HttpCode(200)
  async add(@Req() req: Request, @Body() body: { sku: string }) {
    const view = await this.sessions.update(req, (data) => ({ ...data, cart: [...((data.cart as string[]) ?? []), body.sku] }));
    return { cart: view.data.cart };
  }

  // A webhook: signed by its sender, never sent by a browser with the user's cookies.
  @Public()
  @SkipCsrf()
  @Post('webhooks/payments')
  @HttpCode(200)
  paid() {
    return { received: true };
  }
}

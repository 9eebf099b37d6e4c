import { Controller, Get, HttpStatus, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Public, Roles, SessionService } from '../../../lib';
import { Page } from './page.decorators';
import { PageRenderer } from './page-renderer';

/** The pages that have no JSON twin: `/login`, `/account` and `/admin`. (`/sessions`, `/cart`, `/wizard` share their JSON route's URL.) */
@Controller()
export class PagesController {
  constructor(
    private readonly pages: PageRenderer,
    private readonly sessions: SessionService,
  ) {}

  /** `/` has nothing of its own: send people to their account (or, without a session, to sign in). */
  @Page('account')
  @Get()
  home(@Res() res: Response): void {
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(HttpStatus.SEE_OTHER, '/account');
  }

  /**
   * The sign-in form; a visitor who is already signed in goes to their account. A pending sign-in (second factor
   * due) stays here: `/account` would send it back, in a loop.
   */
  @Public()
  @Page('login')
  @Get('login')
  async login(@Req() req: Request, @Res() res: Response): Promise<void> {
    if ((await this.sessions.current(req, res))?.stage === 'complete') {
      res.setHeader('Cache-Control', 'no-store');
      res.redirect(HttpStatus.SEE_OTHER, '/account');
      return;
    }
    res.send(this.pages.login(res));
  }

  @Page('account')
  @Get('account')
  account(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<string> {
    return this.pages.render('account', req, res);
  }

  /** Administration: the `admin` role, as for the JSON routes it calls. */
  @Roles('admin')
  @Page('admin')
  @Get('admin')
  adminPage(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<string> {
    return this.pages.render('admin', req, res);
  }
}

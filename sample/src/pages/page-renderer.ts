import { Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { SessionRequiredException, SessionService, SessionView } from '../../../lib';
import { AuthService } from '../auth/auth.service';
import { toSessionSummary } from '../auth/session-summary';
import { CartService } from '../cart/cart.service';
import { DEFAULT_PREFERENCES, PreferencesService } from '../preferences/preferences.service';
import { LoginRedirect } from '../common/login-redirect';
import { toPublicUser, User } from '../users/user.entity';
import { WizardService } from '../wizard/wizard.service';
import { PageName } from './page.decorators';
import { accountPage, cartPage, loginPage, PageContext, sessionsPage, wizardPage } from './views';

/** Content type of every page. */
export const HTML_CONTENT_TYPE = 'text/html; charset=utf-8';

/**
 * Renders the pages from the same services the JSON routes use, so a page always shows what the API would
 * answer. Pages never cache (`no-store`): they show one user's data.
 */
@Injectable()
export class PageRenderer {
  constructor(
    private readonly sessions: SessionService,
    private readonly auth: AuthService,
    private readonly preferences: PreferencesService,
    private readonly cart: CartService,
    private readonly wizard: WizardService,
  ) {}

  /** The sign-in page (the request may have no session). */
  login(res: Response): string {
    prepare(res);
    return loginPage({ nonce: nonceOf(res), preferences: DEFAULT_PREFERENCES });
  }

  /** A signed-in page. The session guard has loaded the session before this runs. */
  async render(page: Exclude<PageName, 'login'>, req: Request, res: Response): Promise<string> {
    prepare(res);
    const session = this.sessions.peek(req) as SessionView;
    const user = toPublicUser(await this.requireUser(req, res, session));
    const ctx: PageContext & { user: typeof user } = { nonce: nonceOf(res), user, preferences: this.preferences.view(session) };
    switch (page) {
      case 'account':
        return accountPage(ctx, toSessionSummary(session));
      case 'sessions':
        return sessionsPage(ctx, await this.sessions.list(session.userId, req));
      case 'cart':
        return cartPage(ctx, this.cart.view(session));
      case 'wizard':
        return wizardPage(ctx, this.wizard.view(session));
    }
  }

  /** Like `AuthService.requireUser`, but a person whose account went away is sent to the login page. */
  private async requireUser(req: Request, res: Response, session: SessionView): Promise<User> {
    try {
      return await this.auth.requireUser(req, res, session);
    } catch (error) {
      if (error instanceof SessionRequiredException) throw new LoginRedirect();
      throw error;
    }
  }
}

function prepare(res: Response): void {
  res.setHeader('Content-Type', HTML_CONTENT_TYPE);
  res.setHeader('Cache-Control', 'no-store');
}

/** The nonce the CSP middleware put on this response (see `configureHttp`). */
function nonceOf(res: Response): string {
  return (res.locals as { cspNonce: string }).cspNonce;
}

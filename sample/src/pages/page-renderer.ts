import { Inject, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { CsrfService, SECURITY_EVENT_TYPES, SessionService, SessionView } from '../../../lib';
import { AdminService } from '../admin/admin.service';
import { impersonatorOf, toSessionSummary, userOfSession } from '../auth/session-summary';
import { CartService } from '../cart/cart.service';
import { DeviceList } from '../devices/device-list.service';
import type { ApiErrorBody } from '../common/api-exception';
import { LoginRedirect } from '../common/login-redirect';
import { DEFAULT_PREFERENCES, PreferencesService } from '../preferences/preferences.service';
import { UsersService } from '../users/users.service';
import { WizardService } from '../wizard/wizard.service';
import type { SampleConfig } from '../config';
import { SAMPLE_CONFIG } from '../sample-config.token';
import { PageName } from './page.decorators';
import { isUUID } from 'class-validator';
import { MetricsDashboard } from '../metrics/metrics-dashboard';
import {
  accountPage,
  AdminEventFilter,
  AdminMetrics,
  adminPage,
  cartPage,
  errorPage,
  loginPage,
  PageContext,
  sessionsPage,
  wizardPage,
} from './views';

/** Content type of every page. */
export const HTML_CONTENT_TYPE = 'text/html; charset=utf-8';

/** Security events the admin page shows. */
const ADMIN_PAGE_EVENTS = 20;

/**
 * Renders the pages from the same services the JSON routes use, so a page always shows what the API would
 * answer. Who is signed in comes from the session (roles snapshot, username kept at sign-in), as for `/me`.
 * Pages never cache (`no-store`): they show one user's data.
 */
@Injectable()
export class PageRenderer {
  constructor(
    private readonly sessions: SessionService,
    private readonly users: UsersService,
    private readonly admin: AdminService,
    private readonly preferences: PreferencesService,
    private readonly cart: CartService,
    private readonly wizard: WizardService,
    private readonly devices: DeviceList,
    private readonly csrf: CsrfService,
    @Inject(SAMPLE_CONFIG) private readonly config: SampleConfig,
    private readonly dashboard: MetricsDashboard,
  ) {}

  /** The sign-in page (the request may have no session). */
  login(res: Response): string {
    prepare(res);
    // OIDC_ISSUER: a "Sign in with <provider host>" link (the host name, escaped by the template like any text).
    const oidcProvider = this.config.oidc ? new URL(this.config.oidc.issuer).host : undefined;
    return loginPage({ nonce: nonceOf(res), preferences: DEFAULT_PREFERENCES }, oidcProvider);
  }

  /** A signed-in page. The guards have loaded the session (and checked roles) before this runs. */
  async render(page: Exclude<PageName, 'login'>, req: Request, res: Response): Promise<string> {
    prepare(res);
    const session = this.sessions.peek(req) as SessionView;
    const user = userOfSession(session);
    const ctx: PageContext & { user: typeof user } = {
      nonce: nonceOf(res),
      user,
      impersonator: impersonatorOf(session),
      preferences: this.preferences.view(session),
      csrfToken: this.csrf.tokenFor(session),
    };
    switch (page) {
      case 'account':
        return accountPage(ctx, toSessionSummary(session), await this.security(session));
      case 'sessions':
        return sessionsPage(ctx, await this.devices.list(session.userId, req));
      case 'cart':
        return cartPage(ctx, this.cart.view(session));
      case 'wizard':
        return wizardPage(ctx, this.wizard.view(session));
      case 'admin': {
        const filter = adminEventFilter(req);
        const events = await this.admin.listEvents({ userId: filter.userId, type: filter.type, limit: ADMIN_PAGE_EVENTS });
        const users = await this.admin.listUsers();
        return adminPage(ctx, users, events, filter, await this.adminMetrics(users));
      }
    }
  }

  /**
   * The error page of a failed page request (the caller sets the status). Synchronous and without database reads,
   * so the exception filter can use it for any failure: who is signed in comes from the session the guard loaded, if
   * any (a pending one shows as nobody).
   */
  error(req: Request, res: Response, error: ApiErrorBody): string {
    const session = this.sessions.peek(req);
    const ctx: PageContext =
      session?.stage === 'complete'
        ? {
            nonce: nonceOf(res),
            user: userOfSession(session),
            impersonator: impersonatorOf(session),
            preferences: this.preferences.view(session),
            csrfToken: this.csrf.tokenFor(session),
          }
        : { nonce: nonceOf(res), preferences: DEFAULT_PREFERENCES };
    const page = errorPage(ctx, error);
    // Only once the page exists: if rendering throws, the filter still answers JSON under a JSON content type.
    prepare(res);
    return page;
  }

  /** The dashboard's figures, or `undefined` with METRICS_ENABLED=false. */
  private async adminMetrics(users: { id: string }[]): Promise<AdminMetrics | undefined> {
    const summary = await this.dashboard.summary();
    if (summary === undefined) return undefined;
    const live = await Promise.all(users.map((u) => this.sessions.list(u.id)));
    return { summary, sessionsActive: live.reduce((n, sessions) => n + sessions.length, 0) };
  }

  /** The second-factor state for the account page: the one page that reads the account itself. */
  private async security(session: SessionView): Promise<{ totpEnabled: boolean; recoveryCodesLeft: number }> {
    const account = await this.users.findActiveById(session.userId);
    if (!account) {
      await this.sessions.destroyAllForUser(session.userId, { reason: 'account_unavailable' });
      throw new LoginRedirect();
    }
    return { totpEnabled: account.totpSecret !== null, recoveryCodesLeft: account.recoveryCodeHashes?.length ?? 0 };
  }
}

/**
 * The `/admin` page's event filter from its query string, validated as `GET /admin/events` validates it (a UUID, a
 * known event type). A page does not answer 400: what is invalid is ignored, and the page says so.
 */
function adminEventFilter(req: Request): AdminEventFilter {
  const filter: AdminEventFilter = { invalid: [] };
  const { userId, type } = req.query;
  if (typeof userId === 'string' && userId !== '') {
    if (isUUID(userId)) filter.userId = userId;
    else filter.invalid!.push('user');
  }
  if (typeof type === 'string' && type !== '') {
    if ((SECURITY_EVENT_TYPES as readonly string[]).includes(type)) filter.type = type;
    else filter.invalid!.push('event type');
  }
  return filter;
}

function prepare(res: Response): void {
  res.setHeader('Content-Type', HTML_CONTENT_TYPE);
  res.setHeader('Cache-Control', 'no-store');
}

/** The nonce the CSP middleware put on this response (see `configureHttp`). */
function nonceOf(res: Response): string {
  return (res.locals as { cspNonce: string }).cspNonce;
}

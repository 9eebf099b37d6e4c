import { ExecutionContext, HttpException, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ResolveOutcome, SessionAuthGuard } from '../../../lib';
import { LoginRedirect } from '../common/login-redirect';
import { prefersHtml } from '../pages/negotiation';
import { HtmlAlternative, Page } from '../pages/page.decorators';
import { markPageRequest } from '../pages/page-request';

/** What a route is to a browser: a page (`@Page`), a JSON route that is also a page (`@HtmlAlternative`), or neither. */
type PageKind = 'page' | 'alternative' | 'none';

/**
 * The library's `SessionAuthGuard`, registered with `APP_GUARD` so every route needs a session unless marked
 * `@Public()`. It only changes what a refusal means for a person's browser: a page request (`@Page`, or
 * `@HtmlAlternative` asked for as HTML) is redirected to the login page instead of getting a JSON 401. This is the
 * `protected` hook the library offers for such adaptations. A pending sign-in (second factor due) asking for a page
 * goes to the login page too, where the code form is (`pendingRejection()`).
 *
 * Being the first guard of every request, it also marks page requests (`markPageRequest`), so that a later refusal
 * (403 `INSUFFICIENT_ROLE` from the roles guard, 403 `MFA_REQUIRED`) or failure reaches the browser as an HTML page
 * in the site's layout, while JSON routes keep their JSON error.
 */
@Injectable()
export class PageAwareSessionGuard extends SessionAuthGuard {
  /**
   * Route metadata is static: read once per handler (the sample's controllers are not inherited, so the handler
   * names the route), not on every request.
   */
  private readonly pageKinds = new WeakMap<object, PageKind>();

  override canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    // Before the checks: a refusal or failure inside them (503 when the store is down) is answered as a page too.
    if (this.isPageRequest(context)) markPageRequest(context.switchToHttp().getResponse<Response>());
    return super.canActivate(context);
  }

  protected override pendingRejection(context: ExecutionContext): HttpException {
    if (this.isPageRequest(context)) return new LoginRedirect();
    return super.pendingRejection(context);
  }

  protected override rejection(outcome: Exclude<ResolveOutcome, { kind: 'active' }>, context: ExecutionContext): HttpException {
    if (this.isPageRequest(context)) return new LoginRedirect();
    return super.rejection(outcome, context);
  }

  /** True for a browser asking for a page. */
  protected isPageRequest(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return false;
    const kind = this.pageKind(context);
    return kind === 'page' || (kind === 'alternative' && prefersHtml(context.switchToHttp().getRequest<Request>()));
  }

  private pageKind(context: ExecutionContext): PageKind {
    const handler = context.getHandler();
    let kind = this.pageKinds.get(handler);
    if (kind === undefined) {
      const targets = [handler, context.getClass()];
      kind =
        this.reflector.getAllAndOverride(Page, targets) !== undefined
          ? 'page'
          : this.reflector.getAllAndOverride(HtmlAlternative, targets) !== undefined
            ? 'alternative'
            : 'none';
      this.pageKinds.set(handler, kind);
    }
    return kind;
  }
}

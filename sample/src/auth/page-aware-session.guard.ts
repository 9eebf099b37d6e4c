import { ExecutionContext, HttpException, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { ResolveOutcome, SessionAuthGuard, SessionPendingException } from '../../../lib';
import { LoginRedirect } from '../common/login-redirect';
import { prefersHtml } from '../pages/negotiation';
import { HtmlAlternative, Page } from '../pages/page.decorators';

/**
 * The library's `SessionAuthGuard`, registered with `APP_GUARD` so every route needs a session unless marked
 * `@Public()`. It only changes what a missing session means for a person's browser: a page request
 * (`@Page`, or `@HtmlAlternative` asked for as HTML) is redirected to the login page instead of getting a
 * JSON 401. This is the `protected` hook the library offers for such adaptations. A pending sign-in (second factor
 * due) asking for a page goes to the login page too, where the code form is: the library refuses it without calling
 * `rejection()`, so `canActivate` translates that one refusal.
 */
@Injectable()
export class PageAwareSessionGuard extends SessionAuthGuard {
  override canActivate(context: ExecutionContext): Promise<boolean> {
    return super.canActivate(context).catch((error: unknown) => {
      if (error instanceof SessionPendingException && this.isPageRequest(context)) throw new LoginRedirect();
      throw error;
    });
  }

  protected override rejection(outcome: Exclude<ResolveOutcome, { kind: 'active' }>, context: ExecutionContext): HttpException {
    if (this.isPageRequest(context)) return new LoginRedirect();
    return super.rejection(outcome, context);
  }

  /** True for a browser asking for a page. */
  protected isPageRequest(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride(Page, targets) !== undefined) return true;
    return (
      this.reflector.getAllAndOverride(HtmlAlternative, targets) !== undefined && prefersHtml(context.switchToHttp().getRequest<Request>())
    );
  }
}

import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { ModuleRef, Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { from, Observable } from 'rxjs';
import { prefersHtml } from './negotiation';
import { HtmlAlternative } from './page.decorators';
import { PageRenderer } from './page-renderer';

/**
 * Serves the page instead of the JSON on `@HtmlAlternative` routes when the client prefers HTML. Runs after
 * the guards, so the session is already checked (and a visitor without one already redirected).
 *
 * Bound per route by `@HtmlAlternative()` (page.decorators.ts), not globally: any interceptor makes Nest wrap
 * the handler in rxjs and `AsyncResource.bind` on every request, about a sixth of the sample's `GET /me` CPU when
 * it was an APP_INTERCEPTOR. The renderer is looked up lazily, so the routes' own modules need not import the
 * pages module (which imports theirs).
 */
@Injectable()
export class PageInterceptor implements NestInterceptor {
  private renderer?: PageRenderer;

  constructor(
    private readonly reflector: Reflector,
    private readonly moduleRef: ModuleRef,
  ) {}

  private get pages(): PageRenderer {
    return (this.renderer ??= this.moduleRef.get(PageRenderer, { strict: false }));
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const page = this.reflector.getAllAndOverride(HtmlAlternative, [context.getHandler(), context.getClass()]);
    if (page === undefined) return next.handle();
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    // The answer depends on Accept: shared caches must not hand the JSON to a browser or the page to fetch().
    res.vary('Accept');
    if (page === 'login' || !prefersHtml(req)) return next.handle();
    return from(this.pages.render(page, req, res));
  }
}

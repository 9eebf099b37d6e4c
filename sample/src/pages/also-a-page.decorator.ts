import { applyDecorators, UseInterceptors } from '@nestjs/common';
import { HtmlAlternative, PageName } from './page.decorators';
import { PageInterceptor } from './page.interceptor';

/**
 * A JSON route whose URL is also page `name` (see {@link HtmlAlternative}): marks it, and binds the interceptor
 * that renders the page for browsers, on this route only.
 *
 * @example @AlsoAPage('cart') @Get() cart() { ... }
 */
export const AlsoAPage = (name: PageName): MethodDecorator & ClassDecorator =>
  applyDecorators(HtmlAlternative(name), UseInterceptors(PageInterceptor));

import { Reflector } from '@nestjs/core';

/** The server-rendered pages of the sample. */
export type PageName = 'login' | 'account' | 'sessions' | 'cart' | 'wizard' | 'admin';

/**
 * Marks an HTML-only page route. Visited without a session it redirects (303) to `/login` instead of
 * answering 401.
 *
 * @example @Page('account') @Get('account') account() { ... }
 */
export const Page = Reflector.createDecorator<PageName>({ key: 'sample:page' });

/**
 * Marks a JSON route whose URL is also a page: a browser navigating there (asking for `text/html`) gets page
 * `name` rendered instead of the JSON, and is redirected to `/login` without a session; `fetch()` and API
 * clients (asking for JSON or anything) get the JSON. One URL per resource, as the contract lists them.
 *
 * @example @HtmlAlternative('cart') @Get() cart() { ... }
 */
export const HtmlAlternative = Reflector.createDecorator<PageName>({ key: 'sample:html-alternative' });

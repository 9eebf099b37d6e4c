import type { Request } from 'express';

/**
 * True when the client prefers HTML to JSON. Browsers navigating send `Accept: text/html,...,*\/*;q=0.8`;
 * `fetch()`, curl and most HTTP libraries send `*\/*` or `application/json`, for which JSON wins (it is listed
 * first, so it takes ties).
 */
export function prefersHtml(req: Request): boolean {
  return req.accepts(['application/json', 'text/html']) === 'text/html';
}

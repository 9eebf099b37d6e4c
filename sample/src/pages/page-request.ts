import type { Response } from 'express';

/** The `res.locals` key that says "a person's browser asked for a page here". */
const PAGE_REQUEST = 'pageRequest';

/**
 * Marks the response of a page request (set by the session guard, which knows the route), so that an error on it
 * is answered with an HTML page (`ApiExceptionFilter`): an exception filter cannot see which route it came from.
 */
export function markPageRequest(res: Response): void {
  res.locals[PAGE_REQUEST] = true;
}

/** True when {@link markPageRequest} marked this response. */
export function isPageRequest(res: Response): boolean {
  return res.locals[PAGE_REQUEST] === true;
}

import type { ResolvedSessionOptions } from '../session.options';
import type { HttpRequestLike, HttpResponseLike } from './http-types';

/** What reading the session cookie found. */
export type CookieReading =
  | { kind: 'absent' }
  /** More than one cookie with our name (cookie tossing or a stale path-scoped copy): trust none of them. */
  | { kind: 'ambiguous' }
  | { kind: 'present'; value: string };

/**
 * Reads and writes the session cookie, and nothing else: the session id is accepted ONLY from this cookie
 * (never from the URL, a query parameter, another header or a body).
 */
export class CookiePolicy {
  private readonly setValuePrefix: string;
  private readonly attributes: string;

  constructor(private readonly options: ResolvedSessionOptions['cookie']) {
    const parts = [`Path=${options.path}`];
    if (options.domain) parts.push(`Domain=${options.domain}`);
    if (options.httpOnly) parts.push('HttpOnly');
    if (options.secure) parts.push('Secure');
    parts.push(`SameSite=${options.sameSite[0].toUpperCase()}${options.sameSite.slice(1)}`);
    this.attributes = parts.join('; ');
    this.setValuePrefix = `${options.name}=`;
  }

  /** The cookie name. */
  get name(): string {
    return this.options.name;
  }

  /** Finds our cookie in the `Cookie` header without parsing the others. */
  read(req: HttpRequestLike): CookieReading {
    const header = req.headers.cookie;
    if (typeof header !== 'string' || header.length === 0) return { kind: 'absent' };
    const name = this.options.name;
    let found: string | undefined;
    let from = 0;
    while (from < header.length) {
      const end = header.indexOf(';', from);
      const stop = end === -1 ? header.length : end;
      let start = from;
      while (start < stop && header.charCodeAt(start) === 32) start++;
      if (header.startsWith(name, start) && header.charCodeAt(start + name.length) === 61 /* = */) {
        if (found !== undefined) return { kind: 'ambiguous' };
        found = header.slice(start + name.length + 1, stop).trim();
        if (found.length >= 2 && found.startsWith('"') && found.endsWith('"')) found = found.slice(1, -1);
      }
      from = stop + 1;
    }
    return found === undefined ? { kind: 'absent' } : { kind: 'present', value: found };
  }

  /** Sets the session cookie (on create and rotation only). */
  set(res: HttpResponseLike, token: string): void {
    const maxAge = this.options.maxAgeMs === undefined ? '' : `; Max-Age=${Math.floor(this.options.maxAgeMs / 1000)}`;
    appendSetCookie(res, `${this.setValuePrefix}${token}; ${this.attributes}${maxAge}`);
  }

  /** Tells the browser to drop the cookie (logout, or a cookie that names no live session). */
  clear(res: HttpResponseLike): void {
    appendSetCookie(res, `${this.setValuePrefix}; ${this.attributes}; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT`);
  }
}

function appendSetCookie(res: HttpResponseLike, value: string): void {
  if (res.headersSent) return;
  const existing = res.getHeader('Set-Cookie');
  const name = value.slice(0, value.indexOf('=') + 1);
  // One Set-Cookie per name per response: a later decision (e.g. logout after a rotation) replaces the earlier.
  const others = (existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)]).filter((c) => !c.startsWith(name));
  res.setHeader('Set-Cookie', [...others, value]);
}

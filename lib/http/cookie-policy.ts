import type { SessionRecord } from '../core/session-record';
import type { ResolvedSessionOptions } from '../session.options';
import type { HttpRequestLike, HttpResponseLike } from './http-types';
import { headersSent, responseHeader, setResponseHeader } from './response-headers';

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

  /**
   * The cookie lifetime (ms) for `session` at `now`, never past its absolute deadline (the cookie never outlives
   * the session, and never enforces a timeout either: the server does):
   * - a `remember` session: a persistent cookie for the rest of its absolute lifetime;
   * - any other: the configured `cookie.maxAge` if any, capped at the rest of its absolute lifetime, else
   *   `undefined` (a session cookie, dropped when the browser closes).
   */
  maxAgeFor(session: Pick<SessionRecord, 'tier' | 'absoluteExpiresAt'>, now: number): number | undefined {
    const remaining = Math.max(0, session.absoluteExpiresAt - now);
    if (session.tier === 'remember') return remaining;
    return this.options.maxAgeMs === undefined ? undefined : Math.min(this.options.maxAgeMs, remaining);
  }

  /**
   * Sets the session cookie (on create and rotation only). `maxAgeMs` (ms) makes it persistent for that long
   * (rounded down to whole seconds); without it the configured `cookie.maxAge` applies, and without that it is a
   * session cookie. Pass {@link maxAgeFor}'s answer for the session being set.
   */
  set(res: HttpResponseLike, token: string, maxAgeMs: number | undefined = this.options.maxAgeMs): void {
    const maxAge = maxAgeMs === undefined ? '' : `; Max-Age=${Math.floor(maxAgeMs / 1000)}`;
    appendSetCookie(res, `${this.setValuePrefix}${token}; ${this.attributes}${maxAge}`);
  }

  /**
   * The bytes of the `Set-Cookie` line {@link set} writes for `token`, counted with the longest `Max-Age` (10 digits)
   * whether or not it has one: a conservative figure, for checking a cookie against the browsers' 4096-byte limit.
   */
  headerBytes(token: string): number {
    return Buffer.byteLength(`${this.setValuePrefix}${token}; ${this.attributes}; Max-Age=9999999999`, 'utf8');
  }

  /** Tells the browser to drop the cookie (logout, or a cookie that names no live session). */
  clear(res: HttpResponseLike): void {
    appendSetCookie(res, `${this.setValuePrefix}; ${this.attributes}; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT`);
  }
}

/** Adds a `Set-Cookie` line, replacing an earlier one for the same cookie name in this response. */
export function appendSetCookie(res: HttpResponseLike, value: string): void {
  if (headersSent(res)) return;
  const existing = responseHeader(res, 'Set-Cookie');
  const name = value.slice(0, value.indexOf('=') + 1);
  // One Set-Cookie per name per response: a later decision (e.g. logout after a rotation) replaces the earlier.
  const others = (existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)]).filter((c) => !c.startsWith(name));
  setResponseHeader(res, 'Set-Cookie', [...others, value]);
}

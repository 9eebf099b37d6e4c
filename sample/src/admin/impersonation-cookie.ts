import { parse } from 'cookie';
import type { Request, Response } from 'express';
import type { HttpRequestLike } from '../../../lib';

/**
 * The cookie in which an admin's browser keeps its own session token while it impersonates someone (see
 * `ImpersonationService`): HttpOnly, SameSite=Strict, sent only to `/auth/impersonation`. Plain functions, so that
 * sign-out (AuthModule) can clear it without depending on the admin module.
 */
export class ImpersonationCookie {
  static readonly PATH = '/auth/impersonation';
  /** A session token as the module issues them; anything else in the cookie is ignored. */
  private static readonly TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

  readonly name: string;

  constructor(
    private readonly sessionCookieName: string,
    private readonly secure: boolean,
  ) {
    // `__Secure-` rather than `__Host-`: the latter forbids a Path, and this cookie must not travel everywhere.
    this.name = secure ? '__Secure-sid-admin' : 'sid-admin';
  }

  /** Keeps `token` in the browser. */
  set(res: Response, token: string): void {
    appendCookie(res, `${this.name}=${token}; Path=${ImpersonationCookie.PATH}; HttpOnly${this.secure ? '; Secure' : ''}; SameSite=Strict`);
  }

  /** Tells the browser to drop it. */
  clear(res: Response): void {
    appendCookie(
      res,
      `${this.name}=; Path=${ImpersonationCookie.PATH}; HttpOnly${this.secure ? '; Secure' : ''}; SameSite=Strict; Max-Age=0`,
    );
  }

  /** The stashed token, if the request carries a well-formed one. */
  read(req: Request): string | undefined {
    const value = readCookie(req, this.name);
    return value !== undefined && ImpersonationCookie.TOKEN_SHAPE.test(value) ? value : undefined;
  }

  /**
   * A copy of the request's client facts (IP, user agent) with only the given session cookie, or none: what the
   * session module sees for a request from this browser holding that token.
   */
  requestWith(req: Request, token: string | undefined): HttpRequestLike {
    const headers: HttpRequestLike['headers'] = { 'user-agent': req.headers['user-agent'] };
    if (token !== undefined) headers.cookie = `${this.sessionCookieName}=${token}`;
    return { headers, ip: req.ip, socket: req.socket };
  }
}

/** A cookie of the request by name. */
export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  return header ? parse(header)[name] : undefined;
}

/** The response's Set-Cookie lines so far. */
export function setCookieLines(res: Response): string[] {
  const existing = res.getHeader('Set-Cookie');
  return existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
}

/** Adds a Set-Cookie line, replacing an earlier one for the same name (the last decision wins, as in the module). */
export function appendCookie(res: Response, line: string): void {
  const name = line.slice(0, line.indexOf('=') + 1);
  res.setHeader('Set-Cookie', [...setCookieLines(res).filter((l) => !l.startsWith(name)), line]);
}

import { Inject, Injectable, Logger } from '@nestjs/common';
import { CookiePolicy } from '../http/cookie-policy';
import type { HttpRequestLike, HttpResponseLike } from '../http/http-types';
import { headersSent, setResponseHeader } from '../http/response-headers';
import { RESOLVED_SESSION_OPTIONS } from '../session.module-definition';
import type { ResolvedSessionOptions } from '../session.options';
import { SessionService, SessionView } from '../session.service';
import { CsrfContext, CsrfTokens } from './csrf-tokens';
import type { ResolvedCsrfOptions } from './csrf.options';

/**
 * Issues and checks CSRF tokens (see {@link CsrfTokens}): bound to the request's session once signed in, else to
 * the pre-login nonce cookie. Give pages their token from a route of yours:
 *
 * @example
 * @Public() @Get('auth/csrf')
 * async csrf(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
 *   return { token: await this.csrf.token(req, res) };
 * }
 *
 * Tokens never go in URLs: send them in the `x-csrf-token` header (or the `_csrf` field of a form post).
 */
@Injectable()
export class CsrfService {
  private readonly logger = new Logger('CsrfGuard');
  private readonly tokens: CsrfTokens;
  private readonly nonceCookie: CookiePolicy;
  private readonly sessionCookie: CookiePolicy;
  private warned = false;
  private readonly generatedSecret: boolean;
  /** The validated `csrf` options the checks read (the secrets stay inside this service). */
  readonly options: Readonly<Omit<ResolvedCsrfOptions, 'secrets' | 'generatedSecret'>>;

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) options: ResolvedSessionOptions,
    private readonly sessions: SessionService,
  ) {
    const { secrets, generatedSecret, ...policy } = options.csrf;
    this.options = policy;
    this.generatedSecret = generatedSecret;
    this.tokens = new CsrfTokens(secrets);
    this.nonceCookie = new CookiePolicy({
      name: options.csrf.cookie.name,
      secure: options.csrf.cookie.secure,
      httpOnly: true,
      sameSite: 'lax',
      path: '/',
    });
    this.sessionCookie = new CookiePolicy(options.cookie);
  }

  /**
   * A token for the request's context: its session if it has a live one, else its pre-login nonce, which is
   * created (and set as an HttpOnly cookie) when the request has none. Marks the response `no-store`. Each call
   * answers a different token; every one stays valid as long as its context does.
   */
  async token(req: HttpRequestLike, res: HttpResponseLike): Promise<string> {
    this.warnOnce();
    if (!headersSent(res)) setResponseHeader(res, 'Cache-Control', 'no-store');
    const session = await this.sessions.current(req, res);
    if (session) return this.tokens.issue(sessionContext(session));
    let nonce = this.nonceOf(req);
    if (nonce === undefined) {
      nonce = CsrfTokens.newNonce();
      this.nonceCookie.set(res, nonce);
    }
    return this.tokens.issue({ kind: 'nonce', nonce });
  }

  /**
   * A token for `session` (the view `SessionAuthGuard` loaded, e.g. from `@CurrentSession()` or
   * `SessionService.peek()`): synchronous, for pages rendered on the server with the token in a form field or a
   * `<meta>` tag. No cookie, no store access.
   */
  tokenFor(session: SessionView): string {
    this.warnOnce();
    return this.tokens.issue(sessionContext(session));
  }

  /**
   * Whether `token` belongs to `session` (the request's live session), or, when it has none, to the request's
   * pre-login nonce. Constant-time comparison.
   */
  verify(req: HttpRequestLike, session: SessionView | null, token: unknown): boolean {
    this.warnOnce();
    if (session) return this.tokens.verify(token, sessionContext(session));
    const nonce = this.nonceOf(req);
    return nonce !== undefined && this.tokens.verify(token, { kind: 'nonce', nonce });
  }

  /** True when the request carries the session cookie (present, even if it names no live session). */
  hasSessionCookie(req: HttpRequestLike): boolean {
    return this.sessionCookie.read(req).kind !== 'absent';
  }

  /** The pre-login nonce of the request; a malformed or repeated cookie (tossed from a sibling host) counts as none. */
  private nonceOf(req: HttpRequestLike): string | undefined {
    const reading = this.nonceCookie.read(req);
    return reading.kind === 'present' && CsrfTokens.isNonce(reading.value) ? reading.value : undefined;
  }

  private warnOnce(): void {
    if (!this.generatedSecret || this.warned) return;
    this.warned = true;
    this.logger.warn(
      'csrf.secret is not set: CSRF tokens are signed with a random key of this process, so they die at every restart and another instance refuses them. Set csrf.secret to 32 or more random bytes shared by every instance.',
    );
  }
}

/** The context of a session's tokens: fields stable across periodic rotation, changed by login and privilege changes. */
function sessionContext(session: SessionView): CsrfContext {
  return {
    kind: 'session',
    handle: session.handle,
    rolesVersion: session.rolesVersion,
    aal: session.aal,
    stage: session.stage,
    authenticatedAt: session.authenticatedAt,
  };
}

import { Inject, Injectable } from '@nestjs/common';
import { parse, serialize } from 'cookie';
import type { Request, Response } from 'express';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SessionService } from '../../../lib';
import type { SampleConfig } from '../config';
import { SAMPLE_CONFIG } from '../sample-config.token';

const NONCE_SHAPE = /^[A-Za-z0-9_-]{22}$/;

/**
 * CSRF tokens for the pages' `x-csrf-token` header (OWASP "signed double-submit", HMAC variant).
 *
 * A token is the HMAC-SHA256, under a secret only the server knows, of what identifies the caller's context:
 * the session's handle once signed in (stable across id rotation, so a page's token survives it), or before
 * sign-in a random nonce kept in an HttpOnly cookie, so the login form is protected too (login CSRF). A site
 * that cannot read our responses cannot compute either.
 *
 * The secret is random per process: a restart invalidates outstanding tokens, and pages simply fetch a new
 * one. Several instances behind a load balancer would share a configured secret instead.
 */
@Injectable()
export class CsrfService {
  private readonly secret = randomBytes(32);
  private readonly cookieName: string;
  private readonly secureCookie: boolean;

  constructor(
    private readonly sessions: SessionService,
    @Inject(SAMPLE_CONFIG) config: SampleConfig,
  ) {
    this.secureCookie = config.cookie.secure;
    // Same rule as the session cookie: the `__Host-` prefix needs Secure.
    this.cookieName = config.cookie.secure ? '__Host-csrf' : 'csrf';
  }

  /** The token for this request's context; starts a pre-session nonce (cookie) when there is neither. */
  async tokenFor(req: Request, res: Response): Promise<string> {
    const session = await this.sessions.current(req, res);
    if (session) return this.sign('session', session.handle);
    let nonce = this.readNonce(req);
    if (nonce === undefined) {
      nonce = randomBytes(16).toString('base64url');
      res.append(
        'Set-Cookie',
        serialize(this.cookieName, nonce, { path: '/', httpOnly: true, secure: this.secureCookie, sameSite: 'lax' }),
      );
    }
    return this.sign('pre-session', nonce);
  }

  /** True when `token` is the one {@link tokenFor} gives this request's context. Constant-time comparison. */
  async verify(req: Request, token: unknown): Promise<boolean> {
    if (typeof token !== 'string') return false;
    const session = await this.sessions.current(req);
    const nonce = session ? undefined : this.readNonce(req);
    const expected = session ? this.sign('session', session.handle) : nonce !== undefined ? this.sign('pre-session', nonce) : undefined;
    if (expected === undefined) return false;
    const a = Buffer.from(token);
    const b = Buffer.from(expected);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private sign(kind: 'session' | 'pre-session', value: string): string {
    // The kind is part of the MAC input, so a nonce can never be replayed as a session handle or vice versa.
    return createHmac('sha256', this.secret).update(`${kind}:${value}`).digest('base64url');
  }

  private readNonce(req: Request): string | undefined {
    const header = req.headers.cookie;
    if (!header) return undefined;
    const nonce = parse(header)[this.cookieName];
    return nonce !== undefined && NONCE_SHAPE.test(nonce) ? nonce : undefined;
  }
}

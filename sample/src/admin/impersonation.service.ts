import { Inject, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Clock, SessionRequiredException, SessionService, SessionView } from '../../../lib';
import { EventRecorder } from '../audit/event-recorder';
import type { AccountView } from '../auth/auth.service';
import { SESSION_KEYS, toSessionSummary, userOfSession } from '../auth/session-summary';
import { ApiException } from '../common/api-exception';
import type { SampleConfig } from '../config';
import { SAMPLE_CONFIG } from '../sample-config.token';
import { toPublicUser } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import { appendCookie, ImpersonationCookie, readCookie, setCookieLines } from './impersonation-cookie';

/** Answer of `POST /auth/impersonation/stop`. */
export type StopImpersonationResult = { restored: true; user: AccountView['user']; session: AccountView['session'] } | { restored: false };

/**
 * Admin impersonation (`POST /admin/users/:id/impersonate`, `POST /auth/impersonation/stop`).
 *
 * The design, and why:
 * - The impersonation session is an ordinary session of the target user marked `impersonatedBy` (admin's id): the
 *   module caps it at `IMPERSONATION_MAX_AGE`, `ReAuthGuard` never finds it fresh (so it cannot change
 *   credentials, MFA, roles...), and `/auth/reauth` refuses it (403 `IMPERSONATION_FORBIDDEN`).
 * - The admin's own session stays alive on the server, untouched: it is not destroyed (no new sign-in needed
 *   afterwards) and nothing about it is copied into the impersonation session (never a token in session data,
 *   where a store dump or a bug could leak it).
 * - The browser keeps the admin's token, exactly as it held it before, in a second cookie: HttpOnly, Secure,
 *   SameSite=Strict, and `Path=/auth/impersonation`, so it travels only to the stop route and never accompanies the
 *   impersonated browsing. The server stores nothing secret. (`__Secure-` rather than `__Host-`: the latter
 *   forbids a path.)
 * - Stopping destroys the impersonation session and puts the admin's token back as the session cookie, but only
 *   after checking that it still names a live, non-impersonation session of the admin who started the
 *   impersonation. A stale, tossed or foreign token is dropped and the browser is signed out instead.
 * - Signing out (`POST /auth/logout`) from the impersonation ends the stashed admin session too and drops the
 *   cookie: whoever uses the browser next must not get the admin's session back by calling the stop route.
 */
@Injectable()
export class ImpersonationService {
  private readonly cookieName: string;
  private readonly stash: ImpersonationCookie;
  private readonly secure: boolean;

  constructor(
    private readonly sessions: SessionService,
    private readonly users: UsersService,
    private readonly events: EventRecorder,
    private readonly clock: Clock,
    @Inject(SAMPLE_CONFIG) config: SampleConfig,
  ) {
    this.cookieName = config.cookie.name;
    this.secure = config.cookie.secure;
    this.stash = new ImpersonationCookie(config.cookie.name, config.cookie.secure);
  }

  /** Starts impersonating `targetId` from the admin session of `req`. */
  async start(req: Request, res: Response, admin: SessionView, targetId: string): Promise<AccountView> {
    if (admin.impersonatedBy !== null) throw ApiException.conflict('ALREADY_IMPERSONATING', 'Stop the current impersonation first.');
    const target = await this.users.findById(targetId);
    if (!target) throw ApiException.notFound('USER_NOT_FOUND', 'There is no user with this id.');
    if (target.id === admin.userId) throw ApiException.conflict('CANNOT_IMPERSONATE_SELF', 'You cannot impersonate yourself.');
    if (target.disabled) throw ApiException.conflict('USER_DISABLED', 'This account is disabled.');
    // Impersonating another admin would hand out admin rights without that admin's credentials.
    if (target.roles.includes('admin')) throw ApiException.forbidden('CANNOT_IMPERSONATE_ADMIN', 'Administrators cannot be impersonated.');
    const adminToken = this.currentToken(req, res);
    if (adminToken === undefined) throw new SessionRequiredException();

    // The request without its session cookie: `create` destroys the session a request comes with (anti-fixation),
    // and the admin's session must survive.
    const view = await this.sessions.create(this.stash.requestWith(req, undefined), res, {
      userId: target.id,
      roles: target.roles,
      impersonatedBy: admin.userId,
      data: {
        [SESSION_KEYS.username]: target.username,
        [SESSION_KEYS.impersonator]: userOfSession(admin).username,
        [SESSION_KEYS.impersonatorSession]: admin.handle,
      },
    });
    this.stash.set(res, adminToken);
    this.events.record(req, {
      type: 'authz_admin',
      level: 'WARN',
      outcome: 'success',
      userId: admin.userId,
      sessionHandle: admin.handle,
      reason: 'impersonation_started',
      detail: { targetUserId: target.id, impersonationSession: view.handle },
    });
    return { user: toPublicUser(target), session: toSessionSummary(view) };
  }

  /** Ends the impersonation session of `req` and makes the admin's own session current again when it is still live. */
  async stop(req: Request, res: Response): Promise<StopImpersonationResult> {
    const current = await this.sessions.current(req, res);
    if (current && current.impersonatedBy === null)
      throw ApiException.conflict('NOT_IMPERSONATING', 'This session is not an impersonation.');
    const stashed = this.stash.read(req);
    if (!current && stashed === undefined) throw new SessionRequiredException();
    if (current) {
      await this.sessions.destroy(req, res);
      this.events.record(req, {
        type: 'authz_admin',
        level: 'INFO',
        outcome: 'success',
        userId: current.impersonatedBy!,
        sessionHandle: current.handle,
        reason: 'impersonation_stopped',
        detail: { targetUserId: current.userId },
      });
    }
    this.stash.clear(res);
    if (stashed !== undefined) {
      // Resolved through the module like any request carrying that cookie: timeouts, revocation, binding checks and
      // a due rotation all apply (a rotation writes its new cookie on this response).
      const admin = await this.sessions.current(this.stash.requestWith(req, stashed), res);
      const expected = current?.impersonatedBy;
      if (admin && admin.impersonatedBy === null && (expected === undefined || admin.userId === expected)) {
        if (!this.responseSetsSession(res)) this.setSessionCookie(res, stashed, admin);
        res.removeHeader('Clear-Site-Data');
        res.setHeader('Clear-Site-Data', '"cache"');
        return { restored: true, user: userOfSession(admin), session: toSessionSummary(admin) };
      }
    }
    // Nothing to restore: make sure the browser ends up signed out (a probe may have written a cookie).
    appendCookie(res, `${this.cookieName}=; Path=/; HttpOnly${this.secure ? '; Secure' : ''}; SameSite=Lax; Max-Age=0`);
    return { restored: false };
  }

  /** The session token the client holds after this response: a rotation's new one if the response carries it. */
  private currentToken(req: Request, res: Response): string | undefined {
    const written = setCookieLines(res).find((line) => line.startsWith(`${this.cookieName}=`));
    if (written !== undefined) {
      const value = written.slice(this.cookieName.length + 1).split(';')[0];
      return value.length > 0 ? value : undefined;
    }
    return readCookie(req, this.cookieName);
  }

  private responseSetsSession(res: Response): boolean {
    return setCookieLines(res).some((line) => line.startsWith(`${this.cookieName}=`) && !line.startsWith(`${this.cookieName}=;`));
  }

  /** The admin's cookie as the module would write it: a session cookie, or persistent for a remembered session. */
  private setSessionCookie(res: Response, token: string, view: SessionView): void {
    const maxAge =
      view.tier === 'remember' ? `; Max-Age=${Math.max(0, Math.floor((view.absoluteExpiresAt - this.clock.now()) / 1000))}` : '';
    appendCookie(res, `${this.cookieName}=${token}; Path=/; HttpOnly${this.secure ? '; Secure' : ''}; SameSite=Lax${maxAge}`);
  }
}

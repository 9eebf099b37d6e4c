import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { SessionService, SessionView } from '../../../lib';
import type { StoredSecurityEvent } from '../../../lib/events/typeorm';
import { AuditTrail } from '../audit/audit-trail';
import { EventRecorder } from '../audit/event-recorder';
import { AuthService, SecondFactorMethod } from '../auth/auth.service';
import { ApiException } from '../common/api-exception';
import { Role, User } from '../users/user.entity';
import { UsersService } from '../users/users.service';

/** A user as the admin screens show it. */
export interface AdminUserView {
  id: string;
  username: string;
  roles: Role[];
  disabled: boolean;
  /** True when the account has any second factor: TOTP (or recovery codes) or a passkey. */
  mfaEnabled: boolean;
  /** Which ones, by the rule sign-in uses (`AuthService.secondFactorsOf`). */
  mfaMethods: SecondFactorMethod[];
}

/**
 * An audit event as `GET /admin/events` answers it: `id`, `time` (ms), `type`, `level`, `outcome`, and where known
 * `userId`, `sessionHandle`, `ip`, `userAgent`, `reason`, `detail`.
 */
export type AdminEventView = StoredSecurityEvent;

/** Default page of `GET /admin/events`. */
export const EVENTS_DEFAULT_LIMIT = 50;
/** Largest page of `GET /admin/events` (the audit sink's own bound). */
export const EVENTS_MAX_LIMIT = 500;

/**
 * What administrators do to accounts. Each action changes the database first, then the live sessions through the
 * session module (roles snapshot, revocation), and records an `authz_admin` event naming the admin and the target.
 */
@Injectable()
export class AdminService {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionService,
    private readonly events: EventRecorder,
    private readonly auth: AuthService,
    private readonly audit: AuditTrail,
  ) {}

  async listUsers(): Promise<AdminUserView[]> {
    const users = await this.users.list();
    const methods = await this.auth.secondFactorsOfEach(users);
    return users.map((user) => toAdminView(user, methods.get(user.id) ?? []));
  }

  /**
   * Replaces a user's roles: at once in the database, and in their live sessions at their next request (a
   * demotion takes effect at once, an elevation also gives each session a new id: AC-04).
   */
  async setRoles(req: Request, admin: SessionView, id: string, roles: Role[]): Promise<AdminUserView & { sessionsUpdated: number }> {
    const user = await this.require(id);
    const unique = [...new Set(roles)];
    if (user.roles.includes('admin') && !unique.includes('admin') && (await this.activeAdminsOtherThan(user.id)) === 0) {
      throw ApiException.conflict('LAST_ADMIN', 'This is the last active administrator: make someone else an admin first.');
    }
    await this.users.setRoles(user.id, unique);
    // With the request, so authz_change names where the change came from (the admin's IP and user agent).
    const sessionsUpdated = await this.sessions.setRoles(user.id, unique, req);
    this.record(req, admin, 'roles_changed', user, { from: user.roles.join(','), to: unique.join(','), sessionsUpdated });
    return { ...(await this.view({ ...user, roles: unique } as User)), sessionsUpdated };
  }

  /** Ends every session of the user (TE-07). */
  async revokeSessions(req: Request, admin: SessionView, id: string): Promise<{ sessionsEnded: number }> {
    const user = await this.require(id);
    const sessionsEnded = await this.sessions.destroyAllForUser(user.id, { reason: 'admin_revoke' });
    this.record(req, admin, 'sessions_revoked', user, { sessionsEnded });
    return { sessionsEnded };
  }

  /** Disables the account and ends its sessions at once (TE-06). An admin cannot disable their own account. */
  async disable(req: Request, admin: SessionView, id: string): Promise<AdminUserView & { sessionsEnded: number }> {
    const user = await this.require(id);
    if (user.id === admin.userId) throw ApiException.conflict('CANNOT_DISABLE_SELF', 'You cannot disable your own account.');
    await this.users.setDisabled(user.id, true);
    const sessionsEnded = await this.sessions.destroyAllForUser(user.id, { reason: 'account_disabled' });
    this.record(req, admin, 'account_disabled', user, { sessionsEnded });
    return { ...(await this.view({ ...user, disabled: true } as User)), sessionsEnded };
  }

  async enable(req: Request, admin: SessionView, id: string): Promise<AdminUserView> {
    const user = await this.require(id);
    await this.users.setDisabled(user.id, false);
    this.record(req, admin, 'account_enabled', user);
    return this.view({ ...user, disabled: false } as User);
  }

  /**
   * Security events from the audit table, newest first, optionally of one user and/or one type. Events still on
   * their way to the table (emitted by this very request, or during a burst) are written first, so the view is
   * never behind what already happened.
   */
  async listEvents(query: { userId?: string; type?: string; limit?: number }): Promise<AdminEventView[]> {
    await this.audit.sink.flush();
    const page = await this.audit.sink.query({ userId: query.userId, type: query.type, limit: query.limit ?? EVENTS_DEFAULT_LIMIT });
    return page.events;
  }

  /** Enabled admins besides `id`: the app must keep at least one, or no one could ever administer it again. */
  private async activeAdminsOtherThan(id: string): Promise<number> {
    return (await this.users.list()).filter((u) => u.id !== id && !u.disabled && u.roles.includes('admin')).length;
  }

  private async view(user: User): Promise<AdminUserView> {
    return toAdminView(user, await this.auth.secondFactorsOf(user));
  }

  private async require(id: string): Promise<User> {
    const user = await this.users.findById(id);
    if (!user) throw ApiException.notFound('USER_NOT_FOUND', 'There is no user with this id.');
    return user;
  }

  private record(req: Request, admin: SessionView, reason: string, target: User, detail: Record<string, string | number> = {}): void {
    this.events.record(req, {
      type: 'authz_admin',
      level: 'WARN',
      outcome: 'success',
      userId: admin.userId,
      sessionHandle: admin.handle,
      reason,
      detail: { targetUserId: target.id, ...detail },
    });
  }
}

function toAdminView(user: User, mfaMethods: SecondFactorMethod[]): AdminUserView {
  return {
    id: user.id,
    username: user.username,
    roles: [...user.roles],
    disabled: user.disabled,
    mfaEnabled: mfaMethods.length > 0,
    mfaMethods,
  };
}

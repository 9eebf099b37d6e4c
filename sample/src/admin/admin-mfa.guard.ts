import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { InsufficientAssuranceException, Public, ROLES_KEY, SessionService } from '../../../lib';
import { EventRecorder } from '../audit/event-recorder';
import type { Role } from '../users/user.entity';

/** The assurance level an admin route asks for under `ADMIN_REQUIRE_MFA`: multi-factor. */
const ADMIN_AAL = 2;
const ADMIN: Role = 'admin';

/**
 * RA-03 for administrators, opt-in (`ADMIN_REQUIRE_MFA=true`): every route that asks for the `admin` role
 * (`@Roles('admin')`, on the route or its controller) also asks for `aal: 2`, exactly as `@RequireAal(2)` would: 403
 * `MFA_REQUIRED` below it. A decorator cannot depend on the configuration, hence this guard, which `AppModule` registers
 * only when the option is on (no cost otherwise).
 *
 * It runs after `RolesGuard`, so a user without the role still gets 403 `INSUFFICIENT_ROLE` (a second factor would not
 * help them), and before `ReAuthGuard`, so an admin at `aal: 1` is not first sent to re-authenticate with a password
 * that cannot lift the level. Each refusal is logged as `authz_fail` (reason `mfa_required`), as role refusals are.
 */
@Injectable()
export class AdminMfaGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly sessions: SessionService,
    private readonly events: EventRecorder,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean | undefined>(Public, targets) === true) return true;
    const roles = this.reflector.getAllAndOverride<string[] | undefined>(ROLES_KEY, targets) ?? [];
    if (!roles.includes(ADMIN)) return true;
    const req = context.switchToHttp().getRequest<Request>();
    // Loaded by the session guard, which ran first; without a session that guard has refused already.
    const session = this.sessions.peek(req);
    if (session && session.aal >= ADMIN_AAL) return true;
    this.events.record(req, {
      type: 'authz_fail',
      level: 'WARN',
      outcome: 'failure',
      userId: session?.userId,
      sessionHandle: session?.handle,
      reason: 'mfa_required',
      detail: { requiredAal: ADMIN_AAL, aal: session?.aal ?? 0, method: req.method, path: req.path },
    });
    throw new InsufficientAssuranceException(
      ADMIN_AAL,
      'Administration needs two-step verification. Set up an authenticator app or a passkey on your account, then sign in with it.',
    );
  }
}

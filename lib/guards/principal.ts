import type { SessionStage, SessionTier } from '../core/session-record';
import type { HttpRequestLike } from '../http/http-types';

/**
 * Who a request acts for, whatever credential proved it: what `RolesGuard`, `ReAuthGuard` and `@RequireAal` decide
 * on, so `@Roles`, `@ReAuth` and `@RequireAal` mean the same for a session cookie and a bearer access token. For a
 * session it is the session's view; `BearerAuthGuard` sets one from the token's claims. Times in ms since the epoch.
 */
export interface Principal {
  /** `bearer` for an access token (set by `BearerAuthGuard`); sessions are read from `SessionService`. */
  credential: 'session' | 'bearer';
  userId: string;
  /** Roles granted to the credential: the session's snapshot, or the token's `roles` claim. */
  roles: readonly string[];
  /** Authentication assurance level (1 one factor, 2 multi-factor). */
  aal: number;
  /** Always `complete` for a bearer token (no token is issued for a pending sign-in). */
  stage: SessionStage;
  /** When the user last authenticated (ms): the session's `authenticatedAt`, the token's `auth_time`. */
  authenticatedAt: number;
  /** When the credential was created (ms): the session's `createdAt`, the token's issue time. */
  createdAt: number;
  /** Tokens are never "remembered" logins: `standard`. */
  tier: SessionTier;
  /** For an impersonation session, the administrator; `null` otherwise (and for every token). */
  impersonatedBy: string | null;
  /** The session handle: the session's own, or the `sid` a session-exchange token names (undefined otherwise). */
  handle?: string;
}

/** A principal from an access token, with what only tokens carry. */
export interface BearerPrincipal extends Principal {
  credential: 'bearer';
  /** The token's `client_id`. */
  clientId: string;
  /** The token's granted scope, space-separated (may be empty). */
  scope: string;
  /** The token's `jti` (not a secret: it names the token for revocation). */
  tokenId: string;
  /** When the token expires (ms). */
  expiresAt: number;
}

/**
 * Bearer principals beside their requests, not on them: a property added to an Express 5 request costs a runtime
 * lookup at every site that touches it (see `STATES` in session.service.ts), and the roles and re-authentication guards
 * ask `bearerPrincipalOf` on every route that has a requirement, most often for a request that has none.
 */
const PRINCIPALS = new WeakMap<object, BearerPrincipal>();

/** Records the bearer principal of a request (called by `BearerAuthGuard`). */
export function setBearerPrincipal(req: HttpRequestLike, principal: BearerPrincipal): void {
  PRINCIPALS.set(req, principal);
}

/** The principal `BearerAuthGuard` set for this request, or `undefined`. Synchronous, no store access. */
export function bearerPrincipalOf(req: HttpRequestLike): BearerPrincipal | undefined {
  return PRINCIPALS.get(req);
}

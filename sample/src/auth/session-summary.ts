import type { SessionView } from '../../../lib';
import { knownRoles, PublicUser } from '../users/user.entity';

/** The session as `/me` and `/auth/reauth` show it. Times in ms since the epoch. */
export type SessionSummary = Pick<
  SessionView,
  'handle' | 'createdAt' | 'lastSeenAt' | 'authenticatedAt' | 'idleExpiresAt' | 'absoluteExpiresAt' | 'aal' | 'tier'
> & {
  /** The admin's user id, on an impersonation session only. */
  impersonatedBy?: string;
};

/** Keys of session data the app owns for identity (never written from a request body). */
export const SESSION_KEYS = {
  /** The username at sign-in, so `/me` and the pages need no database read. */
  username: 'username',
  /** On an impersonation session: the admin's username, for the banner. */
  impersonator: 'impersonator',
  /** On an impersonation session: the handle (not the token) of the admin's own session, ended with it at sign-out. */
  impersonatorSession: 'impersonatorSession',
  /** On a pending (pre-MFA) session: wrong codes so far and whether the user asked to be remembered. */
  pendingLogin: 'pendingLogin',
  /** Failed re-authentications of this session since the last successful one. */
  reauthFailures: 'reauthFailures',
} as const;

/** Picks the public fields of a session: never its data, never anything that could identify its token. */
export function toSessionSummary(s: SessionView): SessionSummary {
  return {
    handle: s.handle,
    createdAt: s.createdAt,
    lastSeenAt: s.lastSeenAt,
    authenticatedAt: s.authenticatedAt,
    idleExpiresAt: s.idleExpiresAt,
    absoluteExpiresAt: s.absoluteExpiresAt,
    aal: s.aal,
    tier: s.tier,
    ...(s.impersonatedBy !== null ? { impersonatedBy: s.impersonatedBy } : {}),
  };
}

/**
 * The signed-in user as the session records it: id and roles from the record (a role change reaches it through
 * `SessionService.setRoles`), the username from the data written at sign-in. No database read per request.
 */
export function userOfSession(s: SessionView): PublicUser {
  const username = s.data[SESSION_KEYS.username];
  return { id: s.userId, username: typeof username === 'string' ? username : '', roles: knownRoles(s.roles) };
}

/** On an impersonation session, the admin's username (for the banner); undefined otherwise. */
export function impersonatorOf(s: SessionView): string | undefined {
  if (s.impersonatedBy === null) return undefined;
  const name = s.data[SESSION_KEYS.impersonator];
  return typeof name === 'string' ? name : s.impersonatedBy;
}

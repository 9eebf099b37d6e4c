import type { SessionView } from '../../../lib';

/** The session as `/me` and `/auth/reauth` show it. Times in ms since the epoch. */
export type SessionSummary = Pick<
  SessionView,
  'handle' | 'createdAt' | 'lastSeenAt' | 'authenticatedAt' | 'idleExpiresAt' | 'absoluteExpiresAt' | 'aal'
>;

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
  };
}

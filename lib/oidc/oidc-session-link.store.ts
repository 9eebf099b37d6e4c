/** One local session created by a sign-in at an OpenID Provider. Times in ms since the epoch. */
export interface OidcSessionLink {
  issuer: string;
  /** The provider's `sub` of the user. */
  subject: string;
  /** The provider's session id (`sid` of the ID token), or null when the token had none. */
  sid: string | null;
  /** The local user's id. */
  userId: string;
  /** The local session's handle (stable across rotations): what `SessionService.revoke` ends. */
  sessionHandle: string;
  /** When the link may be forgotten: the session's absolute deadline. */
  expiresAt: number;
}

/**
 * Which local sessions each provider session and user created, so a back-channel logout ends exactly those: by
 * `sid` the sessions that provider session created, by `sub` every session of that user from that issuer (never the
 * user's password sessions, nor sessions from another provider). Each method is one atomic operation.
 *
 * Keep it where every instance sees it and a restart does not lose it (the app's database): the in-memory default
 * is for one process. Implement it on your storage as the sample does with TypeORM (`sample/src/oidc`).
 */
export abstract class OidcSessionLinkStore {
  /** Records a link (sign-in or re-authentication), and may forget links whose `expiresAt` is before `now`. */
  abstract add(link: OidcSessionLink, now: number): Promise<void>;

  /**
   * Removes and returns, in one atomic step, the unexpired links of `issuer` that `target` names: with `sid`, those of
   * that provider session (and of `subject` too when both are given); with only `subject`, all of that user's.
   */
  abstract take(issuer: string, target: { subject?: string; sid?: string }, now: number): Promise<OidcSessionLink[]>;
}

/** The in-memory {@link OidcSessionLinkStore}: one process, forgotten on restart. For tests and single instances. */
export class InMemoryOidcSessionLinkStore extends OidcSessionLinkStore {
  private links: OidcSessionLink[] = [];

  async add(link: OidcSessionLink, now: number): Promise<void> {
    this.links = this.links.filter(
      (l) => l.expiresAt >= now && !(l.issuer === link.issuer && l.sessionHandle === link.sessionHandle && l.sid === link.sid),
    );
    this.links.push({ ...link });
  }

  async take(issuer: string, target: { subject?: string; sid?: string }, now: number): Promise<OidcSessionLink[]> {
    const taken: OidcSessionLink[] = [];
    const kept: OidcSessionLink[] = [];
    for (const link of this.links) {
      if (link.expiresAt >= now && matchesLogoutTarget(link, issuer, target)) taken.push(link);
      else if (link.expiresAt >= now) kept.push(link);
    }
    this.links = kept;
    return taken;
  }
}

/** Whether a logout token's `target` names `link` (the rule every {@link OidcSessionLinkStore} applies). */
export function matchesLogoutTarget(link: OidcSessionLink, issuer: string, target: { subject?: string; sid?: string }): boolean {
  if (link.issuer !== issuer) return false;
  if (target.sid !== undefined) return link.sid === target.sid && (target.subject === undefined || link.subject === target.subject);
  return target.subject !== undefined && link.subject === target.subject;
}

import type { SecurityEvent } from '../events/security-event';
import type { ClientInfo } from './client-info';
import type { SessionRecord } from './session-record';

/** What a {@link SessionCheck} sees: the session as stored (no token, no storage id), who asks, and when. */
export interface SessionCheckContext {
  /** The live session, after timeouts and any due rotation. Read-only. */
  readonly session: Readonly<SessionRecord>;
  /** The client making this request. */
  readonly client: ClientInfo;
  /** The module clock's time (ms since epoch). */
  readonly now: number;
}

/** An event a check wants recorded; the session's user, handle and the client are filled in. */
export type SessionCheckEvent = Pick<SecurityEvent, 'type'> & Partial<Pick<SecurityEvent, 'level' | 'outcome' | 'reason' | 'detail'>>;

/**
 * A check's verdict. Return nothing (or `{ action: 'allow' }`) to let the request through;
 * `{ action: 'record', event }` to let it through and emit a security event;
 * `{ action: 'challenge', reason, event? }` to let it through but void the session's last authentication
 * (`authenticatedAt` becomes {@link AUTHENTICATION_VOIDED}, in the store, for every instance), so every `@ReAuth()`
 * route answers 401 `REAUTH_REQUIRED` (reason `challenged`) until the user re-authenticates; the id does not rotate
 * (a new token would go to whoever sent this request);
 * `{ action: 'end', reason, event? }` to destroy the session now: the request is answered 401 and the cookie cleared.
 */
export type SessionCheckVerdict =
  | { action: 'allow' }
  | { action: 'record'; event: SessionCheckEvent }
  | { action: 'challenge'; reason: string; event?: SessionCheckEvent }
  | { action: 'end'; reason: string; event?: SessionCheckEvent };

/**
 * The `authenticatedAt` of a session whose last authentication a check voided (`challenge`): no proof of presence
 * counts until the next re-authentication, which sets it to that time again.
 */
export const AUTHENTICATION_VOIDED = 0;

/**
 * A request-time policy run inside session resolution, on every request that presents a live session
 * (binding to IP or user agent, anomaly detection, an account disabled elsewhere). Checks run in the order
 * given, after timeouts and rotation and before any guard; the first `end` wins.
 *
 * Keep them cheap: they sit on every authenticated request. A check that throws fails the request (500):
 * it is a bug, not a verdict. The first `challenge` voids the authentication once; later checks still run.
 *
 * @example
 * const sameUserAgent: SessionCheck = {
 *   name: 'same-user-agent',
 *   check: ({ session, client }) =>
 *     client.userAgent === session.userAgent ? undefined : { action: 'end', reason: 'user_agent_changed' },
 * };
 * SessionModule.forRoot({ checks: [sameUserAgent] });
 */
export interface SessionCheck {
  /** Short name, used in events and errors. */
  readonly name: string;
  /** The verdict for one request; may be async. */
  check(context: SessionCheckContext): SessionCheckVerdict | void | Promise<SessionCheckVerdict | void>;
}

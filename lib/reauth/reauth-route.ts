import type { SessionData } from '../core/session-record';

/**
 * Session data key under which a session names its own way to re-authenticate, when it is not the module's
 * `reauth.path` (a password form): a session signed in through an OpenID Provider re-authenticates there. Written at
 * sign-in (e.g. by `OidcService.sessionData`), read by `ReAuthGuard` for the 401 `REAUTH_REQUIRED` answer.
 */
export const SESSION_REAUTH_ROUTE_KEY = 'nsk:reauth';

/** Where and how a client re-authenticates: `POST` a password form, or `GET` (navigate to) a federated sign-in. */
export interface ReAuthRoute {
  /** A path on this app, starting with `/`. */
  path: string;
  method: 'GET' | 'POST';
}

/** The re-authentication route a session's data names, or undefined (then the module's `reauth.path` applies). */
export function reauthRouteOf(data: Readonly<SessionData>): ReAuthRoute | undefined {
  const value = data[SESSION_REAUTH_ROUTE_KEY] as unknown;
  if (typeof value !== 'object' || value === null) return undefined;
  const { path, method } = value as Partial<ReAuthRoute>;
  // Only a local path: a value that reached the session data some other way must not send clients elsewhere.
  if (typeof path !== 'string' || !path.startsWith('/') || path.startsWith('//') || path.includes('\\')) return undefined;
  if (method !== 'GET' && method !== 'POST') return undefined;
  return { path, method };
}

import { SessionInputError } from '../core/errors';

/** The largest `Set-Cookie` a browser keeps: 4096 bytes (RFC 6265bis §5.7: name and value together, at most 4096). */
export const MAX_COOKIE_BYTES = 4096;

/**
 * A sealed session would not fit its cookie: the `Set-Cookie` line (name, value and attributes, counted
 * conservatively so that every browser keeps it) would pass {@link MAX_COOKIE_BYTES}. Thrown at write time, before
 * anything is sent: browsers drop an oversized cookie without a word, which would log the user out silently. A
 * programming error (too much session data): it surfaces as a 500 with this message in the log.
 */
export class SealedCookieTooLargeError extends SessionInputError {
  constructor(
    /** Bytes the `Set-Cookie` line would take. */
    readonly bytes: number,
    /** The limit: {@link MAX_COOKIE_BYTES}. */
    readonly limit: number,
    /** Bytes of the session data as JSON, the part the application controls. */
    readonly dataBytes: number,
  ) {
    super(
      'data',
      `the sealed session cookie would be ${bytes} bytes (name, value and attributes), over the browsers' limit of ${limit} bytes, ` +
        `so nothing was written. The session data takes ${dataBytes} bytes as JSON and sealing adds about a third: keep large state ` +
        'server-side with its id in the session, keep fewer roles, or use a server-side store (memory, Redis, TypeORM)',
    );
  }
}

/**
 * A question a sealed-cookie session store has no answer to: listing or counting a user's sessions. Each session
 * lives only in its browser's cookie and the server keeps no list, so any answer would be silently incomplete. A
 * programming error (the app calls an API this mode cannot serve): a 500 with this message in the log.
 */
export class SealedSessionsUnlistedError extends Error {
  override readonly name = 'SealedSessionsUnlistedError';

  constructor(
    /** The operation asked for: `listByUser` or `countByUser`. */
    readonly operation: string,
  ) {
    super(
      `Sealed-cookie sessions cannot be listed (${operation}): each lives only in its browser's cookie and the server keeps no ` +
        'list of them. Show the current session only (@CurrentSession), end the others with logout everywhere, or use a ' +
        'server-side store (memory, Redis, TypeORM) for an "active devices" page.',
    );
  }
}

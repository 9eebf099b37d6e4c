/**
 * The session store could not be reached or answered with an error. The module fails closed on it (503),
 * logs it, and recovers on its own when the store answers again.
 */
export class SessionStoreUnavailableError extends Error {
  override readonly name = 'SessionStoreUnavailableError';

  constructor(
    /** The store operation that failed (e.g. `read`). */
    readonly operation: string,
    override readonly cause: unknown,
  ) {
    super(
      `Session store operation "${operation}" failed: ${cause instanceof Error ? cause.message : String(cause)}. ` +
        'Requests that need a session fail closed (503) until the store answers again; check that the store is up and reachable.',
    );
  }
}

/** The session ended between loading it and writing to it (logout elsewhere, expiry, revocation). */
export class SessionGoneError extends Error {
  override readonly name = 'SessionGoneError';

  constructor() {
    super('The session ended while this request was using it; sign in again.');
  }
}

/** Bad module options. The message lists every problem and how to fix it. */
export class SessionOptionsError extends Error {
  override readonly name = 'SessionOptionsError';

  constructor(readonly problems: string[]) {
    super(`Invalid SessionModule options:\n  - ${problems.join('\n  - ')}`);
  }
}

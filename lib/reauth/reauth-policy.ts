/** The module's re-authentication settings, as `ReAuthGuard` applies them (from the `reauth` option). */
export class ReAuthPolicy {
  /**
   * @param maxAgeMs how recent the last full authentication must be on a `@ReAuth()` route without its own `maxAge` (ms)
   * @param path where the client re-authenticates, named in 401 `REAUTH_REQUIRED`
   */
  constructor(
    readonly maxAgeMs: number,
    readonly path: string,
  ) {}
}

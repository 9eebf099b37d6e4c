/**
 * Bad options for an MFA service (`TotpService`, `SecretBox`, `PasskeyService`). A configuration error, raised at
 * start-up: the message lists every problem at once and how to fix each.
 *
 * @example
 * // MfaOptionsError: Invalid TotpService options:
 * //   - periodMs must be a whole number of seconds from 1000 to 30000 (got 45000) ...
 */
export class MfaOptionsError extends Error {
  override readonly name = 'MfaOptionsError';

  constructor(
    /** The component whose options are wrong, e.g. `TotpService`. */
    readonly component: string,
    /** One sentence per problem, each saying how to fix it. */
    readonly problems: string[],
  ) {
    super(`Invalid ${component} options:\n  - ${problems.join('\n  - ')}`);
  }
}

/**
 * The application passed a value the MFA toolkit cannot use: a TOTP secret that is not base32, a
 * `lastUsedStep` that is not a step number, a stored recovery-code hash or passkey record that this toolkit did not
 * produce. A programming or data error (a 500 in a web app), never a wrong code typed by a user: those are
 * answered with `{ ok: false }` results instead.
 */
export class MfaInputError extends TypeError {
  override readonly name = 'MfaInputError';

  constructor(
    /** The argument at fault, e.g. `secret` or `lastUsedStep`. */
    readonly field: string,
    problem: string,
  ) {
    super(`Invalid ${field}: ${problem}`);
  }
}

/**
 * `SecretBox.open()` refused a sealed value: it was altered, belongs to another user (other associated data), was
 * sealed with a key that is no longer configured, or is not a `SecretBox` value at all. Nothing is returned in
 * those cases; the message says which one it is and what to check.
 */
export class SecretBoxOpenError extends Error {
  override readonly name = 'SecretBoxOpenError';

  constructor(
    /** Why: `malformed`, `unknown-key` or `authentication-failed` (tampered, or the wrong associated data). */
    readonly reason: 'malformed' | 'unknown-key' | 'authentication-failed',
    message: string,
  ) {
    super(message);
  }
}

/**
 * A WebAuthn registration response did not verify (wrong challenge, origin or RP ID, no user presence, an
 * unsupported key type, a forged attestation). The browser or an attacker sent it, not the application: answer
 * 400 and let the user start the enrolment again. `detail` is the verifier's own explanation, for the log.
 */
export class PasskeyVerificationError extends Error {
  override readonly name = 'PasskeyVerificationError';

  constructor(
    /** The verifier's explanation, safe to log (it holds no secret). */
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      `The passkey registration response did not verify: ${detail}. Store nothing, and let the user start the enrolment again.`,
      options,
    );
  }
}

/**
 * A CAPTCHA (bot challenge) provider, behind which the brute-force defence asks for proof of a human (or of spent
 * work) after a few failures. Implement it for another provider (hCaptcha, Turnstile...): `createChallenge` answers
 * what the client needs to show or solve the challenge, and `verify` checks a solution server-side.
 *
 * Contract (BF-04): a solution is accepted once (a replay is refused) and only for the `context` its challenge was
 * created for, so a solution obtained elsewhere, or for another account, does not count.
 */
export abstract class CaptchaVerifier {
  /** A new challenge for `context` (the pre-login context: account and client), as JSON for the client. */
  abstract createChallenge(context: string): Promise<CaptchaChallenge>;

  /** True when `solution` solves a challenge of this verifier, created for `context`, not expired and never used before. */
  abstract verify(solution: string, context: string): Promise<boolean>;
}

/** What a client receives to solve: provider-specific JSON. */
export type CaptchaChallenge = Record<string, unknown>;

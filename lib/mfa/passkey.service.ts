import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { Clock, SystemClock } from '../core/clock';
import { MfaInputError, MfaOptionsError, PasskeyVerificationError } from './mfa.errors';

/** Default time the user has to complete a WebAuthn ceremony: 300 000 ms (5 minutes, WebAuthn Level 3's recommended default when user verification is not discouraged). */
export const DEFAULT_PASSKEY_TIMEOUT_MS = 300_000;
/** WebAuthn caps a user handle at 64 bytes. */
const MAX_USER_ID_BYTES = 64;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Options of {@link PasskeyService}. */
export interface PasskeyServiceOptions {
  /** The source of time (challenge expiry, `createdAt`). Default: the wall clock. */
  clock?: Clock;
  /** How long a challenge stays valid, in milliseconds; also the browser's ceremony timeout. Default 300 000. */
  timeoutMs?: number;
  /**
   * User verification (PIN, biometrics) on the authenticator. `'preferred'` (default): asked for, not required, as
   * befits a second factor after a password (user presence is always required). `'required'`: refuse authenticators
   * that cannot verify the user.
   */
  userVerification?: 'preferred' | 'required';
}

/**
 * A passkey (WebAuthn credential) as the application stores it, one row per credential. All fields are public
 * data: a leak lets nobody sign in, but store them with the user they belong to.
 */
export interface StoredPasskey {
  /** The credential id, base64url. Unique: look the passkey up by it. */
  credentialId: string;
  /** The credential's COSE public key, base64url. */
  publicKey: string;
  /** The authenticator's signature counter at the last successful use (0 for authenticators that do not count). */
  counter: number;
  /** How the browser can reach the authenticator (`usb`, `nfc`, `ble`, `internal`, `hybrid`), when it said. */
  transports?: string[];
  /** When it was registered, in milliseconds since the epoch (from the service's clock). */
  createdAt: number;
  /** A label the user gave it ("YubiKey", "Laptop"), if any. */
  name?: string;
}

/**
 * Options for the browser and the challenge to keep. Send `options` to the browser (`navigator.credentials` via
 * `@simplewebauthn/browser`); keep `challenge` and `expiresAt` server-side (e.g. in the session data) and remove
 * them when the response comes back, successful or not: a challenge is good for one attempt only.
 */
export interface PasskeyCeremony<TOptions> {
  /** JSON for the browser. */
  options: TOptions;
  /** The challenge in `options`, base64url: 32 random bytes from the library. Pass it back as `expectedChallenge`. */
  challenge: string;
  /** When the challenge stops being accepted, in milliseconds since the epoch. Pass it back as `challengeExpiresAt`. */
  expiresAt: number;
}

/** What {@link PasskeyService.verifyRegistration} and {@link PasskeyService.verifyAuthentication} both need. */
export interface PasskeyVerifyInput {
  /** The challenge from the ceremony, taken out of where it was kept (so it cannot be used again). */
  expectedChallenge: string;
  /** The ceremony's `expiresAt`. Strongly recommended; without it a kept challenge never expires. */
  challengeExpiresAt?: number;
  /** The page's origin, e.g. `https://app.example.com` (or several). Exact match. */
  expectedOrigin: string | string[];
  /** The RP ID the options named, e.g. `example.com`. */
  expectedRpId: string;
}

/** The outcome of {@link PasskeyService.verifyAuthentication}. */
export type PasskeyAuthenticationResult =
  | {
      ok: true;
      /** Store it as the passkey's `counter` (compare-and-set on the old value). */
      newCounter: number;
      /** Whether the authenticator verified the user (PIN, biometrics), not only their presence. */
      userVerified: boolean;
    }
  | {
      ok: false;
      /**
       * - `challenge-expired`: the ceremony took longer than `timeoutMs`; start a new one.
       * - `credential-mismatch`: the response is for another credential than `passkey`.
       * - `counter-regression`: a valid signature with a counter not above the stored one: the authenticator may
       *   have been cloned. Log it as a security event; consider disabling the passkey and notifying the user.
       * - `unverified`: anything else (wrong challenge, origin or RP ID, bad signature, no user presence, a
       *   malformed response).
       */
      reason: 'challenge-expired' | 'credential-mismatch' | 'counter-regression' | 'unverified';
      /** The verifier's explanation, for the log (no secret in it). */
      detail: string;
    };

/**
 * Passkeys (WebAuthn) as a second factor: a thin, typed layer over `@simplewebauthn/server` that keeps the choices
 * that matter in one place (user verification preferred, user presence required, no attestation, excluded existing
 * credentials, challenge expiry, counter regressions refused after the signature checks out).
 *
 * The challenges come from the library (32 random bytes); this service keeps no state. The caller keeps the
 * challenge of each ceremony, once, and stores passkeys and counters.
 *
 * @example
 * const passkeys = new PasskeyService();
 * // enrolment, step 1
 * const { options, challenge, expiresAt } = await passkeys.registrationOptions({ rpName: 'ACME', rpId: 'example.com', user: { id: user.id, name: user.email }, existing });
 * session.data.passkeyChallenge = { challenge, expiresAt };
 * // enrolment, step 2 (take the challenge out of the session first)
 * const passkey = await passkeys.verifyRegistration({ response, expectedChallenge: challenge, challengeExpiresAt: expiresAt, expectedOrigin: 'https://example.com', expectedRpId: 'example.com' });
 */
export class PasskeyService {
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly userVerification: 'preferred' | 'required';

  constructor(options: PasskeyServiceOptions = {}) {
    const { clock = new SystemClock(), timeoutMs = DEFAULT_PASSKEY_TIMEOUT_MS, userVerification = 'preferred' } = options;
    const problems: string[] = [];
    if (!(clock instanceof Clock) && typeof (clock as Partial<Clock>)?.now !== 'function') {
      problems.push('clock must be a Clock (SystemClock, or ManualClock in tests)');
    }
    if (!Number.isInteger(timeoutMs) || timeoutMs < 10_000 || timeoutMs > 600_000) {
      problems.push(
        `timeoutMs must be whole milliseconds from 10000 to 600000 (got ${String(timeoutMs)}); leave it unset for 300000 (5 minutes)`,
      );
    }
    if (userVerification !== 'preferred' && userVerification !== 'required') {
      problems.push(`userVerification must be "preferred" or "required" (got ${JSON.stringify(userVerification)})`);
    }
    if (problems.length > 0) throw new MfaOptionsError('PasskeyService', problems);
    this.clock = clock;
    this.timeoutMs = timeoutMs;
    this.userVerification = userVerification;
  }

  /**
   * Starts enrolling a passkey: options for `navigator.credentials.create()`, and the challenge to keep.
   *
   * @param input.rpName the site's name, shown by the browser
   * @param input.rpId the registrable domain the passkey is bound to (`example.com`; `localhost` in development)
   * @param input.user `id`: the user's stable, opaque id (not an email: the authenticator stores it; at most 64
   *   bytes); `name`: what the user knows the account by; `displayName`: defaults to `name`
   * @param input.existing the user's passkeys: the browser refuses to register one of them again
   */
  async registrationOptions(input: {
    rpName: string;
    rpId: string;
    user: { id: string; name: string; displayName?: string };
    existing: readonly StoredPasskey[];
  }): Promise<PasskeyCeremony<PublicKeyCredentialCreationOptionsJSON>> {
    requireText(input?.rpName, 'rpName', 'the site name the browser shows, e.g. "ACME"');
    requireText(input?.rpId, 'rpId', 'the registrable domain, e.g. "example.com" (no scheme, no port)');
    requireText(input?.user?.id, 'user.id', "the user's stable opaque id");
    requireText(input?.user?.name, 'user.name', 'what the user knows the account by, e.g. their email');
    const userID = new TextEncoder().encode(input.user.id);
    if (userID.length > MAX_USER_ID_BYTES) {
      throw new MfaInputError(
        'user.id',
        `WebAuthn allows at most ${MAX_USER_ID_BYTES} bytes (got ${userID.length}); use a shorter opaque id`,
      );
    }
    const existing = checkPasskeys(input.existing, 'existing');
    const options = await generateRegistrationOptions({
      rpName: input.rpName,
      rpID: input.rpId,
      userID,
      userName: input.user.name,
      userDisplayName: input.user.displayName ?? input.user.name,
      timeout: this.timeoutMs,
      // No attestation: a second factor needs the key, not the make of the authenticator (and no privacy cost).
      attestationType: 'none',
      excludeCredentials: existing.map((p) => ({ id: p.credentialId, transports: p.transports })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: this.userVerification },
    });
    return { options, challenge: options.challenge, expiresAt: this.clock.now() + this.timeoutMs };
  }

  /**
   * Finishes enrolling: checks the browser's response against the kept challenge, origin and RP ID, and returns
   * the passkey to store (with a unique constraint on `credentialId`).
   *
   * @param input.response the JSON the browser sent (`startRegistration()` of `@simplewebauthn/browser`)
   * @param input.name an optional label for the passkey
   * @throws PasskeyVerificationError when the response does not verify or the challenge expired (answer 400)
   */
  async verifyRegistration(input: PasskeyVerifyInput & { response: RegistrationResponseJSON; name?: string }): Promise<StoredPasskey> {
    this.checkVerifyInput(input);
    const expired = this.expired(input.challengeExpiresAt);
    if (expired) throw new PasskeyVerificationError(expired);
    let result: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      result = await verifyRegistrationResponse({
        response: input.response,
        expectedChallenge: input.expectedChallenge,
        expectedOrigin: input.expectedOrigin,
        expectedRPID: input.expectedRpId,
        requireUserPresence: true,
        requireUserVerification: this.userVerification === 'required',
      });
    } catch (error) {
      throw new PasskeyVerificationError(messageOf(error), { cause: error });
    }
    if (!result.verified) throw new PasskeyVerificationError('the attestation did not verify');
    const { credential } = result.registrationInfo;
    return {
      credentialId: credential.id,
      publicKey: Buffer.from(credential.publicKey).toString('base64url'),
      counter: credential.counter,
      ...(credential.transports?.length ? { transports: [...credential.transports] } : {}),
      createdAt: this.clock.now(),
      ...(input.name === undefined ? {} : { name: input.name }),
    };
  }

  /**
   * Starts a second-factor check: options for `navigator.credentials.get()` listing the user's passkeys, and the
   * challenge to keep.
   *
   * @param input.allow the user's passkeys (at least one: a user without passkeys has nothing to check here)
   */
  async authenticationOptions(input: {
    rpId: string;
    allow: readonly StoredPasskey[];
  }): Promise<PasskeyCeremony<PublicKeyCredentialRequestOptionsJSON>> {
    requireText(input?.rpId, 'rpId', 'the registrable domain, e.g. "example.com" (no scheme, no port)');
    const allow = checkPasskeys(input.allow, 'allow');
    if (allow.length === 0) {
      throw new MfaInputError('allow', 'the user has no passkey: offer another factor, or enrolment, instead of a passkey check');
    }
    const options = await generateAuthenticationOptions({
      rpID: input.rpId,
      allowCredentials: allow.map((p) => ({ id: p.credentialId, transports: p.transports })),
      userVerification: this.userVerification,
      timeout: this.timeoutMs,
    });
    return { options, challenge: options.challenge, expiresAt: this.clock.now() + this.timeoutMs };
  }

  /**
   * Checks the browser's answer to {@link authenticationOptions} with the passkey it names (look it up by
   * `response.id` among the user's passkeys). On success store `newCounter`.
   *
   * The counter is compared only after the signature verified, so a forged response cannot raise a clone alarm
   * (and make the application disable a good passkey).
   *
   * @throws MfaInputError when `passkey` is not a stored passkey record (a bug or corrupted data, not user input)
   */
  async verifyAuthentication(
    input: PasskeyVerifyInput & { response: AuthenticationResponseJSON; passkey: StoredPasskey },
  ): Promise<PasskeyAuthenticationResult> {
    this.checkVerifyInput(input);
    const [passkey] = checkPasskeys([input.passkey], 'passkey');
    const expired = this.expired(input.challengeExpiresAt);
    if (expired) return { ok: false, reason: 'challenge-expired', detail: expired };
    const responseId: unknown = input.response?.id;
    if (responseId !== passkey.credentialId) {
      return {
        ok: false,
        reason: 'credential-mismatch',
        detail: `the response is for credential ${JSON.stringify(responseId)}, not ${passkey.credentialId}`,
      };
    }
    let result: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
    try {
      result = await verifyAuthenticationResponse({
        response: input.response,
        expectedChallenge: input.expectedChallenge,
        expectedOrigin: input.expectedOrigin,
        expectedRPID: input.expectedRpId,
        // Counter 0 here turns the library's own counter check off: it runs before the signature check. Ours runs after.
        credential: { id: passkey.credentialId, publicKey: new Uint8Array(Buffer.from(passkey.publicKey, 'base64url')), counter: 0 },
        requireUserVerification: this.userVerification === 'required',
      });
    } catch (error) {
      return { ok: false, reason: 'unverified', detail: messageOf(error) };
    }
    if (!result.verified) return { ok: false, reason: 'unverified', detail: 'the signature did not verify' };
    const { newCounter, userVerified } = result.authenticationInfo;
    // WebAuthn §6.1.1: either counter non-zero and the new one not above the stored one signals a cloned authenticator.
    if ((newCounter > 0 || passkey.counter > 0) && newCounter <= passkey.counter) {
      return {
        ok: false,
        reason: 'counter-regression',
        detail: `signature counter ${newCounter} is not above the stored ${passkey.counter}: the authenticator may have been cloned`,
      };
    }
    return { ok: true, newCounter, userVerified };
  }

  private checkVerifyInput(input: PasskeyVerifyInput & { response?: unknown }): void {
    requireText(
      input?.expectedChallenge,
      'expectedChallenge',
      'the challenge kept from the ceremony (registrationOptions or authenticationOptions)',
    );
    requireText(input?.expectedRpId, 'expectedRpId', 'the RP ID the options named, e.g. "example.com"');
    const origins = Array.isArray(input.expectedOrigin) ? input.expectedOrigin : [input.expectedOrigin];
    if (origins.length === 0 || origins.some((o) => typeof o !== 'string' || !/^https?:\/\/[^/]+$/.test(o))) {
      throw new MfaInputError(
        'expectedOrigin',
        'expected the page origin(s), scheme and host without a path, e.g. "https://app.example.com"',
      );
    }
    if (input.challengeExpiresAt !== undefined && !Number.isFinite(input.challengeExpiresAt)) {
      throw new MfaInputError('challengeExpiresAt', 'expected the expiresAt returned with the challenge (milliseconds since the epoch)');
    }
  }

  /** Why the challenge is no longer good, or undefined while it is. */
  private expired(expiresAt: number | undefined): string | undefined {
    const now = this.clock.now();
    return expiresAt !== undefined && now >= expiresAt
      ? `the challenge expired ${now - expiresAt} ms ago (it lives ${this.timeoutMs} ms); start a new ceremony`
      : undefined;
  }
}

function requireText(value: unknown, field: string, what: string): void {
  if (typeof value !== 'string' || value.trim() === '') throw new MfaInputError(field, `expected a non-empty string: ${what}`);
}

/** Stored passkeys must have the shape this service returns: anything else is a bug or corrupted data. */
function checkPasskeys(passkeys: readonly StoredPasskey[], field: string): readonly StoredPasskey[] {
  if (!Array.isArray(passkeys)) throw new MfaInputError(field, 'expected an array of StoredPasskey (as verifyRegistration returns them)');
  passkeys.forEach((p, index) => {
    const problem =
      typeof p?.credentialId !== 'string' || !BASE64URL.test(p.credentialId)
        ? 'credentialId is not base64url'
        : typeof p.publicKey !== 'string' || !BASE64URL.test(p.publicKey)
          ? 'publicKey is not base64url'
          : !Number.isSafeInteger(p.counter) || p.counter < 0
            ? 'counter is not a non-negative integer'
            : p.transports !== undefined && !(Array.isArray(p.transports) && p.transports.every((t: unknown) => typeof t === 'string'))
              ? 'transports is not an array of strings'
              : undefined;
    if (problem)
      throw new MfaInputError(
        field === 'passkey' ? field : `${field}[${index}]`,
        `${problem}; store passkeys as verifyRegistration returns them`,
      );
  });
  return passkeys;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

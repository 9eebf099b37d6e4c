import { createGuardrails, generateSecret, generateURI, verifySync } from 'otplib';
import { toDataURL } from 'qrcode';
import { Clock, SystemClock } from '../core/clock';
import { MfaInputError, MfaOptionsError } from './mfa.errors';

/** Default TOTP time step: 30 000 ms (RFC 6238's recommendation, and the most ASVS 5.0 6.5.5 allows). */
export const DEFAULT_TOTP_PERIOD_MS = 30_000;
/** Default accepted clock drift: one step either side of the server's current step. */
export const DEFAULT_TOTP_WINDOW = 1;
/** Default code length: 6 digits, what every authenticator app shows. */
export const DEFAULT_TOTP_DIGITS = 6;
/** Bytes of CSPRNG output in a secret from {@link TotpService.generateSecret}: 20 bytes = 160 bits (RFC 4226 §4). */
export const TOTP_SECRET_BYTES = 20;
/** The widest drift window accepted: ±2 steps. Each extra step is one more code an attacker's guess can hit. */
export const MAX_TOTP_WINDOW = 2;

/** Options of {@link TotpService}. */
export interface TotpOptions {
  /** Shown in the authenticator app above the code (`ACME`). Required; it may not contain a colon. */
  issuer: string;
  /** The source of time. Default: the wall clock. Inject a `ManualClock` in tests and move it instead of sleeping. */
  clock?: Clock;
  /**
   * Length of one time step in milliseconds. Default 30 000. A whole number of seconds (authenticator apps count
   * in seconds) from 1 000 to 30 000: ASVS 5.0 6.5.5 caps a TOTP's lifetime at 30 s.
   */
  periodMs?: number;
  /** Accepted drift, in steps either side of the current one: 0, 1 (default) or 2. */
  window?: number;
  /** Digits in a code: 6 (default), 7 or 8. Most apps ignore anything but 6. */
  digits?: 6 | 7 | 8;
  /**
   * Shortest secret `verify` and `enrolment` accept, in bits: 128 (default) up to 160. Lower it (to no less than 80)
   * only to keep verifying secrets imported from an older system; NIST 800-63B-4 asks 112 bits or more, and every
   * secret {@link TotpService.generateSecret} makes has 160 whatever this says.
   */
  minSecretBits?: number;
}

/** What a user needs to add the account to an authenticator app. */
export interface TotpEnrolment {
  /** The base32 secret, for users who type it in. Show it once; store it only sealed (see `SecretBox`). */
  secret: string;
  /** The `otpauth://totp/...` key URI (Google Authenticator key URI format). */
  otpauthUrl: string;
  /** The key URI as a QR code: a `data:image/png;base64,...` URL, ready for an `<img src>`. */
  qrDataUrl: string;
}

/**
 * The outcome of {@link TotpService.verify}.
 *
 * - `{ ok: true, step }`: accepted. Persist `step` as the account's new `lastUsedStep` before answering the user.
 * - `'invalid'`: no step in the window has this code (a typo, a wrong account, or clock drift beyond the window).
 * - `'replayed'`: the code is right, but its step is not after `lastUsedStep`: it was used already (or an older
 *   code). Log it as a security event (RA-04, ASVS 4.0.3 2.8.5) and refuse.
 * - `'malformed'`: not exactly `digits` ASCII digits. Nothing was computed.
 */
export type TotpVerifyResult = { ok: true; step: number } | { ok: false; reason: 'invalid' | 'replayed' | 'malformed' };

/**
 * Time-based one-time passwords (RFC 6238, HMAC-SHA-1 as every authenticator app supports), built on otplib.
 *
 * Each code is accepted once (RFC 6238 §5.2, NIST 800-63B-4 §3.1.5.2): the caller keeps the last accepted step
 * per account and passes it to {@link verify}. Time comes from the injected {@link Clock}, so tests move a
 * `ManualClock` instead of sleeping, and the server's clock is the only one trusted (ASVS 5.0 6.5.8).
 *
 * Rate-limit verification per account (NIST allows at most 100 consecutive failures): a 6-digit code in a ±1
 * window is guessed with probability 3 in a million per attempt.
 *
 * @example
 * const totp = new TotpService({ issuer: 'ACME' });
 * const secret = totp.generateSecret();
 * const { qrDataUrl } = await totp.enrolment(secret, 'alice@example.com');
 * // ... the user scans the QR code and types a code to confirm:
 * const result = totp.verify(secret, code, user.totpLastUsedStep);
 * if (result.ok) await users.setTotpLastUsedStep(user.id, result.step); // atomically: see verify()
 */
export class TotpService {
  private readonly issuer: string;
  private readonly clock: Clock;
  private readonly periodSeconds: number;
  private readonly window: number;
  private readonly digits: 6 | 7 | 8;
  private readonly codeShape: RegExp;
  private readonly secretShape: RegExp;
  private readonly minSecretBits: number;
  /** otplib's own minimum (16 bytes) lowered to match `minSecretBits`, when that is below 128. */
  private readonly guardrails?: ReturnType<typeof createGuardrails>;

  constructor(options: TotpOptions) {
    const { issuer, clock = new SystemClock(), periodMs = DEFAULT_TOTP_PERIOD_MS, window = DEFAULT_TOTP_WINDOW } = options ?? {};
    const digits = options?.digits ?? DEFAULT_TOTP_DIGITS;
    const minSecretBits = options?.minSecretBits ?? 128;
    const problems: string[] = [];
    if (!Number.isInteger(minSecretBits) || minSecretBits < 80 || minSecretBits > 160) {
      problems.push(`minSecretBits must be a whole number from 80 to 160 (got ${String(minSecretBits)}). Leave it unset for 128.`);
    }
    if (typeof issuer !== 'string' || issuer.trim() === '') {
      problems.push('issuer is required: the name shown in the authenticator app, e.g. { issuer: "ACME" }');
    } else if (issuer.includes(':')) {
      problems.push(`issuer may not contain ":" (got ${JSON.stringify(issuer)}): apps read the label as "issuer:account"`);
    }
    if (!(clock instanceof Clock) && typeof (clock as Partial<Clock>)?.now !== 'function') {
      problems.push('clock must be a Clock (SystemClock, or ManualClock in tests)');
    }
    if (!Number.isInteger(periodMs) || periodMs % 1000 !== 0 || periodMs < 1000 || periodMs > 30_000) {
      problems.push(
        `periodMs must be a whole number of seconds from 1000 to 30000 (got ${String(periodMs)}): authenticator apps count in ` +
          'seconds, and ASVS 5.0 6.5.5 caps a TOTP lifetime at 30 s. Leave it unset for 30000.',
      );
    }
    if (!Number.isInteger(window) || window < 0 || window > MAX_TOTP_WINDOW) {
      problems.push(`window must be 0, 1 or 2 steps (got ${String(window)}): a wider window accepts more guesses. Leave it unset for 1.`);
    }
    if (digits !== 6 && digits !== 7 && digits !== 8) {
      problems.push(`digits must be 6, 7 or 8 (got ${String(digits)}). Leave it unset for 6, the only length every app shows.`);
    }
    if (problems.length > 0) throw new MfaOptionsError('TotpService', problems);
    this.issuer = issuer;
    this.clock = clock;
    this.periodSeconds = periodMs / 1000;
    this.window = window;
    this.digits = digits;
    this.minSecretBits = minSecretBits;
    // Base32 carries 5 bits a character.
    this.secretShape = new RegExp(`^[A-Za-z2-7]{${Math.ceil(minSecretBits / 5)},}=*$`);
    if (minSecretBits < 128) this.guardrails = createGuardrails({ MIN_SECRET_BYTES: Math.ceil(minSecretBits / 8) });
    this.codeShape = new RegExp(`^[0-9]{${digits}}$`);
  }

  /**
   * A new TOTP secret: 160 bits (20 bytes) from a CSPRNG (`crypto.getRandomValues`), base32 without padding
   * (32 characters). NIST 800-63B-4 §3.1.5.1 asks for at least 112 bits; RFC 4226 §4 recommends 160.
   *
   * Seal it before storing it ({@link SecretBox}), and activate it only after the user typed one valid code.
   */
  generateSecret(): string {
    return generateSecret({ length: TOTP_SECRET_BYTES });
  }

  /**
   * What the user needs to add the account to an app: the secret, its `otpauth://` key URI and that URI as a PNG
   * QR code (data URL). The URI carries the issuer, digits and period; the algorithm is SHA-1, the apps' default.
   *
   * @param secret base32 secret from {@link generateSecret}
   * @param accountName the account as the user knows it (e.g. their email); no colon
   * @throws MfaInputError when the secret is not base32 of at least 128 bits, or the account name is empty or
   *   holds a colon
   */
  async enrolment(secret: string, accountName: string): Promise<TotpEnrolment> {
    this.checkSecret(secret);
    if (typeof accountName !== 'string' || accountName.trim() === '') {
      throw new MfaInputError('accountName', 'pass the account as the user knows it, e.g. their email address');
    }
    if (accountName.includes(':')) {
      throw new MfaInputError(
        'accountName',
        `it may not contain ":" (got ${JSON.stringify(accountName)}): apps read the label as "issuer:account"`,
      );
    }
    const otpauthUrl = generateURI({
      issuer: this.issuer,
      label: accountName,
      secret,
      digits: this.digits,
      period: this.periodSeconds,
    });
    // Error correction M (15 %): the default, readable from a screen; PNG because every <img> shows it.
    const qrDataUrl = await toDataURL(otpauthUrl, { type: 'image/png', errorCorrectionLevel: 'M' });
    return { secret, otpauthUrl, qrDataUrl };
  }

  /**
   * Checks a code typed by the user, at most once per time step.
   *
   * A code is accepted when it matches a step within ±`window` of the clock's current step and that step is
   * after `lastUsedStep` (RFC 6238 §5.2: a verifier must not accept the second attempt of the same OTP). Codes
   * are compared in constant time (otplib's `constantTimeEqual`).
   *
   * After `{ ok: true, step }`, store `step` as the account's `lastUsedStep` with a compare-and-set
   * (`UPDATE ... SET totp_step = :step WHERE id = :id AND (totp_step IS NULL OR totp_step < :step)`) and treat a
   * lost race as `'replayed'`: two requests carrying the same code can both pass this check before either
   * stores its step.
   *
   * @param secret the account's base32 secret (opened from its `SecretBox` value)
   * @param code what the user typed: exactly `digits` ASCII digits (strip spaces before calling if your form
   *   allows them)
   * @param lastUsedStep the step of the account's last accepted code, or `null` when none was accepted yet
   * @throws MfaInputError for a secret that is not base32 of at least 128 bits, or a `lastUsedStep` that is not
   *   `null` or a non-negative integer (caller bugs, not user input)
   */
  verify(secret: string, code: string, lastUsedStep: number | null): TotpVerifyResult {
    this.checkSecret(secret);
    if (lastUsedStep !== null && !(Number.isSafeInteger(lastUsedStep) && lastUsedStep >= 0)) {
      throw new MfaInputError(
        'lastUsedStep',
        `expected null (no code accepted yet) or the non-negative integer step from a previous { ok: true, step } (got ${String(lastUsedStep)})`,
      );
    }
    if (typeof code !== 'string' || !this.codeShape.test(code)) return { ok: false, reason: 'malformed' };

    const now = this.clock.now();
    if (!Number.isFinite(now) || now < 0) {
      throw new MfaInputError('clock', `Clock.now() must be milliseconds since the epoch (got ${String(now)})`);
    }
    const epoch = Math.floor(now / 1000);
    const options = {
      secret,
      token: code,
      digits: this.digits,
      period: this.periodSeconds,
      epoch,
      // otplib's tolerance is in seconds; a whole number of steps either side is exactly ±window steps.
      epochTolerance: this.window * this.periodSeconds,
      ...(this.guardrails ? { guardrails: this.guardrails } : {}),
    };
    const newestStep = Math.floor(epoch / this.periodSeconds) + this.window;
    // First look only at steps after lastUsedStep, so a code that is fresh is never reported as replayed because an
    // older step in the window happens to share its digits. otplib refuses an afterTimeStep beyond the window.
    if (lastUsedStep === null || lastUsedStep < newestStep) {
      const fresh = check(lastUsedStep === null ? options : { ...options, afterTimeStep: lastUsedStep });
      if (fresh.valid && 'timeStep' in fresh) return { ok: true, step: fresh.timeStep };
      if (lastUsedStep === null) return { ok: false, reason: 'invalid' };
    }
    // Not fresh: a match in the window now can only be at or before lastUsedStep.
    return check(options).valid ? { ok: false, reason: 'replayed' } : { ok: false, reason: 'invalid' };
  }

  /** The step the clock is in now (`floor(now / periodMs)`), e.g. to show how long the current code lives. */
  currentStep(): number {
    return Math.floor(Math.floor(this.clock.now() / 1000) / this.periodSeconds);
  }

  private checkSecret(secret: string): void {
    // RFC 4648 base32, as otplib decodes it (case-insensitive, optional padding), of at least minSecretBits.
    if (typeof secret !== 'string' || !this.secretShape.test(secret)) {
      throw new MfaInputError(
        'secret',
        `expected a base32 TOTP secret of at least ${this.minSecretBits} bits (${Math.ceil(this.minSecretBits / 5)}+ characters A-Z, 2-7), ` +
          'as TotpService.generateSecret() returns. Did you pass the sealed value instead of SecretBox.open(...)?',
      );
    }
  }
}

/** otplib's verification; the inputs it could still refuse are the secret's (code shape, period and time are checked). */
function check(options: Parameters<typeof verifySync>[0]): ReturnType<typeof verifySync> {
  try {
    return verifySync(options);
  } catch (error) {
    throw new MfaInputError(
      'secret',
      `${error instanceof Error ? error.message : String(error)}. Pass a secret from TotpService.generateSecret() (16 to 64 bytes, base32).`,
    );
  }
}

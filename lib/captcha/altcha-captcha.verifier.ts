import { createHash, randomBytes } from 'node:crypto';
import { createChallenge, extractParams, verifySolution } from 'altcha-lib/v1';
import { AttemptCounterStore } from '../brute-force/attempt-counter.store';
import { Clock, SystemClock } from '../core/clock';
import { CaptchaChallenge, CaptchaVerifier } from './captcha-verifier';

/** Options of {@link AltchaCaptchaVerifier}. */
export interface AltchaCaptchaVerifierOptions {
  /**
   * HMAC key that signs challenges, at least 32 characters. Several instances must share it. Default: random per
   * process (challenges do not survive a restart, which only means solving again).
   */
  hmacKey?: string;
  /** Where used solutions are remembered until their challenge expires (single use). Shared by every instance. */
  store: AttemptCounterStore;
  /** Source of time for expiry. Default the system clock. */
  clock?: Clock;
  /**
   * Difficulty: the largest number a client may have to try (SHA-256 per try; half of it on average). Default
   * 50 000, a fraction of a second in a browser, and a cost per attempt for a bot.
   */
  maxNumber?: number;
  /** How long a challenge can be solved and used, in ms. Default 5 minutes. */
  expiresMs?: number;
}

/** Defaults of {@link AltchaCaptchaVerifierOptions}. */
export const ALTCHA_DEFAULTS = { maxNumber: 50_000, expiresMs: 5 * 60_000 } as const;

/**
 * A self-hosted proof-of-work CAPTCHA ([ALTCHA](https://altcha.org), `altcha-lib`, MIT): no third party, works
 * offline. The client finds the number `n` for which SHA-256(salt + n) equals the challenge (the `altcha` widget or
 * a few lines of WebCrypto) and sends back base64 of the JSON `{ algorithm, challenge, number, salt, signature }`.
 *
 * Server-side checks: the HMAC signature (the challenge is ours), the expiry (against the `Clock`), the context the
 * challenge was made for (carried in the signed salt, as a hash), and single use (the signature is claimed in the
 * counter store until the challenge expires, so a replay is refused on every instance).
 *
 * @example
 * const captcha = new AltchaCaptchaVerifier({ store: counters, hmacKey: process.env.CAPTCHA_HMAC_KEY });
 */
export class AltchaCaptchaVerifier extends CaptchaVerifier {
  private readonly hmacKey: string;
  private readonly store: AttemptCounterStore;
  private readonly clock: Clock;
  private readonly maxNumber: number;
  private readonly expiresMs: number;

  constructor(options: AltchaCaptchaVerifierOptions) {
    super();
    if (!options?.store)
      throw new TypeError('AltchaCaptchaVerifier: pass { store }, the AttemptCounterStore that remembers used solutions');
    if (options.hmacKey !== undefined && options.hmacKey.length < 32) {
      throw new TypeError('AltchaCaptchaVerifier: hmacKey is shorter than 32 characters; use e.g. 32 random bytes in base64url');
    }
    const maxNumber = options.maxNumber ?? ALTCHA_DEFAULTS.maxNumber;
    if (!Number.isInteger(maxNumber) || maxNumber < 1 || maxNumber > 10_000_000) {
      throw new TypeError(`AltchaCaptchaVerifier: maxNumber is ${String(maxNumber)}; give a whole number from 1 to 10 000 000`);
    }
    this.hmacKey = options.hmacKey ?? randomBytes(32).toString('base64url');
    this.store = options.store;
    this.clock = options.clock ?? new SystemClock();
    this.maxNumber = maxNumber;
    this.expiresMs = options.expiresMs ?? ALTCHA_DEFAULTS.expiresMs;
  }

  async createChallenge(context: string): Promise<CaptchaChallenge> {
    const challenge = await createChallenge({
      hmacKey: this.hmacKey,
      maxNumber: this.maxNumber,
      // Both end up in the salt, which the challenge hash and the signature cover: neither can be changed.
      params: { exp: String(this.clock.now() + this.expiresMs), ctx: contextHash(context) },
    });
    return { ...challenge };
  }

  async verify(solution: string, context: string): Promise<boolean> {
    const payload = decodePayload(solution);
    if (!payload) return false;
    if (!(await verifySolution(payload, this.hmacKey, false))) return false;
    const params = extractParams(payload);
    const expires = Number(params.exp);
    const now = this.clock.now();
    if (!Number.isFinite(expires) || expires <= now || params.ctx !== contextHash(context)) return false;
    // Last, so a wrong solution never uses up the challenge: only a valid one is claimed, once.
    return this.store.claim(`captcha:${contextHash(payload.signature)}`, expires - now, now);
  }
}

interface Payload {
  /** Only SHA-256: the algorithm the challenges are made with (a client cannot pick a cheaper one). */
  algorithm: 'SHA-256';
  challenge: string;
  number: number;
  salt: string;
  signature: string;
}

function decodePayload(solution: string): Payload | undefined {
  if (typeof solution !== 'string' || solution.length > 2048) return undefined;
  try {
    const value = JSON.parse(Buffer.from(solution, 'base64').toString('utf8')) as Partial<Payload>;
    if (
      value.algorithm === 'SHA-256' &&
      typeof value.challenge === 'string' &&
      typeof value.number === 'number' &&
      typeof value.salt === 'string' &&
      typeof value.signature === 'string'
    ) {
      return value as Payload;
    }
  } catch {
    // Not base64 JSON: not a solution.
  }
  return undefined;
}

function contextHash(context: string): string {
  return createHash('sha256').update(context).digest('base64url').slice(0, 22);
}

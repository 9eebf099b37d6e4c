import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../../../lib';
import { RecoveryCodes, SecretBox, SecretBoxOpenError, TotpEnrolment, TotpService } from '../../../lib/mfa';
import type { User } from '../users/user.entity';
import { UsersService } from '../users/users.service';

/** Second-factor attempts in a row without a right code, across all sessions of an account, before checks pause. */
export const ACCOUNT_MFA_FAILURE_LIMIT = 10;
/** How long they pause. */
export const ACCOUNT_MFA_LOCK_MS = 15 * 60_000;
/** Issuer shown in authenticator apps. */
export const TOTP_ISSUER = 'nest-session-kit sample';

/** Outcome of a second-factor check. */
export type FactorCheck =
  | { ok: true; method: 'totp' }
  | { ok: true; method: 'recovery_code'; remaining: number }
  | {
      ok: false;
      /**
       * `invalid`: no such code; `replayed`: a TOTP code (or recovery code) already used; `locked`: not checked, too
       * many wrong codes lately; `not_enrolled`: the account has no second factor.
       */
      reason: 'invalid' | 'replayed' | 'locked' | 'not_enrolled';
      method?: 'totp' | 'recovery_code';
      /**
       * True when this attempt started the account's pause: the last allowed wrong code (its `reason` still says what
       * was wrong with it), or one past the limit in a parallel burst (`locked`).
       */
      lockedNow?: boolean;
      /** With `locked` or `lockedNow`: ms until checks resume. */
      retryAfterMs?: number;
    };

/** True when the account's second-factor checks are paused (before or because of this attempt): answer 429. */
export function isLocked(check: FactorCheck & { ok: false }): boolean {
  return check.reason === 'locked' || check.lockedNow === true;
}

/** A TOTP code is six digits; anything else is tried as a recovery code. */
const TOTP_SHAPE = /^[0-9]{6}$/;

/**
 * The sample's second factors: TOTP (secret sealed at rest, each step accepted once) and single-use recovery codes.
 * Every acceptance is a compare-and-set in the users table, so two requests carrying the same code cannot both
 * pass; every refusal counts towards a per-account pause ({@link ACCOUNT_MFA_FAILURE_LIMIT}).
 */
@Injectable()
export class SecondFactorService {
  private readonly logger = new Logger('SecondFactorService');
  private readonly recovery = new RecoveryCodes();

  constructor(
    private readonly users: UsersService,
    private readonly totp: TotpService,
    private readonly box: SecretBox,
    private readonly clock: Clock,
  ) {}

  /** True when the account has an active second factor. */
  isEnrolled(user: User): boolean {
    return user.totpSecret !== null || (user.recoveryCodeHashes?.length ?? 0) > 0;
  }

  /** Checks a TOTP or recovery code for `user` and, when right, uses it up. */
  async verify(user: User, code: string): Promise<FactorCheck> {
    if (!this.isEnrolled(user)) return { ok: false, reason: 'not_enrolled' };
    const now = this.clock.now();
    if (user.mfaLockedUntil !== null) {
      if (user.mfaLockedUntil > now) return { ok: false, reason: 'locked', retryAfterMs: user.mfaLockedUntil - now };
      await this.users.clearExpiredMfaLock(user.id, now);
    }
    // Counted before checking (see UsersService.countMfaAttempt): a burst of parallel guesses cannot outrun the limit.
    const attempts = await this.users.countMfaAttempt(user.id);
    if (attempts > ACCOUNT_MFA_FAILURE_LIMIT) {
      await this.users.lockMfa(user.id, now + ACCOUNT_MFA_LOCK_MS);
      return { ok: false, reason: 'locked', lockedNow: true, retryAfterMs: ACCOUNT_MFA_LOCK_MS };
    }
    const trimmed = code.replace(/\s+/g, '');
    const check = TOTP_SHAPE.test(trimmed) ? await this.verifyTotp(user, trimmed) : await this.verifyRecoveryCode(user, code);
    if (!check.ok && attempts >= ACCOUNT_MFA_FAILURE_LIMIT) {
      await this.users.lockMfa(user.id, now + ACCOUNT_MFA_LOCK_MS);
      // The reason stays what was wrong with this code: a replayed one is still logged as reuse (RA-04).
      return { ...check, lockedNow: true, retryAfterMs: ACCOUNT_MFA_LOCK_MS };
    }
    return check;
  }

  /**
   * Starts (or restarts) a TOTP enrolment: a new 160-bit secret, stored sealed as pending. Nothing changes for
   * sign-in until {@link confirm}.
   */
  async enrol(user: User): Promise<TotpEnrolment> {
    const secret = this.totp.generateSecret();
    await this.users.setPendingTotp(user.id, this.box.seal(secret, user.id));
    return this.totp.enrolment(secret, user.username);
  }

  /**
   * Activates the pending secret when `code` is right for it, with ten fresh recovery codes (returned once, stored
   * as hashes). Null when there is no pending enrolment, the code is wrong, or another enrolment won the race.
   */
  async confirm(user: User, code: string): Promise<{ recoveryCodes: string[] } | { error: 'no_enrolment' | 'invalid' }> {
    if (user.totpPendingSecret === null) return { error: 'no_enrolment' };
    const secret = this.open(user.totpPendingSecret, user);
    if (secret === undefined) return { error: 'no_enrolment' };
    const result = this.totp.verify(secret, code.replace(/\s+/g, ''), null);
    if (!result.ok) return { error: 'invalid' };
    const { codes, hashes } = this.recovery.generate(10);
    if (!(await this.users.activateTotp(user.id, user.totpPendingSecret, result.step, hashes))) return { error: 'no_enrolment' };
    return { recoveryCodes: codes };
  }

  private async verifyTotp(user: User, code: string): Promise<FactorCheck> {
    if (user.totpSecret === null) return { ok: false, reason: 'invalid', method: 'totp' };
    const secret = this.open(user.totpSecret, user);
    // A secret that no longer opens (the key changed) cannot verify anything: only recovery codes work then.
    if (secret === undefined) return { ok: false, reason: 'invalid', method: 'totp' };
    const result = this.totp.verify(secret, code, user.totpLastStep);
    if (!result.ok) return { ok: false, reason: result.reason === 'replayed' ? 'replayed' : 'invalid', method: 'totp' };
    // Lost race: a parallel request accepted this step first.
    if (!(await this.users.recordTotpStep(user.id, result.step))) return { ok: false, reason: 'replayed', method: 'totp' };
    return { ok: true, method: 'totp' };
  }

  private async verifyRecoveryCode(user: User, code: string): Promise<FactorCheck> {
    const hashes = user.recoveryCodeHashes ?? [];
    const result = this.recovery.consume(code, hashes);
    if (!result.ok) return { ok: false, reason: 'invalid', method: 'recovery_code' };
    if (!(await this.users.replaceRecoveryHashes(user.id, hashes, result.remaining))) {
      return { ok: false, reason: 'replayed', method: 'recovery_code' };
    }
    return { ok: true, method: 'recovery_code', remaining: result.remaining.length };
  }

  private open(sealed: string, user: User): string | undefined {
    try {
      return this.box.open(sealed, user.id);
    } catch (error) {
      if (!(error instanceof SecretBoxOpenError)) throw error;
      this.logger.error(`The TOTP secret of user ${user.id} does not open (${error.reason}): check MFA_ENCRYPTION_KEYS`);
      return undefined;
    }
  }
}

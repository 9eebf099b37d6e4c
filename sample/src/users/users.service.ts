import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { PasswordHasher } from './password-hasher';
import { Role, User } from './user.entity';

/**
 * Outcome of a credential check. The reason and the user id (of an existing account) are for the security log
 * and future lockouts only: the client always gets the same `INVALID_CREDENTIALS`.
 */
export type CredentialCheck =
  | { ok: true; user: User }
  | { ok: false; reason: 'unknown_user' }
  | { ok: false; reason: 'wrong_password' | 'account_disabled'; userId: string };

/** Reads accounts, checks passwords, and changes accounts with compare-and-set where two requests could race. */
@Injectable()
export class UsersService {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly hasher: PasswordHasher,
  ) {}

  /** The user with this id, or null. */
  findById(id: string): Promise<User | null> {
    return this.users.findOneBy({ id });
  }

  /** The user with this id if it exists and is not disabled; null otherwise. */
  async findActiveById(id: string): Promise<User | null> {
    const user = await this.findById(id);
    return user && !user.disabled ? user : null;
  }

  /** Every account, by username. */
  list(): Promise<User[]> {
    return this.users.find({ order: { username: 'ASC' } });
  }

  /**
   * Checks a username and password. Unknown usernames, wrong passwords and disabled accounts all cost the
   * same work (one argon2 verification), so the response time does not tell an attacker which usernames
   * exist; a disabled account is checked after the password for the same reason.
   */
  async verifyCredentials(username: string, password: string): Promise<CredentialCheck> {
    const user = await this.users.findOneBy({ username });
    if (!user) {
      await this.hasher.verifyAgainstNothing(password);
      return { ok: false, reason: 'unknown_user' };
    }
    if (!(await this.hasher.verify(user.passwordHash, password))) return { ok: false, reason: 'wrong_password', userId: user.id };
    if (user.disabled) return { ok: false, reason: 'account_disabled', userId: user.id };
    return { ok: true, user };
  }

  /** True when `password` is this user's current password. */
  verifyPassword(user: User, password: string): Promise<boolean> {
    return this.hasher.verify(user.passwordHash, password);
  }

  /** Replaces the password (hashed here). */
  async setPassword(id: string, password: string): Promise<void> {
    await this.users.update({ id }, { passwordHash: await this.hasher.hash(password) });
  }

  /**
   * Records `step` as the last accepted TOTP step, only if it is later than the stored one (compare-and-set).
   * False when another request accepted this code or a later one first: the caller treats that as a replay.
   */
  async recordTotpStep(id: string, step: number): Promise<boolean> {
    const result = await this.users
      .createQueryBuilder()
      .update(User)
      .set({ totpLastStep: step, mfaFailures: 0, mfaLockedUntil: null })
      .where('id = :id', { id })
      .andWhere('(totp_last_step IS NULL OR totp_last_step < :step)', { step })
      .execute();
    return result.affected === 1;
  }

  /**
   * Replaces the recovery-code hashes by `remaining`, only if they are still `expected` (compare-and-set): two
   * requests carrying the same code cannot both use it.
   */
  async replaceRecoveryHashes(id: string, expected: readonly string[], remaining: readonly string[]): Promise<boolean> {
    const result = await this.users
      .createQueryBuilder()
      .update(User)
      .set({ recoveryCodeHashes: [...remaining], mfaFailures: 0, mfaLockedUntil: null })
      .where('id = :id', { id })
      // simple-json stores JSON.stringify of the array, so the text comparison is exact.
      .andWhere('recovery_code_hashes = :expected', { expected: JSON.stringify(expected) })
      .execute();
    return result.affected === 1;
  }

  /**
   * Counts one second-factor attempt for the account, before the code is checked, and answers the count so far.
   * Counting first (one atomic UPDATE) means parallel guesses are all counted before any is checked, so a burst
   * of requests cannot slip past the limit; a right code resets the count ({@link recordTotpStep},
   * {@link replaceRecoveryHashes}).
   */
  async countMfaAttempt(id: string): Promise<number> {
    await this.users
      .createQueryBuilder()
      .update(User)
      .set({ mfaFailures: () => 'mfa_failures + 1' })
      .where('id = :id', { id })
      .execute();
    return (await this.findById(id))?.mfaFailures ?? 0;
  }

  /**
   * Pauses second-factor checks for the account until `until` (ms since the epoch). The count is kept (resetting
   * it here would let the rest of a parallel burst start counting from zero); {@link clearExpiredMfaLock} restarts
   * it once the pause is over.
   */
  async lockMfa(id: string, until: number): Promise<void> {
    await this.users.update({ id }, { mfaLockedUntil: until });
  }

  /** Ends a pause that is over (`mfa_locked_until <= now`) and restarts the count; nothing if another request did. */
  async clearExpiredMfaLock(id: string, now: number): Promise<void> {
    await this.users
      .createQueryBuilder()
      .update(User)
      .set({ mfaFailures: 0, mfaLockedUntil: null })
      .where('id = :id', { id })
      .andWhere('mfa_locked_until <= :now', { now })
      .execute();
  }

  /** Offers a new TOTP secret (sealed), not active until confirmed. */
  async setPendingTotp(id: string, sealedSecret: string): Promise<void> {
    await this.users.update({ id }, { totpPendingSecret: sealedSecret });
  }

  /**
   * Activates the offered TOTP secret, only if it is still the one offered (compare-and-set: a second
   * enrolment started meanwhile wins), with the step of the confirming code and fresh recovery-code hashes.
   */
  async activateTotp(id: string, sealedSecret: string, step: number, recoveryHashes: readonly string[]): Promise<boolean> {
    const result = await this.users
      .createQueryBuilder()
      .update(User)
      .set({
        totpSecret: sealedSecret,
        totpPendingSecret: null,
        totpLastStep: step,
        recoveryCodeHashes: [...recoveryHashes],
        mfaFailures: 0,
        mfaLockedUntil: null,
      })
      .where('id = :id', { id })
      .andWhere('totp_pending_secret = :sealed', { sealed: sealedSecret })
      .execute();
    return result.affected === 1;
  }

  /** Removes TOTP and the recovery codes. */
  async removeTotp(id: string): Promise<void> {
    await this.users.update(
      { id },
      { totpSecret: null, totpPendingSecret: null, totpLastStep: null, recoveryCodeHashes: null, mfaFailures: 0, mfaLockedUntil: null },
    );
  }

  /** Replaces the account's roles. */
  async setRoles(id: string, roles: Role[]): Promise<void> {
    await this.users.update({ id }, { roles });
  }

  /** Disables or enables the account. */
  async setDisabled(id: string, disabled: boolean): Promise<void> {
    await this.users.update({ id }, { disabled });
  }
}

import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { PasswordHasher } from './password-hasher';
import { User } from './user.entity';

/**
 * Outcome of a credential check. The reason and the user id (of an existing account) are for the security log
 * and future lockouts only: the client always gets the same `INVALID_CREDENTIALS`.
 */
export type CredentialCheck =
  | { ok: true; user: User }
  | { ok: false; reason: 'unknown_user' }
  | { ok: false; reason: 'wrong_password' | 'account_disabled'; userId: string };

/** Reads accounts and checks passwords. */
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
}

import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { QueryFailedError, Repository } from 'typeorm';
import { SecretBox, SecretBoxOpenError } from '../../../lib/mfa';
import { PasswordHasher } from './password-hasher';
import { Role, User } from './user.entity';

/** A demo account created on start when missing. */
export interface SeedUser {
  username: string;
  password: string;
  roles: Role[];
  /** Base32 TOTP secret of an account enrolled from the start (stored sealed); null otherwise. */
  totpSecret: string | null;
}

/** The accounts the contract (SAMPLE-APP.md, "Seeded users") promises. Demo credentials, public on purpose. */
export const SEED_USERS: readonly SeedUser[] = [
  { username: 'alice', password: 'alice-correct-horse-1', roles: ['user'], totpSecret: null },
  { username: 'bob', password: 'bob-correct-horse-1', roles: ['admin'], totpSecret: null },
  { username: 'carol', password: 'carol-correct-horse-1', roles: ['user'], totpSecret: 'JBSWY3DPEHPK3PXP' },
];

/**
 * Creates the demo accounts that are missing, once the app is wired and before it listens. Existing accounts
 * are left alone, so a password changed through the app survives a restart, with one exception: a seeded TOTP
 * secret that no longer opens (the app runs with a new random key, `MFA_ENCRYPTION_KEYS` unset) is sealed again
 * with the current key, so the documented demo secret keeps working.
 */
@Injectable()
export class UsersSeeder implements OnApplicationBootstrap {
  private readonly logger = new Logger('UsersSeeder');

  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly hasher: PasswordHasher,
    private readonly box: SecretBox,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const seed of SEED_USERS) {
      const existing = await this.users.findOneBy({ username: seed.username });
      if (existing) {
        await this.resealIfNeeded(existing, seed);
        continue;
      }
      const user = this.users.create({
        username: seed.username,
        passwordHash: await this.hasher.hash(seed.password),
        roles: seed.roles,
        totpSecret: null,
        disabled: false,
      });
      try {
        await this.users.insert(user);
      } catch (error) {
        // Another instance starting on the same database may have inserted it first: that is fine.
        if (!(error instanceof QueryFailedError) || !(await this.users.existsBy({ username: seed.username }))) throw error;
        this.logger.warn(`Seed user ${seed.username} was created concurrently by another instance`);
        continue;
      }
      // Sealed with the id as associated data, so the id must exist first.
      if (seed.totpSecret !== null) {
        const { id } = await this.users.findOneByOrFail({ username: seed.username });
        await this.users.update({ id }, { totpSecret: this.box.seal(seed.totpSecret, id) });
      }
    }
  }

  private async resealIfNeeded(user: User, seed: SeedUser): Promise<void> {
    if (seed.totpSecret === null || user.totpSecret === null) return;
    try {
      this.box.open(user.totpSecret, user.id);
      return;
    } catch (error) {
      if (!(error instanceof SecretBoxOpenError)) throw error;
    }
    this.logger.warn(`The TOTP secret of seed user ${seed.username} did not open with the current key; sealing the demo secret again`);
    await this.users.update({ id: user.id }, { totpSecret: this.box.seal(seed.totpSecret, user.id), totpLastStep: null });
  }
}

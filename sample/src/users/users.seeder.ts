import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { QueryFailedError, Repository } from 'typeorm';
import { PasswordHasher } from './password-hasher';
import { Role, User } from './user.entity';

/** A demo account created on start when missing. */
export interface SeedUser {
  username: string;
  password: string;
  roles: Role[];
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
 * are left alone, so a password changed through the app survives a restart.
 */
@Injectable()
export class UsersSeeder implements OnApplicationBootstrap {
  private readonly logger = new Logger('UsersSeeder');

  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly hasher: PasswordHasher,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const seed of SEED_USERS) {
      if (await this.users.existsBy({ username: seed.username })) continue;
      const user = this.users.create({
        username: seed.username,
        passwordHash: await this.hasher.hash(seed.password),
        roles: seed.roles,
        totpSecret: seed.totpSecret,
        disabled: false,
      });
      try {
        await this.users.insert(user);
      } catch (error) {
        // Another instance starting on the same database may have inserted it first: that is fine.
        if (!(error instanceof QueryFailedError) || !(await this.users.existsBy({ username: seed.username }))) throw error;
        this.logger.warn(`Seed user ${seed.username} was created concurrently by another instance`);
      }
    }
  }
}

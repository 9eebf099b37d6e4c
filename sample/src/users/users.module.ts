import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SecretBox } from '../../../lib/mfa';
import type { SampleConfig } from '../config';
import { createSecretBox } from '../mfa/mfa-secrets';
import { SAMPLE_CONFIG } from '../sample-config.token';
import { PasswordHasher } from './password-hasher';
import { User } from './user.entity';
import { UsersSeeder } from './users.seeder';
import { UsersService } from './users.service';

/** Accounts: the entity, password hashing, credential checks, the box sealing TOTP secrets, and the demo seed. */
@Module({
  imports: [TypeOrmModule.forFeature([User])],
  providers: [
    PasswordHasher,
    UsersService,
    UsersSeeder,
    { provide: SecretBox, useFactory: (config: SampleConfig) => createSecretBox(config), inject: [SAMPLE_CONFIG] },
  ],
  exports: [UsersService, SecretBox, PasswordHasher],
})
export class UsersModule {}

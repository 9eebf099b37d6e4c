import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PasswordHasher } from './password-hasher';
import { User } from './user.entity';
import { UsersSeeder } from './users.seeder';
import { UsersService } from './users.service';

/** Accounts: the entity, password hashing, credential checks and the demo seed. */
@Module({
  imports: [TypeOrmModule.forFeature([User])],
  providers: [PasswordHasher, UsersService, UsersSeeder],
  exports: [UsersService],
})
export class UsersModule {}

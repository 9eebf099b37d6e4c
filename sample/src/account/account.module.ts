import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { UsersModule } from '../users/users.module';
import { AccountController } from './account.controller';
import { AccountService } from './account.service';
import { MeController } from './me.controller';
import { SessionsController } from './sessions.controller';

/** The signed-in user's view of themselves: `/me`, their sessions, their password and second factor. */
@Module({
  imports: [AuthModule, UsersModule],
  controllers: [MeController, SessionsController, AccountController],
  providers: [AccountService],
})
export class AccountModule {}

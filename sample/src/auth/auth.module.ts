import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { CsrfService } from './csrf.service';

/** Sign-in, re-authentication, sign-out and CSRF tokens. */
@Module({
  imports: [UsersModule],
  controllers: [AuthController],
  providers: [AuthService, CsrfService],
  exports: [AuthService, CsrfService],
})
export class AuthModule {}

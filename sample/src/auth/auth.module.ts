import { Module } from '@nestjs/common';
import { EventRecorder } from '../audit/event-recorder';
import { MfaEvents } from '../audit/mfa-events';
import { MfaModule } from '../mfa/mfa.module';
import { PasskeyStoreModule } from '../passkeys/passkey-store.module';
import { UsersModule } from '../users/users.module';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';

/** Sign-in, second factor, re-authentication, sign-out and CSRF tokens. */
@Module({
  imports: [UsersModule, MfaModule, PasskeyStoreModule],
  controllers: [AuthController],
  providers: [AuthService, EventRecorder, MfaEvents],
  exports: [AuthService, EventRecorder, MfaEvents, MfaModule],
})
export class AuthModule {}

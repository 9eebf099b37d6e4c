import { Module } from '@nestjs/common';
import { Clock } from '../../../lib';
import { AuthModule } from '../auth/auth.module';
import { UsersModule } from '../users/users.module';
import { PasskeyStoreModule } from './passkey-store.module';
import { AccountPasskeysController, PasskeyLoginController, PasskeyReauthController } from './passkeys.controller';
import { PasskeysService } from './passkeys.service';
import { PasskeyService } from './webauthn-types';

/**
 * Passkeys as a second factor: `/account/mfa/passkeys` (enrolment, list, removal), `/auth/mfa/passkey` (the second
 * step of a sign-in), `/auth/reauth/passkey` (password and passkey) and the pages' script `/assets/passkeys.js`. The library's `PasskeyService` runs on the session
 * module's clock, so tests that move the clock expire challenges too.
 */
@Module({
  imports: [AuthModule, UsersModule, PasskeyStoreModule],
  controllers: [AccountPasskeysController, PasskeyLoginController, PasskeyReauthController],
  providers: [{ provide: PasskeyService, useFactory: (clock: Clock) => new PasskeyService({ clock }), inject: [Clock] }, PasskeysService],
})
export class PasskeysModule {}
